import Foundation
import HoldpointCore
import HoldpointStore
import HoldpointTestSupport
import Testing

@testable import HoldpointPostgres
@testable import HoldpointServer

/// Retention on a PostgreSQL queue: decided history moves into the `archived_*` tables of the
/// same database; the live tables shrink, the chain stays one and verifies.
@Suite(.enabled(if: TestDatabase.available, "needs HOLDPOINT_TEST_POSTGRES (.ci/postgres start DIR)"))
struct PostgresArchiveTests {
    static let agent = Identity(user: "agent-runner", via: "local")

    struct Fixture {
        let store: PostgresQueueStore
        let directory: URL

        init() throws {
            directory = try Scratch.directory("hp-pg-archive")
            store = try TestDatabase.store(try TestDatabase.settings(), in: directory, name: "daemon")
        }

        func submit(_ command: String, _ tier: Tier) throws -> StoredRequest {
            try store.submit(
                try ActionRequest.shellCommand(command, environment: "production", agentID: "bot-1", mode: .supervised),
                classification: tier == .gated ? Samples.gatedDelete : .plain(tier, .read), approvals: ApprovalRules(), submitter: PostgresArchiveTests.agent,
                timeout: nil, gateway: .none, planKey: nil)
        }

        func count(_ table: String) throws -> Int64 {
            try store.queue.read { session in try session.row("SELECT count(*) FROM \(table)")?.int64(0) } ?? -1
        }
    }

    @Test func decidedHistoryMovesAndTheChainStaysWhole() throws {
        let f = try Fixture()
        defer { f.store.close() }
        let old = try (0..<5).map { try f.submit("ls /srv/\($0)", .autonomous) }
        let rejected = try f.submit("rm -rf /srv/a", .gated)
        #expect(try f.store.decide(id: rejected.id, verdict: .reject, reviewer: Samples.alice, reason: "no") != .notFound)
        let waiting = try f.submit("rm -rf /srv/b", .gated)
        let later = try (0..<3).map { try f.submit("ls /opt/\($0)", .autonomous) }
        let entriesBefore = try f.count("audit")

        // In batches of three entries; everything before the waiting request leaves.
        let moved = try #require(try f.store.archive(olderThan: 0, by: Samples.alice, batchEntries: 3))
        #expect(moved.firstSeq == 1)
        #expect(moved.requests == 6)
        for request in old + [rejected] { #expect(try f.store.request(id: request.id) == nil) }
        #expect(try f.store.request(id: waiting.id)?.state == .pending)
        #expect(try f.store.list(RequestFilter()).map(\.id) == [waiting.id] + later.map(\.id))
        #expect(try f.count("archived_requests") == 6)
        #expect(try f.count("archived_votes") == 1)
        #expect(try f.count("archived_audit") == moved.lastSeq)
        // The `archived` entry itself is the one more.
        #expect(try f.count("audit") + f.count("archived_audit") == entriesBefore + 1)
        let report = try f.store.verifyAudit(publicKeyHex: nil, requireHead: true, since: nil)
        #expect(report.intact, "\(report)")
        #expect(report.entries == Int(entriesBefore + 1))
        // Export reads the whole chain, archived entries first.
        let exported = try f.store.auditEntries(afterSeq: 0, requestID: nil, limit: nil, first: nil)
        #expect(exported.map(\.seq) == Array(1...(entriesBefore + 1)))
        #expect(exported.last?.event == "archived")

        // Nothing older is left before the waiting request: a second run moves nothing.
        #expect(try f.store.archive(olderThan: 0, by: Samples.alice, batchEntries: 3) == nil)
        // Decided, it may go too; the live log keeps at least its newest entry.
        #expect(try f.store.decide(id: waiting.id, verdict: .reject, reviewer: Samples.alice, reason: "no") != .notFound)
        let next = try #require(try f.store.archive(olderThan: 0, by: Samples.alice))
        #expect(next.firstSeq == moved.lastSeq + 1)
        #expect(try f.store.request(id: waiting.id) == nil)
        #expect(try f.count("audit") >= 1)
        #expect(try f.store.verifyAudit(publicKeyHex: nil, requireHead: true, since: nil).intact)

        // An archived entry altered is found like a live one.
        try f.store.queue.read { session in try session.execute(#"UPDATE archived_audit SET actor = 'mallory' WHERE seq = 2"#) }
        let altered = try f.store.verifyAudit(publicKeyHex: nil, requireHead: true, since: nil)
        #expect(altered.firstBadSeq == 2)
    }

    /// Only what is older than the age leaves, by the database's clock; and nothing a
    /// notification sink has yet to deliver.
    @Test func youngHistoryAndUndeliveredEntriesStay() throws {
        let f = try Fixture()
        defer { f.store.close() }
        for i in 0..<4 { _ = try f.submit("ls /srv/\(i)", .autonomous) }
        #expect(try f.store.archive(olderThan: 3_600, by: Samples.alice) == nil)
        // A sink that has delivered through entry 7 holds back everything after it: the
        // prefix ends at the last checkpoint before (each submit here is three entries and
        // a checkpoint: 3, 6, 9, 12).
        _ = try f.store.notifyCursor(sink: "pager")
        try f.store.queue.read { session in try session.execute("UPDATE notify_cursors SET delivered_seq = 7") }
        let moved = try #require(try f.store.archive(olderThan: 0, by: Samples.alice))
        #expect(moved.lastSeq == 6)
        #expect(try f.store.verifyAudit(publicKeyHex: nil, requireHead: true, since: nil).intact)
    }

    /// Two daemons' retention at once: a stretch another daemon moved first is not moved (or
    /// reported) again.
    @Test func aStretchAlreadyMovedIsLeftAlone() throws {
        let f = try Fixture()
        defer { f.store.close() }
        for i in 0..<3 { _ = try f.submit("ls /srv/\(i)", .autonomous) }
        #expect(try f.store.write { tables, _, _ in try PostgresQueueStore.moveBatch(tables.session, from: 1, through: 3) } == 1)
        #expect(try f.store.write { tables, _, _ in try PostgresQueueStore.moveBatch(tables.session, from: 1, through: 3) } == nil)
        #expect(try f.count("archived_audit") == 3)
    }

    /// `--since-checkpoint` resumes from a point that has since been archived.
    @Test func verificationResumesFromAnArchivedCheckpoint() throws {
        let f = try Fixture()
        defer { f.store.close() }
        for i in 0..<4 { _ = try f.submit("ls /srv/\(i)", .autonomous) }
        let point = try #require(try f.store.verifyAudit(publicKeyHex: nil, requireHead: true, since: nil).verifiedThrough)
        for i in 0..<3 { _ = try f.submit("ls /opt/\(i)", .autonomous) }
        let moved = try #require(try f.store.archive(olderThan: 0, by: Samples.alice))
        #expect(moved.lastSeq >= point.seq)
        let resumed = try f.store.verifyAudit(publicKeyHex: nil, requireHead: true, since: point)
        #expect(resumed.intact, "\(resumed)")
        #expect(resumed.resumedAfter == point.seq)
    }

    /// `retention:` in a daemon's policy on a PostgreSQL queue: the daemon archives into the
    /// database; a segment directory means nothing there and is refused.
    @Test func aDaemonsRetentionArchivesIntoTheDatabase() async throws {
        let f = try Fixture()
        for i in 0..<4 { _ = try f.submit("ls /srv/\(i)", .autonomous) }
        var policy = try PolicyLoader.load(policyFile: nil, environment: [:])
        policy.approvals.reviewers = ["alice"]
        policy.retention = RetentionRules(archiveAfter: 0)
        #expect(Daemon.refusal(of: policy, on: f.store) == nil)
        let daemon = Daemon(store: f.store, policy: policy) { _, _ in .none }
        let line = try #require(await daemon.archiveDue())
        #expect(line.hasPrefix("retention: archived 3 requests and audit entries 1…9 into the database's archived_* tables"), "\(line)")
        #expect(try f.store.list(RequestFilter()).count == 1)
        await daemon.shutDown()
        f.store.close()

        policy.retention = RetentionRules(archiveAfter: 86_400, directory: "/var/lib/holdpoint/archive")
        #expect(Daemon.refusal(of: policy, on: f.store)?.contains("retention.directory") == true)
    }
}

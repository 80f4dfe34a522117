import Foundation
import HoldpointCore
import HoldpointStore
import HoldpointTestSupport
import Testing

@testable import HoldpointPostgres

/// What one write transaction does on its way: statements sent without waiting for their
/// answers, and the answers `PostgresTables` keeps for the rest of the transaction (which a
/// group commit shares among several writes).
@Suite(.enabled(if: TestDatabase.available, "needs HOLDPOINT_TEST_POSTGRES (.ci/postgres start DIR)"))
struct PostgresTransactionTests {
    /// A statement sent without waiting that fails fails its whole write: the entry appended
    /// before it is not kept, and the error is the statement's own, not a later one's.
    @Test func aSentStatementThatFailsFailsTheWrite() throws {
        let directory = try Scratch.directory("hp-pg")
        let queue = try TestDatabase.daemon(try TestDatabase.settings(), in: directory, name: "a")
        defer { queue.close() }
        #expect {
            try queue.write { tables, audit in
                try audit.append(event: "e", requestID: nil, actor: Samples.alice, at: 1, details: .null)
                try tables.session.send("SELECT 1 / 0")
                // A read after it: the database refuses it (the transaction is aborted), but
                // the error reported is the division's.
                _ = try tables.session.row("SELECT 1")
            }
        } throws: { error in
            "\(error)".contains("division by zero")
        }
        #expect {
            try queue.write { tables, audit in
                try audit.append(event: "e", requestID: nil, actor: Samples.alice, at: 1, details: .null)
                try tables.session.send("SELECT 1 / 0")  // nothing reads after it: the commit reports it
            }
        } throws: { error in
            "\(error)".contains("division by zero")
        }
        let entries = try queue.read { session in try session.row("SELECT count(*) FROM audit")?.int64(0) }
        #expect(entries == 0)
        // The connection is clean for the next write.
        try queue.write { _, audit in try audit.append(event: "after", requestID: nil, actor: Samples.alice, at: 2, details: .null) }
        #expect(try queue.read { session in try session.row("SELECT event FROM audit")?.string(0) } == "after")
        let report = try queue.verifyAudit()
        #expect(report.problem == nil && report.entries == 1)
    }

    /// Halts read once per transaction still answer for every change made in it.
    @Test func haltsRememberedInATransactionFollowItsOwnChanges() throws {
        let directory = try Scratch.directory("hp-pg")
        let queue = try TestDatabase.daemon(try TestDatabase.settings(), in: directory, name: "a")
        defer { queue.close() }
        try queue.write { tables, _ in
            try tables.putHalt(AgentHalt(agent: "bot-1", reason: "before", by: "alice", at: 1))
        }
        try queue.write { tables, _ in
            #expect(try tables.activeHalt(agent: "bot-1")?.reason == "before")  // read now: remembered
            #expect(try tables.activeHalt(agent: "bot-2") == nil)
            try tables.putHalt(AgentHalt(agent: "*", reason: "everyone", by: "alice", at: 2))
            #expect(try tables.activeHalt(agent: "bot-2")?.reason == "everyone")
            #expect(try tables.activeHalt(agent: "bot-1")?.reason == "before", "an agent's own halt comes before everyone's")
            #expect(try tables.removeHalt(agent: "bot-1"))
            #expect(try tables.activeHalt(agent: "bot-1")?.reason == "everyone")
            #expect(try tables.removeHalt(agent: "*"))
            #expect(try tables.activeHalt(agent: "bot-1") == nil)
            try tables.putHalt(AgentHalt(agent: "bot-3", reason: "late", by: "alice", at: 3))
        }
        // What was committed is what the transaction last saw.
        let halts = try queue.read { session in try session.rows("SELECT agent FROM halts ORDER BY agent").compactMap { $0.string(0) } }
        #expect(halts == ["bot-3"])
    }

    /// "Nothing is overdue" is remembered for the transaction's time, and forgotten when the
    /// transaction itself records a request that is already past its deadline.
    @Test func overdueRememberedInATransactionSeesARequestItAdds() throws {
        let directory = try Scratch.directory("hp-pg")
        let queue = try TestDatabase.daemon(try TestDatabase.settings(), in: directory, name: "a")
        defer { queue.close() }
        let request = try ActionRequest.shellCommand("rm -rf /srv/data", environment: "production", agentID: "bot-1", mode: .supervised)
        let (late, overdue) = try queue.write { tables, audit in
            #expect(try tables.overdue(now: audit.now, limit: 10).isEmpty)
            // Submitting expires what is due first (nothing), then records a request whose
            // deadline has already passed.
            let late = try QueueLogic.submit(
                request, prepared: QueueLogic.Prepared(request, Samples.gatedDelete, ApprovalRules()), approvals: ApprovalRules(), submitter: Samples.alice,
                timeout: -1, gateway: .none, planKey: nil, now: audit.now, tables: tables, audit: audit)
            return (late, try tables.overdue(now: audit.now, limit: 10))
        }
        #expect(late.state == .pending)
        #expect(overdue == [late.id])
    }

    /// One daemon at a time delivers a sink: the claim is refused to another while held,
    /// renewed by its holder, handed over when given back or when it lapses.
    @Test func oneDaemonAtATimeDeliversASink() throws {
        let settings = try TestDatabase.settings()
        let directory = try Scratch.directory("hp-pg")
        let a = try TestDatabase.store(settings, in: directory, name: "a")
        let b = try TestDatabase.store(settings, in: directory, name: "b")
        defer {
            a.close()
            b.close()
        }
        _ = try a.notifyCursor(sink: "pager")
        #expect(try a.claimDelivery(sink: "pager", owner: a.publicKeyHex, seconds: 60))
        #expect(try !b.claimDelivery(sink: "pager", owner: b.publicKeyHex, seconds: 60))
        #expect(try a.claimDelivery(sink: "pager", owner: a.publicKeyHex, seconds: 60), "renewed by its holder")
        try a.releaseDelivery(sink: "pager", owner: a.publicKeyHex)
        #expect(try b.claimDelivery(sink: "pager", owner: b.publicKeyHex, seconds: 0), "given back: taken at once")
        #expect(try a.claimDelivery(sink: "pager", owner: a.publicKeyHex, seconds: 60), "b's claim lapsed")
        #expect(try !b.claimDelivery(sink: "pager", owner: b.publicKeyHex, seconds: 60))
    }
}

import Foundation
import GRDB
import HoldpointCore
import HoldpointTestSupport
import Testing

@testable import HoldpointStore

/// Approvals are for one exact action and one use; runs are recorded.
@Suite struct ConsumeTests {
    @Test func anApprovalIsUsedOnceAndOnlyForItsAction() throws {
        let f = try Fixture()
        let pending = try f.gated(now: Clock.now())
        guard case .recorded(let approved) = try f.store.decide(id: pending.id, verdict: .approve, reviewer: alice, reason: "ok") else {
            Issue.record("approval not recorded")
            return
        }
        #expect(approved.state == .approved)

        let other = try f.request("rm -rf /srv/other").actionSHA256
        guard case .refused(let why) = try f.store.consume(id: approved.id, actionSHA256: other, consumer: "test", by: f.agent) else {
            Issue.record("a different action used the approval")
            return
        }
        #expect(why.contains("different action"))

        guard case .consumed(let used) = try f.store.consume(id: approved.id, actionSHA256: approved.actionSHA256, consumer: "hook claude-code", by: f.agent) else {
            Issue.record("the approved action was refused")
            return
        }
        #expect(used.consumedBy == "hook claude-code")
        guard case .refused(let again) = try f.store.consume(id: approved.id, actionSHA256: approved.actionSHA256, consumer: "test", by: f.agent) else {
            Issue.record("an approval was used twice")
            return
        }
        #expect(again.contains("already used"))
        // Used approvals are not offered again; the audit has the consumption and both refusals.
        #expect(try f.store.reusable(agent: "bot-1", environment: "production", actionSHA256: approved.actionSHA256) == nil)
        let events = try DatabaseQueue(path: f.store.path).read { db in try String.fetchAll(db, sql: "SELECT event FROM audit WHERE request_id = ? ORDER BY seq", arguments: [approved.id]) }
        #expect(events.suffix(3) == ["consume_refused", "consumed", "consume_refused"])
        #expect(try f.store.verifyAudit().intact)
    }

    @Test func aPendingOrRejectedRequestCannotBeUsed() throws {
        let f = try Fixture()
        let pending = try f.gated(now: Clock.now())
        guard case .refused(let why) = try f.store.consume(id: pending.id, actionSHA256: pending.actionSHA256, consumer: "t", by: f.agent) else {
            Issue.record("a pending request was used")
            return
        }
        #expect(why.contains("pending"))
        _ = try f.store.decide(id: pending.id, verdict: .reject, reviewer: alice, reason: "no")
        guard case .refused = try f.store.consume(id: pending.id, actionSHA256: pending.actionSHA256, consumer: "t", by: f.agent) else {
            Issue.record("a rejected request was used")
            return
        }
        #expect(try f.store.consume(id: "01AAAAAAAAAAAAAAAAAAAAAAAA", actionSHA256: pending.actionSHA256, consumer: "t", by: f.agent) == .notFound)
    }

    @Test func aTamperedApprovalIsRefused() throws {
        // Someone with write access rewrites the approved request's hash to another action's:
        // the votes still carry the hash the reviewer saw, so the approval does not transfer.
        let f = try Fixture()
        let pending = try f.gated(now: Clock.now())
        _ = try f.store.decide(id: pending.id, verdict: .approve, reviewer: alice, reason: "ok")
        let evil = try f.request("rm -rf /").actionSHA256
        try f.raw("UPDATE requests SET action_sha256 = '\(evil)' WHERE id = '\(pending.id)'")
        guard case .refused(let why) = try f.store.consume(id: pending.id, actionSHA256: evil, consumer: "t", by: f.agent) else {
            Issue.record("a rewritten approval was honoured")
            return
        }
        #expect(why.contains("different action"))
    }

    @Test func reusableFindsTheApprovedRequestBeforeAPendingOne() throws {
        let f = try Fixture()
        let now = Clock.now()
        let first = try f.gated(now: now)
        _ = try f.store.decide(id: first.id, verdict: .approve, reviewer: alice, reason: "ok")
        let second = try f.gated(now: now + 1)
        #expect(try f.store.reusable(agent: "bot-1", environment: "production", actionSHA256: first.actionSHA256)?.id == first.id)
        #expect(try f.store.reusable(agent: "bot-2", environment: "production", actionSHA256: first.actionSHA256) == nil)
        #expect(try f.store.reusable(agent: "bot-1", environment: "staging", actionSHA256: first.actionSHA256) == nil)
        _ = try f.store.consume(id: first.id, actionSHA256: first.actionSHA256, consumer: "t", by: f.agent)
        #expect(try f.store.reusable(agent: "bot-1", environment: "production", actionSHA256: first.actionSHA256)?.id == second.id)
    }

    @Test func runsAreRecordedWithTheirOutcome() throws {
        let f = try Fixture()
        let c = Classification.plain(.autonomous, .read)
        let ok = try f.store.submit(try f.request("ls"), classification: c, approvals: ApprovalRules(), submitter: f.agent, now: 100)
        let running = try #require(try f.store.startRun(id: ok.id, pid: 4242, by: f.agent, now: 101))
        #expect(running.state == .running)
        #expect(running.run?.pid == 4242)
        #expect(try f.store.startRun(id: ok.id, pid: 1, by: f.agent, now: 101) == nil, "a running request started twice")
        let done = try #require(try f.store.finishRun(id: ok.id, exitCode: 0, signal: nil, note: nil, by: f.agent, now: 103.5))
        #expect(done.state == .succeeded)
        #expect(done.run?.duration == 2.5)

        let bad = try f.store.submit(try f.request("ls"), classification: c, approvals: ApprovalRules(), submitter: f.agent, now: 200)
        _ = try f.store.startRun(id: bad.id, pid: 4243, by: f.agent, now: 200)
        let killed = try #require(try f.store.finishRun(id: bad.id, exitCode: nil, signal: 15, note: "halted", by: f.agent, now: 201))
        #expect(killed.state == .failed)
        #expect(killed.run?.signal == 15)
        // A pending request cannot start.
        let pending = try f.gated(now: Clock.now())
        #expect(try f.store.startRun(id: pending.id, pid: 1, by: f.agent) == nil)
        #expect(try f.store.verifyAudit().intact)
    }
}

@Suite struct MigrationTests {
    @Test func aVersionOneQueueIsMigratedAndKeepsItsRequests() throws {
        let directory = try Scratch.directory("hp-migrate")
        let path = directory.appendingPathComponent("queue.sqlite").path
        // A file as the first release wrote it.
        let old = try DatabaseQueue(path: path)
        try Schema.migrator.migrate(old, upTo: "v1")
        try old.write { db in
            try db.execute(
                sql: """
                    INSERT INTO requests (id, created_at, agent_id, environment, submitted_by, tier, operation_class, state, action_sha256, verdict, approval_rules, document)
                    VALUES ('01JD0000000000000000000000', 1, 'bot', 'production', 'u', 'gated', 'delete', 'pending', 'abc', '{"reasons":[]}', '{}', '{"action":{"command":"rm x"}}'),
                           ('01JD0000000000000000000001', 2, 'bot', 'production', 'u', 'supervised', 'patch', 'allowed', 'def', '{"reasons":[]}', '{}', '{"action":{"command":"sed -i s/a/b/ f"}}'),
                           ('01JD0000000000000000000002', 3, 'bot', 'staging', 'u', 'gated', 'deploy', 'approved', 'ghi', '{"reasons":[]}', '{}', '{"action":{"operation":"holdpoint:plan"}}')
                    """)
        }
        try old.close()
        let store = try QueueStore(path: path)
        let request = try #require(try store.request(id: "01JD0000000000000000000000"))
        #expect(request.state == .pending)
        #expect(request.run == nil)
        #expect(request.consumedBy == nil)
        let applied = try DatabaseQueue(path: path).read { db in try Schema.migrator.appliedIdentifiers(db) }
        #expect(applied == ["v1", "v2", "v3", "v4", "v5", "v6", "v7"])
        // v6 learns what the agent had already done from the requests it finds: the patch
        // that ran, not the pending delete, and not the approved plan (plans teach nothing).
        #expect(try store.establishedActions() == ["bot\u{1F}patch"])
    }
}

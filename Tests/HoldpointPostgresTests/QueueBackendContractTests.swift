import Foundation
import GRDB
import HoldpointCore
import HoldpointPostgres
import HoldpointStore
import HoldpointTestSupport
import Synchronization
import Testing

/// Every store the daemon can own, under the same tests: the SQLite file always, PostgreSQL
/// when a server is at hand (`HOLDPOINT_TEST_POSTGRES`; `.ci/run` starts one). What these
/// tests hold is what `QueueLogic` promises whatever database is under it.
enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    static var available: [Backend] { TestDatabase.available ? [.sqlite, .postgres] : [.sqlite] }

    /// A fresh, empty queue; `raw` runs SQL on it behind the store's back (a forger).
    struct Opened {
        let backend: any QueueBackend
        let raw: (String) throws -> Void
        let close: () -> Void
    }

    func open() throws -> Opened {
        let directory = try Scratch.directory("hp-contract")
        switch self {
        case .sqlite:
            let path = directory.appendingPathComponent("queue.sqlite").path
            let store = try QueueStore(path: path)
            return Opened(
                backend: store,
                raw: { sql in try DatabaseQueue(path: path).writeWithoutTransaction { db in try db.execute(sql: sql) } },
                close: {})
        case .postgres:
            let store = try PostgresQueueStore(
                settings: try TestDatabase.settings(), keyPath: directory.appendingPathComponent("k").path, headPath: directory.appendingPathComponent("h").path)
            return Opened(backend: store, raw: { sql in _ = try store.queue.read { session in try session.execute(sql) } }, close: { store.close() })
        }
    }
}

@Suite struct QueueBackendContractTests {
    static let agent = Identity(user: "agent-runner", via: "local")

    static func gated(_ backend: any QueueBackend, _ rules: ApprovalRules = ApprovalRules(), command: String = "rm -rf /srv/data", agent: String = "bot-1") throws -> StoredRequest {
        try backend.submit(
            try ActionRequest.shellCommand(command, environment: "production", agentID: agent, mode: .supervised), classification: Samples.gatedDelete,
            approvals: rules, submitter: Self.agent, timeout: nil, gateway: .none, planKey: nil)
    }

    @Test(arguments: Backend.available)
    func tiersBecomeStatesAndGatedRequestsGetADeadline(_ kind: Backend) throws {
        let opened = try kind.open()
        defer { opened.close() }
        for (tier, state) in [(Tier.autonomous, RequestState.allowed), (.supervised, .allowed), (.blocked, .blocked), (.gated, .pending)] {
            let stored = try opened.backend.submit(
                try ActionRequest.shellCommand("ls", environment: "production", agentID: "bot", mode: .supervised), classification: .plain(tier, .read),
                approvals: ApprovalRules(), submitter: Self.agent, timeout: nil, gateway: .none, planKey: nil)
            #expect(stored.state == state)
            #expect((stored.expiresAt != nil) == (state == .pending))
            #expect(try opened.backend.request(id: stored.id)?.state == state)
        }
        #expect(try opened.backend.list(RequestFilter(states: [.pending])).count == 1)
        #expect(try opened.backend.verifyAudit(publicKeyHex: nil, requireHead: false, since: nil).intact)
    }

    /// `submit --timeout` shortens the policy's window and never lengthens it, and both are
    /// counted from the request's creation on the queue's clock (the database's, for
    /// PostgreSQL: a daemon's host clock has no say in a shared queue's deadlines).
    @Test(arguments: Backend.available)
    func aSubmittersTimeoutOnlyShortensThePolicysWindowOnTheQueuesClock(_ kind: Backend) throws {
        let opened = try kind.open()
        defer { opened.close() }
        var rules = ApprovalRules()
        rules.timeouts[.gated] = 600
        for (timeout, window) in [(nil, 600.0), (30, 30), (5_000, 600)] as [(Double?, Double)] {
            let stored = try opened.backend.submit(
                try ActionRequest.shellCommand("rm -rf /srv/data", environment: "production", agentID: "bot-1", mode: .supervised),
                classification: Samples.gatedDelete, approvals: rules, submitter: Self.agent, timeout: timeout, gateway: .none, planKey: nil)
            let expiresAt = try #require(stored.expiresAt)
            #expect(abs(expiresAt - stored.createdAt - window) < 0.001, "timeout \(String(describing: timeout))")
        }
    }

    /// Two of three named reviewers, never the submitter, each once.
    @Test(arguments: Backend.available)
    func kOfNNamedReviewersAndNoSelfApproval(_ kind: Backend) throws {
        let opened = try kind.open()
        defer { opened.close() }
        var rules = ApprovalRules()
        rules.required = 2
        rules.reviewers = ["alice", "bob", "carol"]
        let request = try Self.gated(opened.backend, rules)
        let own = Identity(user: Self.agent.user, via: "local")
        guard case .refused(let refusal, _) = try opened.backend.decide(id: request.id, verdict: .approve, reviewer: own, reason: "mine") else {
            Issue.record("self-approval was not refused")
            return
        }
        #expect(refusal != .reasonRequired)
        guard case .recorded(let once) = try opened.backend.decide(id: request.id, verdict: .approve, reviewer: Samples.alice, reason: "ok") else {
            Issue.record("alice's vote was not recorded")
            return
        }
        #expect(once.state == .pending)
        guard case .refused = try opened.backend.decide(id: request.id, verdict: .approve, reviewer: Samples.alice, reason: "again") else {
            Issue.record("a second vote by alice was counted")
            return
        }
        guard case .recorded(let twice) = try opened.backend.decide(id: request.id, verdict: .approve, reviewer: Samples.bob, reason: "ok") else {
            Issue.record("bob's vote was not recorded")
            return
        }
        #expect(twice.state == .approved)
        #expect(twice.votes.map(\.reviewer) == ["alice", "bob"])
        guard case .notPending = try opened.backend.decide(id: request.id, verdict: .reject, reviewer: Samples.carol, reason: "late") else {
            Issue.record("a decided request took another vote")
            return
        }
        let report = try opened.backend.verifyAudit(publicKeyHex: nil, requireHead: false, since: nil)
        #expect(report.intact, "\(report)")
    }

    /// Eight reviewers at once on one request that one approval decides: exactly one wins.
    @Test(arguments: Backend.available)
    func racingReviewersDecideExactlyOnce(_ kind: Backend) throws {
        let opened = try kind.open()
        defer { opened.close() }
        let request = try Self.gated(opened.backend)
        let backend = opened.backend
        let outcomes = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            let result = try? backend.decide(id: request.id, verdict: i % 2 == 0 ? .approve : .reject, reviewer: Identity(user: "r\(i)", via: "test"), reason: "race")
            let outcome: String =
                switch result {
                case .recorded(let r): "recorded \(r.state.rawValue)"
                case .notPending: "lost"
                case .refused: "refused"
                case .notFound, nil: "error"
                }
            outcomes.withLock { $0.append(outcome) }
        }
        let all = outcomes.withLock { $0 }
        #expect(all.filter { $0.hasPrefix("recorded") }.count == 1, "\(all)")
        #expect(all.filter { $0 == "lost" }.count == 7, "\(all)")
        let final = try #require(try backend.request(id: request.id))
        #expect(final.votes.count == 1)
        #expect([.approved, .rejected].contains(final.state))
        #expect(try backend.verifyAudit(publicKeyHex: nil, requireHead: false, since: nil).intact)
    }

    /// No decision before the deadline is a denial, recorded; a vote after it changes nothing.
    @Test(arguments: Backend.available)
    func expiryIsADenialAndALateVoteIsRefused(_ kind: Backend) throws {
        let opened = try kind.open()
        defer { opened.close() }
        var rules = ApprovalRules()
        rules.timeouts[.gated] = 0.3
        let request = try Self.gated(opened.backend, rules)
        // The waiter itself records the expiry at the deadline (by the store's clock).
        let final = try #require(try opened.backend.waitForDecision(id: request.id, giveUpAt: nil))
        #expect(final.state == .expired)
        guard case .notPending(let late) = try opened.backend.decide(id: request.id, verdict: .approve, reviewer: Samples.alice, reason: "too late") else {
            Issue.record("a vote after the deadline was taken")
            return
        }
        #expect(late.state == .expired)
        let events = try opened.backend.auditEntries(afterSeq: 0, requestID: request.id, limit: nil, first: nil).map(\.event)
        #expect(events == ["submitted", "classified", "expired"])
    }

    @Test(arguments: Backend.available)
    func aHaltStopsAnAgentsPendingAndNewRequestsUntilResumed(_ kind: Backend) throws {
        let opened = try kind.open()
        defer { opened.close() }
        let waiting = try Self.gated(opened.backend)
        let other = try Self.gated(opened.backend, agent: "bot-2")
        #expect(try opened.backend.halt(agent: "bot-1", reason: "incident", by: Samples.bob) == 1)
        #expect(try opened.backend.request(id: waiting.id)?.state == .halted)
        #expect(try opened.backend.request(id: other.id)?.state == .pending)
        #expect(try Self.gated(opened.backend).state == .halted)
        #expect(try opened.backend.halt(for: "bot-1")?.reason == "incident")
        #expect(try opened.backend.resume(agent: "bot-1", by: Samples.bob))
        #expect(try !opened.backend.resume(agent: "bot-1", by: Samples.bob))
        #expect(try Self.gated(opened.backend).state == .pending)
        // Everyone at once.
        #expect(try opened.backend.halt(agent: "*", reason: "all stop", by: Samples.bob) == 2)
        #expect(try opened.backend.halts().map(\.agent).contains("*"))
    }

    /// An approval is for one exact action and one use; one forged in the tables by SQL is
    /// never used, and verification names it.
    @Test(arguments: Backend.available)
    func anApprovalIsUsedOnceForItsActionAndAForgedOneNever(_ kind: Backend) throws {
        let opened = try kind.open()
        defer { opened.close() }
        let request = try Self.gated(opened.backend)
        #expect(try opened.backend.reusable(agent: "bot-1", environment: "production", actionSHA256: request.actionSHA256)?.id == request.id)
        _ = try opened.backend.decide(id: request.id, verdict: .approve, reviewer: Samples.alice, reason: "ok")
        guard case .refused(let other) = try opened.backend.consume(id: request.id, actionSHA256: String(repeating: "0", count: 64), consumer: "t", by: Self.agent) else {
            Issue.record("an approval was used for another action")
            return
        }
        #expect(other.contains("different action"))
        guard case .consumed = try opened.backend.consume(id: request.id, actionSHA256: request.actionSHA256, consumer: "t", by: Self.agent) else {
            Issue.record("the approval could not be used")
            return
        }
        guard case .refused(let again) = try opened.backend.consume(id: request.id, actionSHA256: request.actionSHA256, consumer: "t", by: Self.agent) else {
            Issue.record("an approval was used twice")
            return
        }
        #expect(again.contains("already used"))
        #expect(try opened.backend.verifyAudit(publicKeyHex: nil, requireHead: false, since: nil).intact)

        let forged = try Self.gated(opened.backend, command: "dropdb orders")
        try opened.raw("UPDATE requests SET state = 'approved', closed_by = 'mallory' WHERE id = '\(forged.id)'")
        guard case .refused(let why) = try opened.backend.consume(id: forged.id, actionSHA256: forged.actionSHA256, consumer: "t", by: Self.agent) else {
            Issue.record("a forged approval was used")
            return
        }
        #expect(why.contains("no approval of it is in the audit log"))
        let report = try opened.backend.verifyAudit(publicKeyHex: nil, requireHead: false, since: nil)
        #expect(report.problem?.contains("request \(forged.id) is decided in the table but no entry in the log decided it") == true, "\(report)")
    }

    /// The gateway's counts are the queue's: a limit holds across every writer.
    @Test(arguments: Backend.available)
    func rateLimitsAndFirstTimeCountTheWholeQueue(_ kind: Backend) throws {
        let opened = try kind.open()
        defer { opened.close() }
        let gateway = GatewayRules(limits: [RateLimit(agent: "bot-*", classes: [.patch], max: 2, window: 600, onExceed: .gated)], firstTime: .gated)
        func submit(_ command: String) throws -> StoredRequest {
            try opened.backend.submit(
                try ActionRequest.shellCommand(command, environment: "production", agentID: "bot-1", mode: .supervised), classification: .plain(.supervised, .patch),
                approvals: ApprovalRules(), submitter: Self.agent, timeout: nil, gateway: gateway, planKey: nil)
        }
        let first = try submit("touch a")
        #expect(first.state == .pending)  // FIRST TIME: never a patch in production before
        #expect(first.reasons.contains { $0.rule == "first-time" })
        _ = try opened.backend.decide(id: first.id, verdict: .approve, reviewer: Samples.alice, reason: "ok")
        #expect(try submit("touch b").state == .allowed)  // known now; one of two in the window
        let third = try submit("touch c")
        #expect(third.state == .pending)  // the third patch in ten minutes
        #expect(third.reasons.contains { $0.rule == "rate-limit" && $0.message.hasPrefix("2 ") })
    }

    /// A commit is announced: a waiter on the same queue wakes for a decision made through
    /// another handle (another daemon, for PostgreSQL).
    @Test(arguments: Backend.available)
    func aDecisionWakesItsWaiter(_ kind: Backend) throws {
        let opened = try kind.open()
        defer { opened.close() }
        let request = try Self.gated(opened.backend)
        let backend = opened.backend
        let done = DispatchSemaphore(value: 0)
        let seen = Mutex<RequestState?>(nil)
        Thread {
            seen.withLock { $0 = (try? backend.waitForDecision(id: request.id, giveUpAt: Clock.now() + 60))??.state }
            done.signal()
        }.start()
        _ = try backend.decide(id: request.id, verdict: .reject, reviewer: Samples.alice, reason: "no")
        #expect(done.wait(timeout: .now() + 60) == .success)
        #expect(seen.withLock { $0 } == .rejected)
    }
}

import Foundation
import GRDB
import HoldpointCore
import HoldpointTestSupport
import Testing

@testable import HoldpointStore

/// A fresh queue in a temporary directory, and a request factory.
struct Fixture {
    let directory: URL
    let store: QueueStore
    let agent = Identity(user: "agent-runner", via: "local")

    init() throws {
        directory = try Scratch.directory("hp-store")
        store = try QueueStore(path: directory.appendingPathComponent("queue.sqlite").path)
    }

    /// A new connection to an existing queue file.
    init(path: String) throws {
        directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        store = try QueueStore(path: path)
    }

    func request(_ command: String = "rm -rf /srv/data", agent: String = "bot-1", onBehalfOf: String? = nil) throws -> ActionRequest {
        var extra: [(key: String, value: JSONValue)] = []
        if let onBehalfOf {
            extra.append(("summary", .string("for \(onBehalfOf)")))
            var request = try ActionRequest.shellCommand(command, environment: "production", agentID: agent, mode: .supervised)
            request.document = request.document.setting("agent", to: .object([("id", .string(agent)), ("mode", .string("supervised")), ("on_behalf_of", .string(onBehalfOf))]))
            return try ActionRequestDecoder.decode(request.document)
        }
        return try ActionRequest.shellCommand(command, environment: "production", agentID: agent, mode: .supervised, extra: extra)
    }

    func gated(_ rules: ApprovalRules = ApprovalRules(), now: Double = 1_000, command: String = "rm -rf /srv/data", agent: String = "bot-1", onBehalfOf: String? = nil) throws -> StoredRequest {
        return try store.submit(try request(command, agent: agent, onBehalfOf: onBehalfOf), classification: Samples.gatedDelete, approvals: rules, submitter: self.agent, now: now)
    }

    func raw(_ sql: String) throws {
        let queue = try DatabaseQueue(path: store.path)
        try queue.writeWithoutTransaction { db in try db.execute(sql: sql) }
    }
}

let alice = Samples.alice
let bob = Samples.bob
let carol = Samples.carol

@Suite struct SubmitTests {
    @Test func tiersMapToStates() throws {
        let f = try Fixture()
        for (tier, state) in [(Tier.autonomous, RequestState.allowed), (.supervised, .allowed), (.blocked, .blocked), (.gated, .pending)] {
            let c = Classification.plain(tier, .read)
            let stored = try f.store.submit(try f.request(), classification: c, approvals: ApprovalRules(), submitter: f.agent, now: 100)
            #expect(stored.state == state)
            #expect(try f.store.request(id: stored.id) == stored)
        }
        let pending = try f.store.list(RequestFilter(states: [.pending]))
        #expect(pending.count == 1)
        let expiresAt = try #require(pending[0].expiresAt)
        #expect(abs(expiresAt - 1_000) < 0.001, "\(expiresAt.bitPattern) \(Double(1000).bitPattern)")
    }

    @Test func theRequestIsStoredWhole() throws {
        let f = try Fixture()
        let stored = try f.gated()
        let back = try #require(try f.store.request(id: stored.id))
        #expect(back.document == stored.document)
        #expect(back.actionSHA256 == (try f.request()).actionSHA256)
        #expect(back.reasons == [Reason(rule: "test", message: "gated for the test", tier: .gated)])
        #expect(back.submittedBy == "agent-runner")
    }
}

@Suite struct DecisionTests {
    @Test func aDecisionStandsExactlyOnce() throws {
        let f = try Fixture()
        let r = try f.gated()
        guard case .recorded(let approved) = try f.store.decide(id: r.id, verdict: .approve, reviewer: alice, reason: "ok", now: 1_010) else {
            Issue.record("first decision not recorded")
            return
        }
        #expect(approved.state == .approved)
        #expect(approved.closedBy == "alice")
        #expect(approved.closedVia == "ssh 10.0.0.7")
        guard case .notPending(let after) = try f.store.decide(id: r.id, verdict: .reject, reviewer: bob, reason: "no", now: 1_011) else {
            Issue.record("second decision was not refused")
            return
        }
        #expect(after.state == .approved)
        #expect(after.closedBy == "alice")
        #expect(after.closedAt == 1_010)
    }

    @Test func selfApprovalIsRefusedUnlessThePolicyAllowsIt() throws {
        let f = try Fixture()
        let r = try f.gated(onBehalfOf: "alice")
        guard case .refused(.selfApproval("alice"), _) = try f.store.decide(id: r.id, verdict: .approve, reviewer: alice, reason: "", now: 1_001) else {
            Issue.record("on_behalf_of approved their own request")
            return
        }
        guard case .refused(.selfApproval("agent-runner"), _) = try f.store.decide(id: r.id, verdict: .approve, reviewer: f.agent, reason: "", now: 1_001) else {
            Issue.record("the submitting user approved their own request")
            return
        }
        // They may still reject their own request.
        guard case .recorded(let rejected) = try f.store.decide(id: r.id, verdict: .reject, reviewer: alice, reason: "changed my mind", now: 1_002) else {
            Issue.record("reject refused")
            return
        }
        #expect(rejected.state == .rejected)
        var lenient = ApprovalRules()
        lenient.allowSelfApproval = true
        let own = try f.gated(lenient, onBehalfOf: "alice")
        guard case .recorded(let ok) = try f.store.decide(id: own.id, verdict: .approve, reviewer: alice, reason: "", now: 1_003) else {
            Issue.record("allowed self-approval refused")
            return
        }
        #expect(ok.state == .approved)
    }

    @Test func kOfNNeedsDistinctReviewersAndOneRejectionRejects() throws {
        let f = try Fixture()
        var rules = ApprovalRules()
        rules.required = 2
        let r = try f.gated(rules)
        guard case .recorded(let one) = try f.store.decide(id: r.id, verdict: .approve, reviewer: alice, reason: "", now: 1_001) else {
            Issue.record("vote 1")
            return
        }
        #expect(one.state == .pending)
        guard case .refused(.alreadyVoted("alice"), _) = try f.store.decide(id: r.id, verdict: .approve, reviewer: alice, reason: "", now: 1_002) else {
            Issue.record("double vote")
            return
        }
        guard case .recorded(let two) = try f.store.decide(id: r.id, verdict: .approve, reviewer: bob, reason: "", now: 1_003) else {
            Issue.record("vote 2")
            return
        }
        #expect(two.state == .approved)
        #expect(two.votes.map(\.reviewer) == ["alice", "bob"])

        let vetoed = try f.gated(rules)
        _ = try f.store.decide(id: vetoed.id, verdict: .approve, reviewer: alice, reason: "", now: 1_004)
        guard case .recorded(let no) = try f.store.decide(id: vetoed.id, verdict: .reject, reviewer: carol, reason: "blast radius", now: 1_005) else {
            Issue.record("veto")
            return
        }
        #expect(no.state == .rejected)
        #expect(no.closedReason == "blast radius")
    }

    @Test func rejectionNeedsAReasonAndReviewersAreEnforced() throws {
        let f = try Fixture()
        let r = try f.gated()
        guard case .refused(.reasonRequired, _) = try f.store.decide(id: r.id, verdict: .reject, reviewer: alice, reason: "  ", now: 1_001) else {
            Issue.record("empty reason")
            return
        }
        var rules = ApprovalRules()
        rules.reviewers = ["bob"]
        let restricted = try f.gated(rules)
        guard case .refused(.notAReviewer("alice"), _) = try f.store.decide(id: restricted.id, verdict: .approve, reviewer: alice, reason: "", now: 1_001) else {
            Issue.record("outsider")
            return
        }
        #expect(try f.store.decide(id: "01ZZZZZZZZZZZZZZZZZZZZZZZZ", verdict: .approve, reviewer: alice, reason: "") == .notFound)
    }
}

@Suite struct DeadlineAndHaltTests {
    @Test func noAnswerBeforeTheDeadlineIsADenialNeverAnApproval() throws {
        let f = try Fixture()
        var rules = ApprovalRules()
        rules.timeouts[.gated] = 60
        let r = try f.gated(rules, now: 1_000)
        #expect(try f.store.expireDue(now: 1_059) == 0)
        #expect(try f.store.expireDue(now: 1_060) == 1)
        let expired = try #require(try f.store.request(id: r.id))
        #expect(expired.state == .expired)
        #expect(expired.closedBy == "expiry")
        guard case .notPending(let still) = try f.store.decide(id: r.id, verdict: .approve, reviewer: alice, reason: "", now: 1_061) else {
            Issue.record("late approval")
            return
        }
        #expect(still.state == .expired)
        // A decision arriving after the deadline, before anyone swept, expires it too.
        let late = try f.gated(rules, now: 2_000)
        guard case .notPending(let swept) = try f.store.decide(id: late.id, verdict: .approve, reviewer: alice, reason: "", now: 2_061) else {
            Issue.record("late approval 2")
            return
        }
        #expect(swept.state == .expired)
    }

    /// A backlog of overdue requests never lands on one agent's write: each write expires a
    /// small batch; the request being decided, or waited for, is expired on its own; a
    /// sweep expires the rest in batches. (Issue 19: 100k overdue once cost the next hook 8 s.)
    @Test func aBacklogOfOverdueRequestsIsExpiredInBoundedBatches() throws {
        let f = try Fixture()
        var rules = ApprovalRules()
        rules.timeouts[.gated] = 60
        let backlog = try (0..<100).map { try f.gated(rules, now: 1_000 + Double($0) * 0.001, command: "rm -rf /srv/old-\($0)") }
        func pending() throws -> Int { try f.store.list(RequestFilter(states: [.pending])).count }
        // (list does not expire by itself: QueueService.list sweeps before it reads.)
        _ = try f.gated(rules, now: 2_000, command: "rm -rf /srv/new")
        #expect(try pending() == 100 + 1 - QueueLogic.expiryBatchInWrite)
        // The newest of the backlog is expired last by batches, but a vote on it is late at once.
        let last = try #require(backlog.last)
        guard case .notPending(let late) = try f.store.decide(id: last.id, verdict: .approve, reviewer: alice, reason: "", now: 2_001) else {
            Issue.record("an overdue request outside the batch was approved")
            return
        }
        #expect(late.state == .expired)
        // A waiter at its own deadline does not wait for the backlog either.
        let secondLast = backlog[98]
        #expect(try f.store.waitForDecision(id: secondLast.id)?.state == .expired)
        // The sweep takes the rest, each batch its own transaction.
        let before = try pending()
        #expect(try f.store.expireDue(now: 2_002) == before - 1)  // all but the new one
        #expect(try pending() == 1)
        #expect(try f.store.verifyAudit(publicKeyHex: nil, requireHead: true).intact)
    }

    /// Rate limits (issue 14): counted from the queue per agent and class over a sliding
    /// window; over the limit a request is gated, blocked, or halts its agent.
    @Test func rateLimitsCountTheQueue() throws {
        let f = try Fixture()
        let read = Classification.plain(.autonomous, .read)
        let limits = [RateLimit(agent: "bot-*", classes: [.read], max: 2, window: 600, onExceed: .gated)]
        func submit(_ agent: String, at now: Double, _ limits: [RateLimit] = limits) throws -> StoredRequest {
            try f.store.submit(try f.request("ls", agent: agent), classification: read, approvals: ApprovalRules(), submitter: f.agent, gateway: GatewayRules(limits: limits), now: now)
        }
        #expect(try submit("bot-1", at: 1_000).state == .allowed)
        #expect(try submit("bot-1", at: 1_001).state == .allowed)
        let third = try submit("bot-1", at: 1_002)
        #expect(third.state == .pending)
        #expect(third.reasons.last?.message == "2 read requests by bot-1 in the last 10m (limit 2)")
        #expect(try submit("bot-2", at: 1_003).state == .allowed)  // another agent counts apart
        #expect(try submit("other", at: 1_004).state == .allowed)  // not matched by bot-*
        #expect(try submit("bot-1", at: 1_700).state == .allowed)  // the window slid past
        let blocking = [RateLimit(classes: nil, max: 1, window: 60, onExceed: .blocked)]
        #expect(try submit("c", at: 2_000, blocking).state == .allowed)
        #expect(try submit("c", at: 2_001, blocking).state == .blocked)
        let halting = [RateLimit(max: 1, window: 60, onExceed: .halt)]
        #expect(try submit("d", at: 3_000, halting).state == .allowed)
        #expect(try submit("d", at: 3_001, halting).state == .halted)
        #expect(try f.store.halt(for: "d")?.reason.contains("agent halted") == true)
        #expect(try f.store.verifyAudit(publicKeyHex: nil, requireHead: true).intact)
    }

    /// An agent's first action of a class in an environment waits for a human (FIRST TIME);
    /// once one was approved or ran there, the next is judged as usual. Reads are exempt.
    @Test func anAgentsFirstActionOfAClassIsGated() throws {
        let f = try Fixture()
        let patch = Classification.plain(.supervised, .patch)
        let read = Classification.plain(.autonomous, .read)
        let gateway = GatewayRules(firstTime: .gated)
        func submit(_ c: Classification, agent: String = "new-bot", at now: Double) throws -> StoredRequest {
            try f.store.submit(try f.request("kubectl scale deploy/api --replicas=3", agent: agent), classification: c, approvals: ApprovalRules(), submitter: f.agent, gateway: gateway, now: now)
        }
        #expect(try submit(read, at: 1_000).state == .allowed)
        let first = try submit(patch, at: 1_001)
        #expect(first.state == .pending)
        #expect(first.reasons.last?.message == "FIRST TIME: new-bot has never had a patch approved or run in production")
        #expect(try submit(patch, at: 1_002).state == .pending)  // still nothing approved
        _ = try f.store.decide(id: first.id, verdict: .approve, reviewer: alice, reason: "ok", now: 1_003)
        #expect(try submit(patch, at: 1_004).state == .allowed)
        #expect(try submit(patch, agent: "other-bot", at: 1_005).state == .pending)
        #expect(try f.store.submit(try f.request(agent: "x"), classification: patch, approvals: ApprovalRules(), submitter: f.agent, gateway: .none, now: 1_006).state == .allowed)
    }

    /// FIRST TIME covers programs too: an agent that has had patches approved still waits
    /// for a human the first time it runs a program it never ran in that environment.
    @Test func anAgentsFirstUseOfAProgramIsGated() throws {
        let f = try Fixture()
        func patch(_ programs: [String]) -> Classification {
            Classification(tier: .supervised, operationClass: .patch, reasons: [], destructive: false, irreversible: false, dataLoss: false, programs: programs)
        }
        let gateway = GatewayRules(firstTime: .gated)
        func submit(_ programs: [String], at now: Double) throws -> StoredRequest {
            try f.store.submit(try f.request("x", agent: "bot"), classification: patch(programs), approvals: ApprovalRules(), submitter: f.agent, gateway: gateway, now: now)
        }
        let first = try submit(["kubectl"], at: 1_000)
        #expect(first.state == .pending)  // the first patch at all
        _ = try f.store.decide(id: first.id, verdict: .approve, reviewer: alice, reason: "ok", now: 1_001)
        #expect(try submit(["kubectl"], at: 1_002).state == .allowed)
        let helm = try submit(["kubectl", "helm"], at: 1_003)
        #expect(helm.state == .pending)
        #expect(helm.reasons.first?.message == "FIRST TIME: bot has never run helm in production")
        _ = try f.store.decide(id: helm.id, verdict: .approve, reviewer: alice, reason: "ok", now: 1_004)
        #expect(try submit(["helm"], at: 1_005).state == .allowed)
        #expect(try f.store.verifyAudit(publicKeyHex: nil, requireHead: true).intact)
    }

    /// An approved plan: a later action that is one of its steps says which; one that is
    /// none is OFF PLAN, and a change off plan waits for a human where `offPlan` is set. A
    /// plan counts against no rate limit, and stops counting once `validFor` has passed.
    @Test func anApprovedPlanPlacesTheAgentsLaterActions() throws {
        let f = try Fixture()
        let policy = try PolicyLoader.load(policyFile: nil)
        let plan = try Plan.request(
            fromDocument: Array(
                #"{"schema":"holdpoint.plan/v1","agent":{"id":"kiro"},"environment":"production","steps":[{"action":{"kind":"shell","command":"kubectl get pods"}},{"action":{"kind":"shell","command":"kubectl rollout restart deploy/api"}}]}"#
                    .utf8))
        let limit = [RateLimit(max: 1, window: 3_600)]
        let gateway = GatewayRules(limits: limit, plans: PlanRules(validFor: 600, offPlan: .gated))
        let planVerdict = Classifier(policy: policy).classify(plan)
        let submittedPlan = try f.store.submit(plan, classification: planVerdict, approvals: ApprovalRules(), submitter: f.agent, gateway: gateway, now: 1_000)
        #expect(submittedPlan.state == .pending)
        _ = try f.store.decide(id: submittedPlan.id, verdict: .approve, reviewer: alice, reason: "plan ok", now: 1_001)

        func run(_ command: String, at now: Double, tier: Tier = .supervised, opClass: OperationClass = .patch, rules: GatewayRules = gateway) throws -> StoredRequest {
            let request = try ActionRequest.shellCommand(command, environment: "production", agentID: "kiro", mode: .supervised)
            let c = Classification.plain(tier, opClass)
            return try f.store.submit(request, classification: c, approvals: ApprovalRules(), submitter: f.agent, gateway: rules, planKey: Plan.key(of: request), now: now)
        }
        let inPlan = try run("kubectl rollout restart deploy/api", at: 1_002)
        #expect(inPlan.state == .allowed)  // the plan was not counted against the limit of 1
        #expect(inPlan.reasons.map(\.message) == ["in approved plan \(submittedPlan.id), step 2 of 2"])
        let offPlan = try run("kubectl delete deploy/api", at: 1_003, rules: GatewayRules(plans: gateway.plans))
        #expect(offPlan.state == .pending)
        #expect(offPlan.reasons.first?.message == "OFF PLAN: matches no step of kiro's approved plan \(submittedPlan.id) (2 steps)")
        let offPlanRead = try run("kubectl get nodes", at: 1_004, tier: .autonomous, opClass: .read, rules: GatewayRules(plans: gateway.plans))
        #expect(offPlanRead.state == .allowed && offPlanRead.reasons.first?.rule == "off-plan")  // flagged only
        let flaggedOnly = try run("kubectl delete deploy/api", at: 1_005, rules: GatewayRules(plans: PlanRules(validFor: 600, offPlan: nil)))
        #expect(flaggedOnly.state == .allowed && flaggedOnly.reasons.first?.rule == "off-plan")
        let later = try run("kubectl delete deploy/api", at: 1_700, rules: GatewayRules(plans: gateway.plans))
        #expect(later.state == .allowed && later.reasons.isEmpty)  // the plan no longer holds
        #expect(try f.store.verifyAudit(publicKeyHex: nil, requireHead: true).intact)
    }

    /// A daily budget per agent and environment, from declared impact (UTC day).
    @Test func aBudgetCapsWhatAnAgentDeclaresPerDay() throws {
        let f = try Fixture()
        let patch = Classification.plain(.supervised, .patch)
        let gateway = GatewayRules(budget: Budget(costUSD: 100, resourcesAffected: 10, onExceed: .gated))
        func submit(cost: Double, resources: Double = 1, environment: String = "production", at now: Double) throws -> StoredRequest {
            let request = try ActionRequestDecoder.decode(
                Array(
                    #"{"schema":"holdpoint.action/v1","agent":{"id":"b","mode":"supervised"},"environment":"\#(environment)","action":{"kind":"shell","command":"x"},"impact":{"cost_usd":\#(cost),"resources_affected":\#(resources)}}"#
                        .utf8))
            return try f.store.submit(request, classification: patch, approvals: ApprovalRules(), submitter: f.agent, gateway: gateway, now: now)
        }
        let day = 86_400.0 * 20_000
        #expect(try submit(cost: 60, at: day + 10).state == .allowed)
        let over = try submit(cost: 50, at: day + 20)
        #expect(over.state == .pending)
        #expect(over.reasons.last?.message == "budget of b in production: $60 declared today + $50 would pass the $100 daily cost cap")
        #expect(try submit(cost: 40, at: day + 30).state == .pending)  // 60 + 50 waiting + 40 > 100
        #expect(try submit(cost: 50, environment: "staging", at: day + 40).state == .allowed)  // its own budget
        #expect(try submit(cost: 0, resources: 20, environment: "dev", at: day + 50).state == .pending)  // resources cap
        #expect(try submit(cost: 60, at: day + 86_400).state == .allowed)  // a new UTC day
    }

    /// `approvals.rules`: IAM changes need one security and one SRE approver; two
    /// approvals from security alone do not approve it.
    @Test func oneApproverFromEachGroup() throws {
        let f = try Fixture()
        var approvals = ApprovalRules()
        approvals.rules = [ApprovalRule(classes: [.iam], oneFromEach: ["@security", "@sre"])]
        let iam = Classification(
            tier: .gated, operationClass: .iam, reasons: [Reason(rule: "aws-iam", message: "iam", tier: .gated)],
            destructive: false, irreversible: false, dataLoss: false)
        let effective = approvals.applying(to: iam)
        #expect(effective.required == 2 && effective.oneFromEach == ["@security", "@sre"])
        let r = try f.store.submit(try f.request("aws iam attach-role-policy --role-name x --policy-arn y"), classification: iam, approvals: effective, submitter: f.agent, now: 1_000)
        let ana = Identity(user: "ana", via: "local", groups: ["security"])
        let sam = Identity(user: "sam", via: "local", groups: ["security"])
        let rio = Identity(user: "rio", via: "local", groups: ["sre", "ops"])
        guard case .recorded(let one) = try f.store.decide(id: r.id, verdict: .approve, reviewer: ana, reason: "", now: 1_001) else {
            Issue.record("ana")
            return
        }
        #expect(one.state == .pending)
        guard case .recorded(let two) = try f.store.decide(id: r.id, verdict: .approve, reviewer: sam, reason: "", now: 1_002) else {
            Issue.record("sam")
            return
        }
        #expect(two.state == .pending)  // two approvals, both security: no SRE yet
        guard case .recorded(let three) = try f.store.decide(id: r.id, verdict: .approve, reviewer: rio, reason: "", now: 1_003) else {
            Issue.record("rio")
            return
        }
        #expect(three.state == .approved)
        // The groups and the rule survive a reload from the file.
        let reloaded = try #require(try f.store.request(id: r.id))
        #expect(reloaded.approvalRules.oneFromEach == ["@security", "@sre"])
        #expect(reloaded.votes.map(\.groups) == [["security"], ["security"], ["sre", "ops"]])
        // A delete is not an IAM change: the global rules hold.
        let delete = Classification.plain(.gated, .delete, destructive: true, irreversible: true, dataLoss: true)
        #expect(approvals.applying(to: delete).oneFromEach.isEmpty)
    }

    @Test func haltStopsPendingRequestsAndRefusesNewOnesUntilResumed() throws {
        let f = try Fixture()
        let mine = try f.gated(agent: "bot-1")
        let other = try f.gated(agent: "bot-2")
        #expect(try f.store.halt(agent: "bot-1", reason: "runaway", by: alice, now: 1_100) == 1)
        #expect(try f.store.request(id: mine.id)?.state == .halted)
        #expect(try f.store.request(id: other.id)?.state == .pending)
        let refused = try f.gated(now: 1_200, agent: "bot-1")
        #expect(refused.state == .halted)
        #expect(refused.closedReason == "agent halted: runaway")
        #expect(try f.store.resume(agent: "bot-1", by: alice, now: 1_300))
        #expect(try f.store.gated(now: 1_400, agent: "bot-1").state == .pending)
        #expect(try f.store.halt(agent: "*", reason: "incident", by: bob, now: 1_500) == 2)
        #expect(try f.store.gated(now: 1_600, agent: "bot-9").state == .halted)
    }
}

extension QueueStore {
    fileprivate func gated(now: Double, agent: String) throws -> StoredRequest {
        let c = Classification.plain(.gated, .delete, destructive: true)
        return try submit(
            try ActionRequest.shellCommand("rm -rf /x", environment: "production", agentID: agent, mode: .supervised),
            classification: c, approvals: ApprovalRules(), submitter: Identity(user: "agent-runner", via: "local"), now: now)
    }
}

@Suite struct AuditTests {
    /// A queue with some history: submits, votes, an expiry, a halt.
    func populated() throws -> Fixture {
        let f = try Fixture()
        var rules = ApprovalRules()
        rules.timeouts[.gated] = 10
        for i in 0..<4 { _ = try f.gated(rules, now: 1_000 + Double(i)) }
        let ids = try f.store.list().map(\.id)
        _ = try f.store.decide(id: ids[0], verdict: .approve, reviewer: alice, reason: "fine", now: 1_005)
        _ = try f.store.decide(id: ids[1], verdict: .reject, reviewer: bob, reason: "no", now: 1_006)
        try f.store.expireDue(now: 1_020)
        _ = try f.store.halt(agent: "bot-1", reason: "x", by: carol, now: 1_030)
        return f
    }

    @Test func everyEventIsRecordedAndTheLogVerifies() throws {
        let f = try populated()
        let events = try f.store.auditEntries().map(\.event)
        #expect(events.filter { $0 == "submitted" }.count == 4)
        #expect(events.filter { $0 == "classified" }.count == 4)
        #expect(events.contains("approved") && events.contains("rejected") && events.contains("expired") && events.contains("agent_halted"))
        let submitted = try #require(try f.store.auditEntries().first { $0.event == "submitted" })
        #expect(submitted.details["action"]?["command"] == .string("rm -rf /srv/data"))
        let report = try f.store.verifyAudit()
        #expect(report.intact, "\(report)")
        #expect(report.entries == events.count)
    }

    /// Each submit records what was asked, how it was classified and, when the answer is
    /// immediate, the outcome; a halted agent's submit records the halt instead.
    @Test func aSubmitRecordsItsClassificationAndImmediateOutcome() throws {
        let f = try Fixture()
        defer { try? FileManager.default.removeItem(at: f.directory) }
        func classification(_ tier: Tier) -> Classification {
            Classification(
                tier: tier, operationClass: .delete, reasons: [Reason(rule: "rule-\(tier.rawValue)", message: "m", tier: tier)],
                destructive: true, irreversible: false, dataLoss: false)
        }
        func entries(_ id: String) throws -> [AuditEntry] { try f.store.auditEntries(requestID: id) }

        let allowed = try f.store.submit(try f.request("ls"), classification: classification(.supervised), approvals: ApprovalRules(), submitter: f.agent)
        #expect(try entries(allowed.id).map(\.event) == ["submitted", "classified", "allowed"])
        let classified = try #require(try entries(allowed.id).first { $0.event == "classified" })
        #expect(classified.details["tier"] == .string("supervised"))
        #expect(classified.details["action_sha256"] == .string(allowed.actionSHA256))
        guard case .array(let reasons)? = classified.details["reasons"] else {
            Issue.record("no reasons")
            return
        }
        #expect(reasons.first?["rule"] == .string("rule-supervised"))
        #expect(try entries(allowed.id).last?.details["tier"] == .string("supervised"))

        let blocked = try f.store.submit(try f.request("rm -rf /"), classification: classification(.blocked), approvals: ApprovalRules(), submitter: f.agent)
        #expect(try entries(blocked.id).map(\.event) == ["submitted", "classified", "blocked"])
        #expect(try entries(blocked.id).last?.details["rules"] == .array([.string("rule-blocked")]))

        let gated = try f.gated()
        #expect(try entries(gated.id).map(\.event) == ["submitted", "classified"])

        _ = try f.store.halt(agent: "bot-1", reason: "incident", by: Identity(user: "oncall", via: "local"))
        let halted = try f.store.submit(try f.request("ls"), classification: classification(.blocked), approvals: ApprovalRules(), submitter: f.agent)
        #expect(try entries(halted.id).map(\.event) == ["submitted", "classified", "halted"])
        #expect(try f.store.verifyAudit().intact)
    }

    @Test func editingAFieldIsDetectedAtThatEntry() throws {
        let f = try populated()
        try f.raw("UPDATE audit SET actor = 'mallory' WHERE seq = 5")
        let report = try f.store.verifyAudit()
        #expect(report.firstBadSeq == 5)
        #expect(report.problem?.contains("edited") == true)
    }

    @Test func deletingAnEntryIsDetected() throws {
        let f = try populated()
        try f.raw("DELETE FROM audit WHERE seq = 3")
        let report = try f.store.verifyAudit()
        #expect(report.firstBadSeq == 3)
        #expect(report.problem?.contains("missing") == true)
    }

    @Test func swappingTwoEntriesIsDetected() throws {
        let f = try populated()
        try f.raw(
            """
            UPDATE audit SET seq = -1 WHERE seq = 4;
            UPDATE audit SET seq = 4 WHERE seq = 5;
            UPDATE audit SET seq = 5 WHERE seq = -1;
            """)
        let report = try f.store.verifyAudit()
        #expect(report.firstBadSeq == 4)
    }

    @Test func truncatingTheTailIsDetectedEvenWithItsCheckpoints() throws {
        let f = try populated()
        let last = try f.store.auditEntries().last?.seq ?? 0
        try f.raw("DELETE FROM audit WHERE seq > \(last - 3)")
        let first = try f.store.verifyAudit()
        #expect(first.firstBadSeq == last - 2)
        #expect(first.problem?.contains("truncated") == true)
        // Removing the checkpoints that signed the lost entries does not hide it: the head does.
        try f.raw("DELETE FROM audit_checkpoints WHERE seq > \(last - 3)")
        let second = try f.store.verifyAudit()
        #expect(second.firstBadSeq == last - 2)
        #expect(second.problem?.contains("signed head") == true)
    }

    @Test func rewritingTheWholeChainWithoutTheKeyIsDetected() throws {
        let f = try populated()
        // Recompute a consistent chain after editing entry 2; the signatures no longer match.
        let queue = try DatabaseQueue(path: f.store.path)
        try queue.write { db in
            try db.execute(sql: "UPDATE audit SET actor = 'mallory' WHERE seq = 2")
            var previous = String(repeating: "0", count: 64)
            for row in try Row.fetchAll(db, sql: "SELECT * FROM audit ORDER BY seq") {
                var entry = QueueStore.entry(row)
                entry.previousHash = previous
                let hash = entry.computedHash()
                try db.execute(sql: "UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?", arguments: [previous, hash, entry.seq])
                previous = hash
            }
        }
        let report = try f.store.verifyAudit()
        #expect(!report.intact)
        #expect(report.firstBadSeq ?? 0 >= 2)
        #expect(report.problem?.contains("differs from its signed checkpoint") == true, "\(report)")
        // Rewriting the checkpoints' hashes too does not help without the private key.
        try queue.write { db in
            try db.execute(sql: "UPDATE audit_checkpoints SET hash = (SELECT hash FROM audit WHERE audit.seq = audit_checkpoints.seq)")
        }
        let again = try f.store.verifyAudit()
        #expect(!again.intact)
        #expect(again.problem?.contains("does not verify") == true, "\(again)")
    }

    @Test func aStateChangeAndItsAuditEntryCommitTogether() throws {
        let f = try populated()
        // Every request's current state is explained by its audit trail.
        for request in try f.store.list() {
            let events = try f.store.auditEntries(requestID: request.id).map(\.event)
            #expect(events.first == "submitted")
            switch request.state {
            case .approved: #expect(events.contains("approved"))
            case .rejected: #expect(events.contains("rejected"))
            case .expired: #expect(events.contains("expired"))
            case .halted: #expect(events.contains("halted"))
            default: break
            }
        }
    }

    @Test func theHashedTextIsExactlyTheCanonicalJSON() throws {
        let details = try JSONReader.parse(#"{"z":"é\u0001\"\\","a":[1.5,true,null]}"#)
        let entry = AuditEntry(
            seq: 42, atMillis: 1_764_000_000_123, event: "vote", requestID: nil, actor: "al\"ice\n\u{7}日本",
            via: "ssh 10.0.0.7", details: details, previousHash: String(repeating: "a", count: 64), hash: "")
        let reference = ActionHash.sha256(bytes: Array(JSONWriter.canonical(entry.canonical()).utf8))
        #expect(
            AuditEntry.hash(
                seq: 42, atMillis: entry.atMillis, event: "vote", requestID: nil, actor: entry.actor, via: entry.via,
                canonicalDetails: JSONWriter.canonical(details), previous: entry.previousHash) == reference)
        #expect(entry.computedHash() == reference)
    }

    /// The verifier rebuilds each entry's hashed text from the stored bytes; it must match
    /// what the writer hashed even for text that needs escaping.
    @Test func entriesWithHostileTextVerifyIntact() throws {
        let f = try Fixture()
        let hostile = Identity(user: "al\"ice\\\n\u{7}\u{202E}日本", via: "ssh \"10.0.0.7\"\t\u{1B}[31m")
        let c = Classification(
            tier: .gated, operationClass: .delete, reasons: [Reason(rule: "t\"x", message: "m\n", tier: .gated)],
            destructive: true, irreversible: false, dataLoss: false)
        let stored = try f.store.submit(
            try f.request("echo \"\u{0}\u{1F}\\ é\u{2066}", agent: "a\"b\u{8}"), classification: c,
            approvals: ApprovalRules(), submitter: hostile, now: 10)
        _ = try f.store.decide(id: stored.id, verdict: .reject, reviewer: hostile, reason: "no \"way\"\r\n", now: 11)
        let report = try f.store.verifyAudit()
        #expect(report.intact, "\(report)")
        #expect(report.entries == (try f.store.auditEntries().count))
        #expect(report.checkpoints == 2)
    }

    @Test func anEditedCheckpointAndAWronglyTypedColumnAreDetected() throws {
        let f = try populated()
        try f.raw("UPDATE audit_checkpoints SET hash = (SELECT hash FROM audit WHERE seq = 1) WHERE seq = (SELECT min(seq) FROM audit_checkpoints WHERE seq > 1)")
        let checkpoint = try f.store.verifyAudit()
        #expect(checkpoint.problem?.contains("differs from its signed checkpoint") == true, "\(checkpoint)")
        let g = try populated()
        try g.raw("UPDATE audit SET at_ms = 'soon' WHERE seq = 3")
        let typed = try g.store.verifyAudit()
        #expect(typed.firstBadSeq == 3)
        #expect(typed.problem?.contains("edited") == true, "\(typed)")
    }

    /// The queue's directory is worked out on the path text (not `URL`): relative paths
    /// resolve against the working directory, `.` and `..` are followed.
    @Test func theQueueDirectoryIsTheAbsoluteParent() {
        let cwd = FileManager.default.currentDirectoryPath
        #expect(QueueStore.directory(of: "/var/lib/holdpoint/queue.sqlite") == "/var/lib/holdpoint")
        #expect(QueueStore.directory(of: "/queue.sqlite") == "/")
        #expect(QueueStore.directory(of: "/srv/./x/../hp//queue.sqlite") == "/srv/hp")
        #expect(QueueStore.directory(of: "queue.sqlite") == (cwd == "/" ? "/" : cwd))
        #expect(QueueStore.directory(of: "state/queue.sqlite") == (cwd == "/" ? "" : cwd) + "/state")
    }

    /// The signing key file is hex with a newline; whitespace an editor adds around it is
    /// tolerated, anything else (or nothing) is refused rather than replaced with a new key.
    @Test func theSigningKeyIsReadTolerantOfWhitespaceAndNothingElse() throws {
        let f = try Fixture()
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let keyPath = f.store.path + ".audit-key"
        let original = try String(contentsOfFile: keyPath, encoding: .utf8)
        let hex = original.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(hex.utf8.count == 64)
        let publicKey = f.store.signer.publicKeyHex

        try ("  \t" + hex + "\r\n\n").write(toFile: keyPath, atomically: false, encoding: .utf8)
        #expect(try QueueStore(path: f.store.path).signer.publicKeyHex == publicKey)

        for corrupt in ["", "\n", hex.dropLast(2) + "zz\n", hex + "0\n", "  " + hex.prefix(10) + " " + hex.dropFirst(10)] {
            try String(corrupt).write(toFile: keyPath, atomically: false, encoding: .utf8)
            #expect(throws: StoreError.self, "key file \(corrupt.debugDescription)") { _ = try QueueStore(path: f.store.path) }
        }
    }

    @Test func aNewerSchemaIsRefused() throws {
        let f = try Fixture()
        try f.raw("INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')")
        #expect {
            _ = try QueueStore(path: f.store.path)
        } throws: { error in
            (error as? StoreError)?.kind == .schemaTooNew
        }
    }
}

/// An acknowledged submit must survive a power cut. The connection commits without flushing
/// (`synchronous = NORMAL`, write-ahead log) and `GroupCommit` flushes the log before the write
/// returns; these tests hold its bookkeeping to that.
@Suite struct DurabilityTests {
    @Test func everyWriteIsFlushedBeforeItReturns() throws {
        let f = try Fixture()
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let modes = try f.store.database.read { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"))
        }
        #expect(modes.0 == "wal")
        #expect(modes.1 == 1)
        for n in 1...5 {
            _ = try f.gated()
            let counters = try #require(f.store.commitCounters)
            #expect(counters.committed == UInt64(n))
            #expect(counters.durable == counters.committed, "write \(n) returned before a flush covered it")
            #expect(counters.flushes == UInt64(n), "one process alone flushes every commit itself")
        }
    }

    /// The sync file is never flushed, so after a power cut it may hold anything: numbers from
    /// another boot must not let a commit skip its flush.
    @Test func numbersFromAnotherBootCountForNothing() throws {
        let f = try Fixture()
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let stale: [UInt64] = [0xDEAD_BEEF, 999_999, 0xDEAD_BEEF, 1_000_000, 42, 7]
        let fd = open(f.store.path + ".sync", O_RDWR)
        #expect(fd >= 0)
        _ = stale.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        close(fd)
        _ = try f.gated()
        let counters = try #require(f.store.commitCounters)
        #expect(counters.committed == 1)
        #expect(counters.durable == 1)
        #expect(counters.flushes == 1)
    }
}

/// The write-ahead log's life across short-lived processes (see `QueueStore.init`): no
/// checkpoint when a connection closes, and a log kept short by the writers themselves.
@Suite struct LogLifecycleTests {
    func logSize(_ queuePath: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: queuePath + "-wal"))?[.size] as? Int) ?? -1
    }

    /// Each store below is one process's connection, alone on the queue when it closes. A
    /// closing connection leaves its commits in the log for the next one (a hook would pay
    /// two disk flushes to copy them into the database), and the log still never grows
    /// far past its limit, because the writer that passes it empties it.
    @Test func shortLivedWritersLeaveTheLogAndKeepItShort() throws {
        let directory = try Scratch.directory("hp-log")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("queue.sqlite").path
        let limit = Int(QueueStore.checkpointLogBytes)
        var sizes: [Int] = []
        var ids: [String] = []
        for n in 0..<120 {
            var f: Fixture? = try Fixture(path: path)
            ids.append(try #require(f).gated(command: "rm -rf /srv/data/\(n)").id)
            let open = logSize(path)
            f = nil  // the connection closes
            let closed = logSize(path)
            #expect(closed == open, "closing changed the log from \(open) to \(closed) bytes")
            sizes.append(closed)
        }
        #expect(sizes.max() ?? 0 <= limit + 64 * 1024, "the log outgrew its limit: \(sizes.max() ?? 0) bytes")
        #expect(zip(sizes, sizes.dropFirst()).contains { $0 > $1 }, "the log was never emptied: \(sizes)")
        let reopened = try Fixture(path: path)
        #expect(try reopened.store.list(RequestFilter()).map(\.id).sorted() == ids.sorted())
        #expect(try reopened.store.verifyAudit().intact)
    }

    /// A reader using the log (a console refreshing, an audit verification) keeps it from
    /// being emptied. Writers must not wait for that reader: they skip the checkpoint and a
    /// later write, after the reader is gone, empties the log.
    @Test func aReaderDelaysTheCheckpointButNeverAWriter() throws {
        let f = try Fixture()
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let limit = Int(QueueStore.checkpointLogBytes)
        var holdsItsTransaction = Configuration()
        holdsItsTransaction.allowsUnsafeTransactions = true
        let reader = try DatabaseQueue(path: f.store.path, configuration: holdsItsTransaction)
        try reader.inDatabase { db in
            try db.execute(sql: "BEGIN")
            _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM requests")
        }
        var slowest = 0.0
        var n = 0
        while logSize(f.store.path) <= limit + 8 * 4096 {
            let start = Date()
            _ = try f.gated(command: "rm -rf /srv/data/\(n)")
            slowest = max(slowest, Date().timeIntervalSince(start))
            n += 1
            try #require(n < 2_000, "the log never grew past its limit")
        }
        #expect(slowest < 5, "a writer waited \(slowest) s for the reader")
        try reader.inDatabase { db in try db.execute(sql: "COMMIT") }
        _ = try f.gated(command: "rm -rf /srv/data/last")
        #expect(logSize(f.store.path) < limit, "the log was not emptied once the reader had gone")
        #expect(try f.store.list(RequestFilter()).count == n + 1)
    }
}

import Foundation
import HoldpointCore
import HoldpointStore
import HoldpointTestSupport
import Testing

@testable import HoldpointGate

/// The gate against a real queue file.
@Suite struct GateTests {
    let directory: URL
    let store: QueueStore
    let agent = Identity(user: "agent-runner", via: "local")
    let reviewer = Samples.alice

    init() throws {
        directory = try Scratch.directory("hp-gate")
        store = try QueueStore(path: directory.appendingPathComponent("queue.sqlite").path)
    }

    func request(_ command: String, agent: String = "bot") throws -> ActionRequest {
        try ActionRequest.shellCommand(command, environment: "production", agentID: agent, mode: .supervised)
    }

    func classification(_ tier: Tier) -> Classification {
        Classification(
            tier: tier, operationClass: tier == .autonomous ? .read : .delete, reasons: [Reason(rule: "t", message: "test", tier: tier)],
            destructive: false, irreversible: false, dataLoss: false)
    }

    var gate: Gate { Gate(store: store, identity: agent, consumer: "hook test") }

    @Test func allowedAndBlockedAreRecordedAndAnsweredAtOnce() throws {
        let allowed = try gate.admit(try request("ls"), classification: classification(.autonomous), approvals: ApprovalRules(), redactor: Redactor(), gateway: .none, hold: 10)
        #expect(allowed.mayRun)
        #expect(allowed.request.state == .allowed)
        let blocked = try gate.admit(try request("rm -rf /"), classification: classification(.blocked), approvals: ApprovalRules(), redactor: Redactor(), gateway: .none, hold: 10)
        #expect(!blocked.mayRun)
        #expect(blocked.request.state == .blocked)
        #expect(GateMessage.text(for: blocked).contains("blocked by policy"))
        #expect(try store.list().count == 2)
    }

    @Test func aGatedActionWaitsThenItsApprovalIsUsedOnceForThatActionOnly() throws {
        let rm = try request("rm -rf /srv/data")
        let first = try gate.admit(rm, classification: classification(.gated), approvals: ApprovalRules(), redactor: Redactor(), gateway: .none, hold: 0.05)
        guard case .pending(let pending) = first else {
            Issue.record("expected pending, got \(first)")
            return
        }
        #expect(GateMessage.text(for: first).contains("awaiting approval ID \(pending.id)"))
        // Retried before a decision: the same request, not a duplicate.
        let again = try gate.admit(rm, classification: classification(.gated), approvals: ApprovalRules(), redactor: Redactor(), gateway: .none, hold: 0)
        #expect(again.request.id == pending.id)

        _ = try store.decide(id: pending.id, verdict: .approve, reviewer: reviewer, reason: "go")
        // A different action gets no free pass.
        let other = try gate.admit(try request("rm -rf /srv/other"), classification: classification(.gated), approvals: ApprovalRules(), redactor: Redactor(), gateway: .none, hold: 0)
        #expect(!other.mayRun)
        #expect(other.request.id != pending.id)
        // Another agent's identical action neither.
        let otherAgent = try gate.admit(
            try request("rm -rf /srv/data", agent: "bot-2"), classification: classification(.gated), approvals: ApprovalRules(), redactor: Redactor(), gateway: .none, hold: 0)
        #expect(!otherAgent.mayRun)

        let retry = try gate.admit(rm, classification: classification(.gated), approvals: ApprovalRules(), redactor: Redactor(), gateway: .none, hold: 0)
        guard case .approved(let used) = retry else {
            Issue.record("expected the approval to be used, got \(retry)")
            return
        }
        #expect(used.id == pending.id)
        #expect(used.consumedBy == "hook test")
        // Used once: the next identical attempt needs a new approval.
        let third = try gate.admit(rm, classification: classification(.gated), approvals: ApprovalRules(), redactor: Redactor(), gateway: .none, hold: 0)
        #expect(!third.mayRun)
        #expect(third.request.id != pending.id)
    }

    @Test func aDecisionDuringTheHoldIsSeen() throws {
        let rm = try request("rm -rf /srv/held")
        let store = self.store
        let reviewer = self.reviewer
        // A reviewer on its own thread (the hold blocks this one, as it blocks a hook process).
        // It decides as soon as the held request is observable as pending (polled, bounded).
        let decider = Thread {
            for _ in 0..<500 {
                if let pending = try? store.list(RequestFilter(states: [.pending])).first {
                    _ = try? store.decide(id: pending.id, verdict: .reject, reviewer: reviewer, reason: "not on a Friday")
                    return
                }
                usleep(10_000)
            }
        }
        decider.start()
        let outcome = try gate.admit(rm, classification: classification(.gated), approvals: ApprovalRules(), redactor: Redactor(), gateway: .none, hold: 10)
        #expect(outcome.request.state == .rejected)
        #expect(GateMessage.text(for: outcome).contains("not on a Friday"))
    }

    @Test func aHaltedAgentCannotUseItsApproval() throws {
        let rm = try request("rm -rf /srv/data")
        let pending = try gate.admit(rm, classification: classification(.gated), approvals: ApprovalRules(), redactor: Redactor(), gateway: .none, hold: 0).request
        _ = try store.decide(id: pending.id, verdict: .approve, reviewer: reviewer, reason: "go")
        _ = try store.halt(agent: "bot", reason: "incident", by: reviewer)
        let outcome = try gate.admit(rm, classification: classification(.gated), approvals: ApprovalRules(), redactor: Redactor(), gateway: .none, hold: 0)
        #expect(!outcome.mayRun)
        #expect(outcome.request.state == .halted)
    }
}

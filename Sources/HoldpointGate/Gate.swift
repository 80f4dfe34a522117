import HoldpointCore
import HoldpointStore

/// The runtime boundary's one decision: may this exact action run now?
///
/// Shared by the agent hooks and `holdpoint exec`. Allowed and blocked actions are recorded
/// and answered at once. A gated action is held: an approved, unused request for the same
/// agent, environment and action hash is used (once); a pending one is waited on rather
/// than duplicated; otherwise the action is queued and waited on, up to `hold` seconds.
public struct Gate: Sendable {
    public let store: any QueueBackend
    /// The OS user the agent runs as (the submitter, for the self-approval rule).
    public let identity: Identity
    /// What uses approvals through this gate (`hook claude-code`, `exec`), as recorded.
    public let consumer: String

    public init(store: any QueueBackend, identity: Identity, consumer: String) {
        self.store = store
        self.identity = identity
        self.consumer = consumer
    }

    public enum Outcome: Sendable, Equatable {
        /// Autonomous or supervised: recorded, may run.
        case allowed(StoredRequest)
        /// Approved by reviewers; the approval was used now and cannot be used again.
        case approved(StoredRequest)
        /// Blocked by policy, rejected, expired or halted: must not run.
        case denied(StoredRequest)
        /// Still waiting for reviewers when the hold ran out.
        case pending(StoredRequest)
        /// The approval exists but could not be used (used already, changed, halted).
        case refused(StoredRequest, String)

        public var request: StoredRequest {
            switch self {
            case .allowed(let r), .approved(let r), .denied(let r), .pending(let r), .refused(let r, _): return r
            }
        }

        public var mayRun: Bool {
            switch self {
            case .allowed, .approved: return true
            default: return false
            }
        }
    }

    /// Decides `request` (classified as `classification`), holding a gated action up to `hold`
    /// seconds. `timeout` (seconds) shortens the request's own expiry (as `submit --timeout` does).
    public func admit(
        _ request: ActionRequest, classification: Classification, approvals: ApprovalRules, redactor: Redactor, gateway: GatewayRules,
        hold: Double, timeout: Double? = nil
    ) throws(StoreError) -> Outcome {
        switch try begin(request, classification: classification, approvals: approvals, redactor: redactor, gateway: gateway, timeout: timeout) {
        case .decided(let outcome):
            return outcome
        case .waiting(let pending):
            guard hold > 0 else { return .pending(pending) }
            guard let final = try store.waitForDecision(id: pending.id, giveUpAt: Clock.now() + hold) else {
                throw StoreError(.notFound, "request \(pending.id) disappeared from the queue while waiting")
            }
            return try conclude(final)
        }
    }

    /// The first half of `admit`: either the answer, or a pending request to wait on. The
    /// daemon waits between the halves without holding a thread (`HoldpointServer`).
    public enum Step: Sendable, Equatable {
        case decided(Outcome)
        case waiting(StoredRequest)
    }

    /// `request` is classified as it is (`classification`) and stored without its secrets
    /// (`redactor`); its hash stays the real action's. `gateway` holds the checks that count the queue (rate limits, first-time).
    public func begin(
        _ request: ActionRequest, classification: Classification, approvals: ApprovalRules, redactor: Redactor, gateway: GatewayRules,
        timeout: Double? = nil
    ) throws(StoreError) -> Step {
        let planKey = Plan.key(of: request)
        let request = request.redacted(by: redactor)
        if classification.tier == .gated, try store.halt(for: request.agentID) == nil,
            let existing = try store.reusable(agent: request.agentID, environment: request.environment, actionSHA256: request.actionSHA256)
        {
            if existing.state == .approved { return .decided(try use(existing)) }
            return .waiting(existing)
        }
        let stored = try store.submit(request, classification: classification, approvals: approvals, submitter: identity, timeout: timeout, gateway: gateway, planKey: planKey)
        switch stored.state {
        case .allowed: return .decided(.allowed(stored))
        case .pending: return .waiting(stored)
        default: return .decided(.denied(stored))
        }
    }

    /// The second half: what a waited-on request's state means for the action. An approval
    /// is used (once) here.
    public func conclude(_ final: StoredRequest) throws(StoreError) -> Outcome {
        switch final.state {
        case .pending: return .pending(final)
        case .approved: return try use(final)
        default: return .denied(final)
        }
    }

    private func use(_ approved: StoredRequest) throws(StoreError) -> Outcome {
        switch try store.consume(id: approved.id, actionSHA256: approved.actionSHA256, consumer: consumer, by: identity) {
        case .consumed(let used): return .approved(used)
        case .refused(let why): return .refused(approved, why)
        case .notFound: throw StoreError(.notFound, "request \(approved.id) disappeared from the queue")
        }
    }
}

/// What the agent (the model behind it) is told, worded so it can act on it.
public enum GateMessage {
    /// The same for a plan (Claude Code leaving plan mode): a refused plan is replanned.
    static func planText(for outcome: Gate.Outcome, now: Double) -> String {
        let r = outcome.request
        let steps = r.reasons.filter { $0.tier >= .gated }.prefix(3).map(\.message).joined(separator: "; ")
        switch outcome {
        case .allowed, .approved:
            return "holdpoint: plan \(r.id) holds. Each step is still checked when it runs; a step that needs a human waits for one, and an action that is in no step of this plan is OFF PLAN."
        case .pending:
            let deadline = r.expiresAt.map { " before \(Clock.iso8601($0))" } ?? ""
            return
                "holdpoint: plan awaiting approval ID \(r.id) (\(steps)); present the same plan again once approved. A human reviewer decides in `holdpoint review`\(deadline); without a decision it is denied. Do not start any step meanwhile."
        case .refused(_, let why):
            return "holdpoint: plan denied: \(why)"
        case .denied:
            switch r.state {
            case .blocked:
                return
                    "holdpoint: plan refused (\(steps)); request \(r.id). A step of it never runs here, with or without approval. Replan without that step (a smaller, reversible change), or ask the user to do it themselves."
            case .rejected:
                let vote = r.votes.last { $0.verdict == .reject }
                return
                    "holdpoint: plan rejected by \(vote?.reviewer ?? r.closedBy ?? "a reviewer"): \(vote?.reason ?? r.closedReason ?? ""); request \(r.id). Replan with the reviewer's objection in mind."
            case .expired:
                return "holdpoint: plan \(r.id) expired: no reviewer decided before the deadline, which is a denial. Ask the user before going on."
            case .halted:
                return "holdpoint: agent \(r.agentID) is halted (\(r.closedReason ?? "kill switch")); plan \(r.id) is refused. Stop and wait for a human."
            default:
                return "holdpoint: plan \(r.id) is \(r.state.rawValue); denied"
            }
        }
    }

    public static func text(for outcome: Gate.Outcome, now: Double = Clock.now()) -> String {
        let r = outcome.request
        if r.document["action"]?["operation"]?.stringValue == Plan.operation { return planText(for: outcome, now: now) }
        switch outcome {
        case .allowed:
            return "holdpoint: allowed (\(r.tier.rawValue); request \(r.id), recorded)"
        case .approved:
            let by = r.votes.filter { $0.verdict == .approve }.map(\.reviewer).joined(separator: ", ")
            return "holdpoint: approved by \(by)\(r.closedReason.map { $0.isEmpty ? "" : ": \($0)" } ?? ""); request \(r.id) (this approval is now used)"
        case .pending:
            let deadline = r.expiresAt.map { " before \(Clock.iso8601($0))" } ?? ""
            return
                "holdpoint: awaiting approval ID \(r.id); run the same action again once approved. A human reviewer decides in `holdpoint review`\(deadline); without a decision it is denied. Do not work around this check; meanwhile, continue with other work or explain to the user what you need."
        case .refused(_, let why):
            return "holdpoint: denied: \(why)"
        case .denied:
            switch r.state {
            case .blocked:
                let rules = r.reasons.filter { $0.tier == .blocked }.prefix(3).map { "\($0.rule): \($0.message)" }.joined(separator: "; ")
                return
                    "holdpoint: blocked by policy (\(rules)); request \(r.id). This action never runs here, with or without approval. Do not retry it or a variant of it; choose a smaller, reversible step, or ask the user to do this themselves."
            case .rejected:
                let vote = r.votes.last { $0.verdict == .reject }
                return
                    "holdpoint: rejected by \(vote?.reviewer ?? r.closedBy ?? "a reviewer"): \(vote?.reason ?? r.closedReason ?? ""); request \(r.id). Do not retry the same action; change the approach."
            case .expired:
                return "holdpoint: request \(r.id) expired: no reviewer decided before the deadline, which is a denial. Ask the user before trying again."
            case .halted:
                return "holdpoint: agent \(r.agentID) is halted (\(r.closedReason ?? "kill switch")); request \(r.id) is refused. Stop and wait for a human."
            default:
                return "holdpoint: request \(r.id) is \(r.state.rawValue); denied"
            }
        }
    }
}

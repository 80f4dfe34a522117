/// A gateway rate limit (`limits:` in the policy): at most `max` requests of `classes` by
/// one agent matching `agent` within `window` seconds, counted from the queue itself, so
/// every process and host that shares the queue counts against the same limit.
public struct RateLimit: Sendable, Equatable {
    /// What happens to the request that would go over.
    public enum Exceed: String, Sendable, CaseIterable {
        /// It waits for a human (the reason names the count and the window).
        case gated
        /// It never runs.
        case blocked
        /// The agent is halted (the kill switch) and the reviewers are told why.
        case halt
    }

    public var agent: Glob
    /// The classes counted together; nil: every class (`["*"]`).
    public var classes: Set<OperationClass>?
    public var max: Int
    public var window: Double
    public var onExceed: Exceed

    public init(agent: String = "*", classes: Set<OperationClass>? = nil, max: Int, window: Double, onExceed: Exceed = .gated) {
        self.agent = Glob(agent)
        self.classes = classes
        self.max = max
        self.window = window
        self.onExceed = onExceed
    }

    /// Whether this limit counts `agentID`'s requests of `operationClass`.
    public func applies(to agentID: String, _ operationClass: OperationClass) -> Bool {
        agent.matches(agentID) && (classes?.contains(operationClass) ?? true)
    }

    /// "3 delete requests" / "30 requests": what is counted, for reasons and `policy explain`.
    public var counted: String {
        guard let classes else { return "requests" }
        return classes.map(\.rawValue).sorted().joined(separator: "/") + " requests"
    }
}

/// A daily budget (`budgets:`): what one agent may declare in one environment per UTC day,
/// summed from the `impact` of its requests that ran, run or wait.
public struct Budget: Sendable, Equatable {
    public var costUSD: Double?
    public var resourcesAffected: Double?
    /// The tier of the request that would cross a cap: gated or blocked.
    public var onExceed: Tier

    public init(costUSD: Double? = nil, resourcesAffected: Double? = nil, onExceed: Tier = .gated) {
        self.costUSD = costUSD
        self.resourcesAffected = resourcesAffected
        self.onExceed = onExceed
    }
}

/// What an agent's approved plan means for its later actions (`plans:`; layer 1). An action
/// that matches a step of the agent's latest approved plan says so ("in approved plan P,
/// step 3 of 5"); one that matches none is OFF PLAN, which in production raises an action
/// that changes anything to `offPlan`.
public struct PlanRules: Sendable, Equatable {
    /// How long after its approval a plan counts (`plans.valid_for`, default 8h).
    public var validFor: Double
    /// The least tier of an off-plan action that is not a read, in production
    /// (`plans.off_plan`, default gated); nil: only flagged.
    public var offPlan: Tier?

    public init(validFor: Double = 8 * 3600, offPlan: Tier? = .gated) {
        self.validFor = validFor
        self.offPlan = offPlan
    }
}

/// How long decided history stays in the live queue (`retention:`). `holdpoint serve`
/// moves what is older into sealed archive segments that `audit verify` still walks, so the
/// queue's size is bounded by the window rather than by its history.
public struct RetentionRules: Sendable, Equatable {
    /// History older than this leaves the live queue (`retention.archive_after`). At least a
    /// day, and at least every window the gateway counts in (limits, budgets' day, plans,
    /// approvals): those counts read the live queue.
    public var archiveAfter: Double
    /// Where segments are written (`retention.directory`); nil: `<queue>.archive/` beside it.
    public var directory: String?
    /// How often the daemon looks for history to move (`retention.every`, default 1d: a
    /// segment a day).
    public var every: Double

    public init(archiveAfter: Double, directory: String? = nil, every: Double = 86_400) {
        self.archiveAfter = archiveAfter
        self.directory = directory
        self.every = every
    }

    /// The shortest `archive_after` that keeps every count the gateway makes intact.
    public static func shortestWindow(for policy: Policy) -> Double {
        ([86_400, policy.plans.validFor, policy.approvals.validFor] + policy.limits.map(\.window)).max() ?? 86_400
    }
}

/// The gateway checks that count the queue when a request is recorded (layer 3): they
/// need the queue's history, so the store applies them inside its write transaction.
public struct GatewayRules: Sendable {
    /// The policy's rate limits.
    public var limits: [RateLimit]
    /// An agent's first action of a class (other than read) in this environment gets at
    /// least this tier (`anomaly.first_time`); nil: no first-time check here.
    public var firstTime: Tier?
    /// The daily budget, if the policy sets one.
    public var budget: Budget?
    /// Plans: how long one holds, and the least tier of an off-plan action here (nil: off
    /// plan is only flagged here); nil: plans are not looked at.
    public var plans: PlanRules?

    public init(limits: [RateLimit] = [], firstTime: Tier? = nil, budget: Budget? = nil, plans: PlanRules? = nil) {
        self.limits = limits
        self.firstTime = firstTime
        self.budget = budget
        self.plans = plans
    }

    /// No gateway checks.
    public static let none = GatewayRules()
}

extension Policy {
    /// The gateway checks for a request in `environment`: the limits and plans everywhere,
    /// the first-time check and off-plan raising in production-like environments.
    public func gateway(for environment: String) -> GatewayRules {
        let production = isProduction(environment)
        return GatewayRules(
            limits: limits, firstTime: production ? firstTime : nil, budget: budget,
            plans: PlanRules(validFor: plans.validFor, offPlan: production ? plans.offPlan : nil))
    }
}

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

    public init(limits: [RateLimit] = [], firstTime: Tier? = nil, budget: Budget? = nil) {
        self.limits = limits
        self.firstTime = firstTime
        self.budget = budget
    }

    /// No gateway checks.
    public static let none = GatewayRules()
}

extension Policy {
    /// The gateway checks for a request in `environment`: the limits everywhere, the
    /// first-time check in production-like environments.
    public func gateway(for environment: String) -> GatewayRules {
        GatewayRules(limits: limits, firstTime: isProduction(environment) ? firstTime : nil, budget: budget)
    }
}

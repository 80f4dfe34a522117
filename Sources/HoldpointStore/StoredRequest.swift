import HoldpointCore

/// A request as the queue holds it: the agent's document, the verdict, and its state.
public struct StoredRequest: Sendable, Equatable {
    public var id: String
    public var createdAt: Double
    public var agentID: String
    public var environment: String
    /// The OS user whose process submitted it (self-approval is checked against this).
    public var submittedBy: String
    public var onBehalfOf: String?
    public var tier: Tier
    public var operationClass: OperationClass
    public var state: RequestState
    public var expiresAt: Double?
    public var actionSHA256: String
    public var reasons: [Reason]
    public var destructive: Bool
    public var irreversible: Bool
    public var dataLoss: Bool
    /// The approval rules in force when it was submitted; decisions follow these.
    public var approvalRules: ApprovalRules
    public var document: JSONValue
    public var votes: [Vote]
    /// Who or what ended it (a reviewer, `expiry`, the halting user) and when, with why.
    public var closedBy: String?
    public var closedVia: String?
    public var closedAt: Double?
    public var closedReason: String?
    /// When an executor used the approval (an approval is for one use), and which one.
    public var consumedAt: Double?
    public var consumedBy: String?
    /// What happened when `holdpoint exec` ran the action.
    public var run: RunRecord?

    public init(id: String, createdAt: Double, agentID: String, environment: String, submittedBy: String, onBehalfOf: String?, tier: Tier,
                operationClass: OperationClass, state: RequestState, expiresAt: Double?, actionSHA256: String, reasons: [Reason],
                destructive: Bool, irreversible: Bool, dataLoss: Bool, approvalRules: ApprovalRules, document: JSONValue, votes: [Vote],
                closedBy: String? = nil, closedVia: String? = nil, closedAt: Double? = nil, closedReason: String? = nil, consumedAt: Double? = nil,
                consumedBy: String? = nil, run: RunRecord? = nil) {
        self.id = id
        self.createdAt = createdAt
        self.agentID = agentID
        self.environment = environment
        self.submittedBy = submittedBy
        self.onBehalfOf = onBehalfOf
        self.tier = tier
        self.operationClass = operationClass
        self.state = state
        self.expiresAt = expiresAt
        self.actionSHA256 = actionSHA256
        self.reasons = reasons
        self.destructive = destructive
        self.irreversible = irreversible
        self.dataLoss = dataLoss
        self.approvalRules = approvalRules
        self.document = document
        self.votes = votes
        self.closedBy = closedBy
        self.closedVia = closedVia
        self.closedAt = closedAt
        self.closedReason = closedReason
        self.consumedAt = consumedAt
        self.consumedBy = consumedBy
        self.run = run
    }

    public var requiredApprovals: Int { tier == .gated ? approvalRules.required : 0 }

    /// An approval that was not used within the policy's `valid_for` window: it can no
    /// longer be used, and the action must be asked for again.
    public func approvalIsStale(now: Double) -> Bool {
        state == .approved && consumedAt == nil && now > (closedAt ?? createdAt) + approvalRules.validFor
    }
}

/// One execution of an action by `holdpoint exec`: the child's pid, when it ran and how it ended.
public struct RunRecord: Sendable, Equatable {
    public var pid: Int32
    public var startedAt: Double
    public var finishedAt: Double?
    /// The child's exit status when it exited normally.
    public var exitCode: Int32?
    /// The signal that ended it, when one did.
    public var signal: Int32?

    public init(pid: Int32, startedAt: Double, finishedAt: Double? = nil, exitCode: Int32? = nil, signal: Int32? = nil) {
        self.pid = pid
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.exitCode = exitCode
        self.signal = signal
    }

    public var duration: Double? { finishedAt.map { $0 - startedAt } }
}

/// What `consume` did with an approval.
public enum ConsumeResult: Sendable, Equatable {
    /// The approval was used now, by this caller; it cannot be used again.
    case consumed(StoredRequest)
    /// It cannot be used: not approved, already used, or for a different action (the text says which).
    case refused(String)
    case notFound
}

/// What `decide` did.
public enum DecideResult: Sendable, Equatable {
    /// The vote was counted; `request.state` tells whether it decided the request.
    case recorded(StoredRequest)
    /// Someone or something got there first: the request is no longer pending.
    case notPending(StoredRequest)
    /// The reviewer may not vote on it (self-approval, not a reviewer, no reason, voted already).
    case refused(VoteRefusal, StoredRequest)
    case notFound
}

/// Filters for `list`.
public struct RequestFilter: Sendable {
    public var states: Set<RequestState> = []
    public var tiers: Set<Tier> = []
    public var agent: String?
    public var limit: Int?
    /// A page, oldest first: at most `first` requests after `after` (a request's creation
    /// time and id). For reading a long list without holding all of it (`list`).
    public var first: Int?
    public var after: (createdAt: Double, id: String)?

    public init(states: Set<RequestState> = [], tiers: Set<Tier> = [], agent: String? = nil, limit: Int? = nil,
                first: Int? = nil, after: (createdAt: Double, id: String)? = nil) {
        self.states = states
        self.tiers = tiers
        self.agent = agent
        self.limit = limit
        self.first = first
        self.after = after
    }
}

/// Why the queue could not be used. Every one of these ends in *deny* for an agent.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// `notPermitted`: the daemon refused the caller (not a reviewer, not the submitter);
    /// `usage`: the call itself is wrong (the daemon does not know the method or a field).
    public enum Kind: String, Sendable { case unavailable, schemaTooNew, badInput, notFound, notPermitted, usage }
    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

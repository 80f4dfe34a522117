/// A request as the queue holds it: the agent's document, the verdict, and its state.
///
/// A value with many fields, held in one shared box (copy on write): the console and `list`
/// pass thousands of these around, and a copy costs one reference count instead of one per
/// field. The properties below read and write the box; `Fields` is all of them at once.
public struct StoredRequest: Sendable, Equatable {
    /// Everything a stored request holds.
    public struct Fields: Sendable, Equatable {
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

        init(
            id: String, createdAt: Double, agentID: String, environment: String, submittedBy: String, onBehalfOf: String?, tier: Tier,
            operationClass: OperationClass, state: RequestState, expiresAt: Double?, actionSHA256: String, reasons: [Reason],
            destructive: Bool, irreversible: Bool, dataLoss: Bool, approvalRules: ApprovalRules, document: JSONValue, votes: [Vote],
            closedBy: String? = nil, closedVia: String? = nil, closedAt: Double? = nil, closedReason: String? = nil, consumedAt: Double? = nil,
            consumedBy: String? = nil, run: RunRecord? = nil
        ) {
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
    }

    private final class Box: @unchecked Sendable {
        // Written only through the setters below, and only while this is the one
        // reference to it (`unique()`); a shared box is copied first.
        var fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var box: Box

    /// All the fields at once (one read of the box).
    public var fields: Fields { box.fields }

    /// Makes the box this value's own before a write.
    private mutating func unique() {
        if !isKnownUniquelyReferenced(&box) { box = Box(box.fields) }
    }

    public var id: String {
        get { box.fields.id }
        set {
            unique()
            box.fields.id = newValue
        }
    }

    public var createdAt: Double {
        get { box.fields.createdAt }
        set {
            unique()
            box.fields.createdAt = newValue
        }
    }

    public var agentID: String {
        get { box.fields.agentID }
        set {
            unique()
            box.fields.agentID = newValue
        }
    }

    public var environment: String {
        get { box.fields.environment }
        set {
            unique()
            box.fields.environment = newValue
        }
    }

    /// The OS user whose process submitted it (self-approval is checked against this).
    public var submittedBy: String {
        get { box.fields.submittedBy }
        set {
            unique()
            box.fields.submittedBy = newValue
        }
    }

    public var onBehalfOf: String? {
        get { box.fields.onBehalfOf }
        set {
            unique()
            box.fields.onBehalfOf = newValue
        }
    }

    public var tier: Tier {
        get { box.fields.tier }
        set {
            unique()
            box.fields.tier = newValue
        }
    }

    public var operationClass: OperationClass {
        get { box.fields.operationClass }
        set {
            unique()
            box.fields.operationClass = newValue
        }
    }

    public var state: RequestState {
        get { box.fields.state }
        set {
            unique()
            box.fields.state = newValue
        }
    }

    public var expiresAt: Double? {
        get { box.fields.expiresAt }
        set {
            unique()
            box.fields.expiresAt = newValue
        }
    }

    public var actionSHA256: String {
        get { box.fields.actionSHA256 }
        set {
            unique()
            box.fields.actionSHA256 = newValue
        }
    }

    public var reasons: [Reason] {
        get { box.fields.reasons }
        set {
            unique()
            box.fields.reasons = newValue
        }
    }

    public var destructive: Bool {
        get { box.fields.destructive }
        set {
            unique()
            box.fields.destructive = newValue
        }
    }

    public var irreversible: Bool {
        get { box.fields.irreversible }
        set {
            unique()
            box.fields.irreversible = newValue
        }
    }

    public var dataLoss: Bool {
        get { box.fields.dataLoss }
        set {
            unique()
            box.fields.dataLoss = newValue
        }
    }

    /// The approval rules in force when it was submitted; decisions follow these.
    public var approvalRules: ApprovalRules {
        get { box.fields.approvalRules }
        set {
            unique()
            box.fields.approvalRules = newValue
        }
    }

    public var document: JSONValue {
        get { box.fields.document }
        set {
            unique()
            box.fields.document = newValue
        }
    }

    public var votes: [Vote] {
        get { box.fields.votes }
        set {
            unique()
            box.fields.votes = newValue
        }
    }

    /// Who or what ended it (a reviewer, `expiry`, the halting user) and when, with why.
    public var closedBy: String? {
        get { box.fields.closedBy }
        set {
            unique()
            box.fields.closedBy = newValue
        }
    }

    public var closedVia: String? {
        get { box.fields.closedVia }
        set {
            unique()
            box.fields.closedVia = newValue
        }
    }

    public var closedAt: Double? {
        get { box.fields.closedAt }
        set {
            unique()
            box.fields.closedAt = newValue
        }
    }

    public var closedReason: String? {
        get { box.fields.closedReason }
        set {
            unique()
            box.fields.closedReason = newValue
        }
    }

    /// When an executor used the approval (an approval is for one use), and which one.
    public var consumedAt: Double? {
        get { box.fields.consumedAt }
        set {
            unique()
            box.fields.consumedAt = newValue
        }
    }

    public var consumedBy: String? {
        get { box.fields.consumedBy }
        set {
            unique()
            box.fields.consumedBy = newValue
        }
    }

    /// What happened when `holdpoint exec` ran the action.
    public var run: RunRecord? {
        get { box.fields.run }
        set {
            unique()
            box.fields.run = newValue
        }
    }

    public static func == (lhs: StoredRequest, rhs: StoredRequest) -> Bool {
        lhs.box === rhs.box || lhs.box.fields == rhs.box.fields
    }

    public init(
        id: String, createdAt: Double, agentID: String, environment: String, submittedBy: String, onBehalfOf: String?, tier: Tier,
        operationClass: OperationClass, state: RequestState, expiresAt: Double?, actionSHA256: String, reasons: [Reason],
        destructive: Bool, irreversible: Bool, dataLoss: Bool, approvalRules: ApprovalRules, document: JSONValue, votes: [Vote],
        closedBy: String? = nil, closedVia: String? = nil, closedAt: Double? = nil, closedReason: String? = nil, consumedAt: Double? = nil,
        consumedBy: String? = nil, run: RunRecord? = nil
    ) {
        box = Box(
            Fields(
                id: id, createdAt: createdAt, agentID: agentID, environment: environment, submittedBy: submittedBy, onBehalfOf: onBehalfOf, tier: tier, operationClass: operationClass, state: state,
                expiresAt: expiresAt, actionSHA256: actionSHA256, reasons: reasons, destructive: destructive, irreversible: irreversible, dataLoss: dataLoss, approvalRules: approvalRules,
                document: document, votes: votes, closedBy: closedBy, closedVia: closedVia, closedAt: closedAt, closedReason: closedReason, consumedAt: consumedAt, consumedBy: consumedBy, run: run))
    }

    public var requiredApprovals: Int { tier == .gated ? approvalRules.required : 0 }

    /// Pending past its rules' `escalate_after` share of its window: nobody has decided
    /// in time, and the escalation sinks have been (or are being) paged.
    public func isEscalated(now: Double) -> Bool {
        guard state == .pending, let share = approvalRules.escalateAfter, let expiresAt else { return false }
        return now >= createdAt + (expiresAt - createdAt) * share
    }

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

    public init(
        states: Set<RequestState> = [], tiers: Set<Tier> = [], agent: String? = nil, limit: Int? = nil,
        first: Int? = nil, after: (createdAt: Double, id: String)? = nil
    ) {
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
    /// `usage`: the call itself is wrong (the daemon does not know the method or a field);
    /// `configuration`: how the queue is named or reached is wrong (a bad queue URL).
    public enum Kind: String, Sendable { case unavailable, schemaTooNew, badInput, notFound, notPermitted, usage, configuration }
    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

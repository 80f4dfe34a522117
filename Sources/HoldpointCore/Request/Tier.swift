/// How much scrutiny an action gets, from least to most. Ordered: the most
/// restrictive verdict of all the rules that fire is the one that counts.
public enum Tier: String, Sendable, CaseIterable, Comparable, Codable {
    /// Read-only: runs on its own, recorded.
    case autonomous
    /// A reversible write: runs, logged and spot-checked afterwards.
    case supervised
    /// Destructive, irreversible or high-cost: waits for a named human, always.
    case gated
    /// Never runs. Recorded and shown to reviewers for awareness.
    case blocked

    private var rank: Int {
        switch self {
        case .autonomous: return 0
        case .supervised: return 1
        case .gated: return 2
        case .blocked: return 3
        }
    }

    public static func < (lhs: Tier, rhs: Tier) -> Bool { lhs.rank < rhs.rank }
}

/// The kind of change an action makes. Environment rules and tier tables speak
/// in these classes, so that `cloudformation:DeleteStack`, `kubectl delete ns x`
/// and `DROP TABLE t` all meet the same rule for deletes.
public enum OperationClass: String, Sendable, CaseIterable, Codable {
    case read
    case minorUpdate = "minor_update"
    case patch
    case create
    case delete
    case iam
    case bulkModify = "bulk_modify"
    case createEnvironment = "create_environment"
    case deleteEnvironment = "delete_environment"
    /// Holdpoint could not tell what the action does. Treated as a write.
    case unknown

    /// Severity order, used only to pick which class to name when an action does several things.
    public var severity: Int {
        switch self {
        case .read: return 0
        case .minorUpdate: return 1
        case .patch: return 2
        case .create: return 3
        case .unknown: return 4
        case .bulkModify: return 5
        case .delete: return 6
        case .iam: return 7
        case .createEnvironment: return 8
        case .deleteEnvironment: return 9
        }
    }

    public var isWrite: Bool { self != .read }
}

/// How much latitude the agent was given by whoever runs it. The reference design's
/// permission table treats the two differently; `autonomous` is the stricter default.
public enum AgentMode: String, Sendable, CaseIterable, Codable {
    case supervised
    case autonomous
}

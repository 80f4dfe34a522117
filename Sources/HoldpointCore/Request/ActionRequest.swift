/// The kind of thing an agent wants to do.
public enum ActionKind: String, Sendable, CaseIterable, Codable {
    case shell, api, sql, mcp, file, other
}

/// What the agent says about the consequences of its action. Every field is optional:
/// agents often leave them out, and the console flags what is missing.
public struct Impact: Sendable, Equatable {
    public var resourcesAffected: Double?
    public var costUSD: Double?
    public var downtimeMinutes: Double?
    public var reversible: Bool?
    public var dataLoss: Bool?

    public init(resourcesAffected: Double? = nil, costUSD: Double? = nil, downtimeMinutes: Double? = nil, reversible: Bool? = nil, dataLoss: Bool? = nil) {
        self.resourcesAffected = resourcesAffected
        self.costUSD = costUSD
        self.downtimeMinutes = downtimeMinutes
        self.reversible = reversible
        self.dataLoss = dataLoss
    }
}

public struct Alternative: Sendable, Equatable {
    public var action: String
    public var rejectedBecause: String?
}

public struct Rollback: Sendable, Equatable {
    public var plan: String?
    public var tested: Bool?
}

/// A `holdpoint.action/v1` request, decoded and validated.
///
/// The typed fields are what Holdpoint reasons about; `document` is the request as it
/// arrived, unknown fields included, which is what gets stored and shown as Raw.
public struct ActionRequest: Sendable, Equatable {
    public static let schemaName = "holdpoint.action/v1"
    /// A document larger than this is refused whole, never truncated.
    public static let maximumSize = 1 << 20

    public var agentID: String
    public var agentName: String?
    public var agentMode: AgentMode
    public var session: String?
    public var onBehalfOf: String?
    public var environment: String
    public var kind: ActionKind
    public var operation: String?
    public var command: String?
    public var targets: [String]
    /// The directory the action runs in (`action.cwd`): relative paths mean something only
    /// with it, so it is part of what an approval covers.
    public var workingDirectory: String?
    /// Text the action writes into a file (`action.content`), for file actions.
    public var content: String?
    public var summary: String?
    public var reasoning: [String]
    public var impact: Impact
    public var alternatives: [Alternative]
    public var rollback: Rollback?
    public var confidence: Double?
    /// The whole document as received.
    public var document: JSONValue
    /// For a plan (`action.operation` "holdpoint:plan"): its steps, each a request.
    public var plan: [PlanStep]? = nil

    /// The `action` object exactly as received; what `action_sha256` covers.
    public var actionObject: JSONValue { document["action"] ?? .object([]) }

    /// SHA-256 of the canonical `action` object: what an approval is bound to. For a
    /// redacted request, the hash of the real action it was redacted from.
    public var actionSHA256: String { realActionSHA256 ?? ActionHash.sha256(of: actionObject) }
    /// Set by `redacted(by:)`: the document no longer holds the real action.
    var realActionSHA256: String?

    /// A one-line statement of the action, for lists and messages.
    public var whatText: String { ActionText.what(actionObject) }
}

/// A request that cannot be accepted, naming the field at fault.
public struct RequestError: Error, Sendable, Equatable, CustomStringConvertible {
    public let field: String?
    public let message: String

    public init(field: String?, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String {
        guard let field else { return message }
        return "\(field): \(message)"
    }
}

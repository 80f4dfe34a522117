/// One entry of the audit log: what happened, to which request, by whom, when, and its
/// place in the hash chain (`previousHash`, `hash`).
public struct AuditEntry: Sendable, Equatable {
    public var seq: Int64
    public var atMillis: Int64
    public var event: String
    public var requestID: String?
    public var actor: String
    public var via: String
    public var details: JSONValue
    public var previousHash: String
    public var hash: String

    public init(
        seq: Int64, atMillis: Int64, event: String, requestID: String?, actor: String, via: String,
        details: JSONValue, previousHash: String, hash: String
    ) {
        self.seq = seq
        self.atMillis = atMillis
        self.event = event
        self.requestID = requestID
        self.actor = actor
        self.via = via
        self.details = details
        self.previousHash = previousHash
        self.hash = hash
    }

    public var json: JSONValue {
        .object([
            ("seq", .number(Double(seq))), ("at", .string(Clock.iso8601(Double(atMillis) / 1000))), ("at_ms", .number(Double(atMillis))),
            ("event", .string(event)), ("request_id", requestID.map(JSONValue.string) ?? .null), ("actor", .string(actor)),
            ("via", .string(via)), ("details", details), ("prev_hash", .string(previousHash)), ("hash", .string(hash)),
        ])
    }
}

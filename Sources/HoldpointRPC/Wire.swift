import HoldpointCore
import HoldpointGate
import HoldpointStore

/// `holdpoint.rpc/v1`: how clients talk to `holdpoint serve` over its Unix socket.
///
/// Newline-delimited JSON: every frame is one compact JSON object on one line (JSON strings
/// escape their newlines, so a frame never contains a raw one). A client sends
///
///     {"rpc":"holdpoint.rpc/v1","id":1,"method":"submit","params":{…},"claimed_origin":"ssh 10.0.0.7"}
///
/// and the daemon answers each request, in order, with
///
///     {"id":1,"result":…}        or        {"id":1,"error":{"kind":"not_permitted","message":"…"}}
///
/// A connection that sent `subscribe` receives `{"event":"changed","seq":N}` whenever
/// anything is committed, and sends nothing more. Frames over `maximumFrame` bytes, bytes
/// that are not JSON, and a frame left half-sent for `frameDeadline` seconds close the
/// connection (after an error frame where one can still be sent). docs/serve.md has the
/// methods and their parameters.
public enum Wire {
    public static let version = "holdpoint.rpc/v1"
    /// The largest frame either side accepts from a client: a request document is at most
    /// 1 MiB, and escaping can grow it.
    public static let maximumFrame = 4 << 20
    /// The largest answer a client reads (a `list` of a large queue).
    public static let maximumAnswer = 1 << 30
    /// Seconds a client may take to finish a frame it has started.
    public static let frameDeadline: Double = 10

    /// The methods, as sent on the wire.
    public enum Method: String, Sendable, CaseIterable {
        case hello, classify, submit, wait, admit, consume, request, list, decide, halt, resume, halts
        case haltFor = "halt_for", established, startRun = "start_run", finishRun = "finish_run"
        case auditEntries = "audit_entries", auditVerify = "audit_verify", changeCounter = "change_counter", subscribe
        case notifyStatus = "notify_status"
    }

    /// An error as sent: its kind (`StoreError.Kind`'s raw value in snake case) and message.
    public static func errorJSON(_ error: StoreError) -> JSONValue {
        .object([("kind", .string(kindName(error.kind))), ("message", .string(error.message))])
    }

    public static func error(from value: JSONValue) -> StoreError {
        let kind = value["kind"]?.stringValue.flatMap { name in StoreError.Kind.allCases.first { kindName($0) == name } } ?? .unavailable
        return StoreError(kind, value["message"]?.stringValue ?? "the daemon refused the call")
    }

    static func kindName(_ kind: StoreError.Kind) -> String {
        switch kind {
        case .unavailable: return "unavailable"
        case .schemaTooNew: return "schema_too_new"
        case .badInput: return "bad_input"
        case .notFound: return "not_found"
        case .notPermitted: return "not_permitted"
        case .usage: return "usage"
        case .configuration: return "configuration"
        }
    }

    // MARK: - Values

    public static func identity(_ i: Identity) -> JSONValue {
        .object([("user", .string(i.user)), ("via", .string(i.via)), ("groups", .array(i.groups.map(JSONValue.string)))])
    }

    public static func identity(from v: JSONValue) -> Identity? {
        guard let user = v["user"]?.stringValue, let via = v["via"]?.stringValue else { return nil }
        return Identity(user: user, via: via, groups: v["groups"]?.arrayValue?.compactMap(\.stringValue) ?? [])
    }

    public static func classification(_ c: Classification, requiredApprovals: Int) -> JSONValue {
        .object([
            ("tier", .string(c.tier.rawValue)), ("operation_class", .string(c.operationClass.rawValue)),
            ("reasons", .array(c.reasons.map { .object([("rule", .string($0.rule)), ("message", .string($0.message)), ("tier", .string($0.tier.rawValue))]) })),
            ("destructive", .bool(c.destructive)), ("irreversible", .bool(c.irreversible)), ("data_loss", .bool(c.dataLoss)),
            ("required_approvals", .number(Double(requiredApprovals))),
        ])
    }

    public static func classification(from v: JSONValue) -> (Classification, requiredApprovals: Int)? {
        guard let tier = v["tier"]?.stringValue.flatMap(Tier.init(rawValue:)),
            let opClass = v["operation_class"]?.stringValue.flatMap(OperationClass.init(rawValue:)),
            let reasons = v["reasons"]?.arrayValue
        else { return nil }
        let parsed = reasons.map { r in
            Reason(rule: r["rule"]?.stringValue ?? "?", message: r["message"]?.stringValue ?? "", tier: Tier(rawValue: r["tier"]?.stringValue ?? "") ?? .gated)
        }
        return (
            Classification(
                tier: tier, operationClass: opClass, reasons: parsed, destructive: v["destructive"]?.boolValue ?? false,
                irreversible: v["irreversible"]?.boolValue ?? false, dataLoss: v["data_loss"]?.boolValue ?? false),
            Int(v["required_approvals"]?.numberValue ?? 0)
        )
    }

    public static func decideResult(_ r: DecideResult) -> JSONValue {
        switch r {
        case .recorded(let s): return .object([("outcome", .string("recorded")), ("request", s.wireJSON)])
        case .notPending(let s): return .object([("outcome", .string("not_pending")), ("request", s.wireJSON)])
        case .refused(let refusal, let s):
            let (kind, who): (String, String) =
                switch refusal {
                case .selfApproval(let w): ("self_approval", w)
                case .notAReviewer(let w): ("not_a_reviewer", w)
                case .alreadyVoted(let w): ("already_voted", w)
                case .reasonRequired: ("reason_required", "")
                }
            return .object([("outcome", .string("refused")), ("refusal", .string(kind)), ("who", .string(who)), ("request", s.wireJSON)])
        case .notFound: return .object([("outcome", .string("not_found"))])
        }
    }

    public static func decideResult(from v: JSONValue) -> DecideResult? {
        let request = v["request"].flatMap(StoredRequest.init(wireJSON:))
        switch v["outcome"]?.stringValue {
        case "recorded": return request.map(DecideResult.recorded)
        case "not_pending": return request.map(DecideResult.notPending)
        case "not_found": return .notFound
        case "refused":
            guard let request else { return nil }
            let who = v["who"]?.stringValue ?? ""
            let refusal: VoteRefusal? =
                switch v["refusal"]?.stringValue {
                case "self_approval": .selfApproval(who)
                case "not_a_reviewer": .notAReviewer(who)
                case "already_voted": .alreadyVoted(who)
                case "reason_required": .reasonRequired
                default: nil
                }
            return refusal.map { .refused($0, request) }
        default: return nil
        }
    }

    public static func consumeResult(_ r: ConsumeResult) -> JSONValue {
        switch r {
        case .consumed(let s): return .object([("outcome", .string("consumed")), ("request", s.wireJSON)])
        case .refused(let why): return .object([("outcome", .string("refused")), ("why", .string(why))])
        case .notFound: return .object([("outcome", .string("not_found"))])
        }
    }

    public static func consumeResult(from v: JSONValue) -> ConsumeResult? {
        switch v["outcome"]?.stringValue {
        case "consumed": return v["request"].flatMap(StoredRequest.init(wireJSON:)).map(ConsumeResult.consumed)
        case "refused": return .refused(v["why"]?.stringValue ?? "refused")
        case "not_found": return .notFound
        default: return nil
        }
    }

    public static func outcome(_ o: Gate.Outcome) -> JSONValue {
        let name: String
        var members: [(key: String, value: JSONValue)] = []
        switch o {
        case .allowed: name = "allowed"
        case .approved: name = "approved"
        case .denied: name = "denied"
        case .pending: name = "pending"
        case .refused(_, let why):
            name = "refused"
            members.append(("why", .string(why)))
        }
        return .object([("outcome", .string(name)), ("request", o.request.wireJSON)] + members)
    }

    public static func outcome(from v: JSONValue) -> Gate.Outcome? {
        guard let request = v["request"].flatMap(StoredRequest.init(wireJSON:)) else { return nil }
        switch v["outcome"]?.stringValue {
        case "allowed": return .allowed(request)
        case "approved": return .approved(request)
        case "denied": return .denied(request)
        case "pending": return .pending(request)
        case "refused": return .refused(request, v["why"]?.stringValue ?? "refused")
        default: return nil
        }
    }

    public static func halt(_ h: QueueStore.Halt) -> JSONValue {
        .object([("agent", .string(h.agent)), ("reason", .string(h.reason)), ("by", .string(h.by)), ("at", .number(h.at))])
    }

    public static func halt(from v: JSONValue) -> QueueStore.Halt? {
        guard let agent = v["agent"]?.stringValue, let reason = v["reason"]?.stringValue, let by = v["by"]?.stringValue,
            let at = v["at"]?.numberValue
        else { return nil }
        return QueueStore.Halt(agent: agent, reason: reason, by: by, at: at)
    }

    public static func filter(_ f: RequestFilter) -> JSONValue {
        .object([
            ("states", .array(f.states.map { .string($0.rawValue) }.sorted { $0.stringValue ?? "" < $1.stringValue ?? "" })),
            ("tiers", .array(f.tiers.map { .string($0.rawValue) }.sorted { $0.stringValue ?? "" < $1.stringValue ?? "" })),
            ("agent", f.agent.map(JSONValue.string) ?? .null), ("limit", f.limit.map { .number(Double($0)) } ?? .null),
            ("first", f.first.map { .number(Double($0)) } ?? .null),
            ("after", f.after.map { .object([("created_at", .number($0.createdAt)), ("id", .string($0.id))]) } ?? .null),
        ])
    }

    public static func filter(from v: JSONValue) -> RequestFilter? {
        var f = RequestFilter()
        for s in v["states"]?.arrayValue ?? [] {
            guard let state = s.stringValue.flatMap(RequestState.init(rawValue:)) else { return nil }
            f.states.insert(state)
        }
        for t in v["tiers"]?.arrayValue ?? [] {
            guard let tier = t.stringValue.flatMap(Tier.init(rawValue:)) else { return nil }
            f.tiers.insert(tier)
        }
        f.agent = v["agent"]?.stringValue
        f.limit = v["limit"]?.numberValue.flatMap { $0.isFinite && abs($0) < 1e9 ? Int($0) : nil }
        f.first = v["first"]?.numberValue.flatMap { $0.isFinite && abs($0) < 1e9 ? Int($0) : nil }
        if let after = v["after"], after != .null {
            guard let at = after["created_at"]?.numberValue, let id = after["id"]?.stringValue else { return nil }
            f.after = (at, id)
        }
        return f
    }

    public static func report(_ r: AuditReport, publicKeyHex: String) -> JSONValue {
        .object([
            ("entries", .number(Double(r.entries))), ("checkpoints", .number(Double(r.checkpoints))),
            ("first_bad_seq", r.firstBadSeq.map { .number(Double($0)) } ?? .null), ("problem", r.problem.map(JSONValue.string) ?? .null),
            ("public_key", .string(publicKeyHex)), ("verified_through", r.verifiedThrough.map(point) ?? .null),
            ("resumed_after", r.resumedAfter.map { .number(Double($0)) } ?? .null),
        ])
    }

    public static func report(from v: JSONValue) -> (AuditReport, publicKeyHex: String)? {
        guard let entries = v["entries"]?.numberValue, let checkpoints = v["checkpoints"]?.numberValue,
            let key = v["public_key"]?.stringValue
        else { return nil }
        return (
            AuditReport(
                entries: Int(entries), checkpoints: Int(checkpoints), firstBadSeq: v["first_bad_seq"]?.numberValue.map { Int64($0) },
                problem: v["problem"]?.stringValue, verifiedThrough: v["verified_through"].flatMap(point(from:)),
                resumedAfter: v["resumed_after"]?.numberValue.map { Int64($0) }), key
        )
    }

    public static func notifyState(_ state: NotifyState) -> JSONValue {
        .object([
            ("head", .number(Double(state.head))),
            ("sinks", .array(state.sinks.map { .object([("name", .string($0.name)), ("events", .array($0.events.map(JSONValue.string)))]) })),
            (
                "cursors",
                .array(
                    state.cursors.map { c in
                        .object([
                            ("sink", .string(c.sink)), ("delivered_seq", .number(Double(c.deliveredSeq))), ("delivered", .number(Double(c.delivered))),
                            ("failures", .number(Double(c.failures))), ("last_error", c.lastError.map(JSONValue.string) ?? .null),
                            ("last_attempt", c.lastAttempt.map(JSONValue.number) ?? .null), ("last_success", c.lastSuccess.map(JSONValue.number) ?? .null),
                            ("next_attempt", .number(c.nextAttempt)),
                        ])
                    })
            ),
        ])
    }

    public static func notifyState(from v: JSONValue) -> NotifyState? {
        guard let head = v["head"]?.numberValue, let sinks = v["sinks"]?.arrayValue, let cursors = v["cursors"]?.arrayValue else { return nil }
        var state = NotifyState(head: Int64(head), sinks: [], cursors: [])
        for sink in sinks {
            guard let name = sink["name"]?.stringValue else { return nil }
            state.sinks.append(NotifyState.Sink(name: name, events: sink["events"]?.arrayValue?.compactMap(\.stringValue) ?? []))
        }
        for c in cursors {
            guard let sink = c["sink"]?.stringValue, let seq = c["delivered_seq"]?.numberValue else { return nil }
            state.cursors.append(
                NotifyCursor(
                    sink: sink, deliveredSeq: Int64(seq), delivered: Int(c["delivered"]?.numberValue ?? 0), failures: Int(c["failures"]?.numberValue ?? 0),
                    lastError: c["last_error"]?.stringValue, lastAttempt: c["last_attempt"]?.numberValue, lastSuccess: c["last_success"]?.numberValue,
                    nextAttempt: c["next_attempt"]?.numberValue ?? 0))
        }
        return state
    }

    public static func point(_ p: AuditPoint) -> JSONValue {
        .object([("seq", .number(Double(p.seq))), ("hash", .string(p.hash))])
    }

    public static func point(from v: JSONValue) -> AuditPoint? {
        guard let seq = v["seq"]?.numberValue, let hash = v["hash"]?.stringValue else { return nil }
        return AuditPoint(seq: Int64(seq), hash: hash)
    }
}

extension StoreError.Kind: CaseIterable {
    public static let allCases: [StoreError.Kind] = [.unavailable, .schemaTooNew, .badInput, .notFound, .notPermitted, .usage, .configuration]
}

import Foundation
import HoldpointCore
import HoldpointStore

/// One thing to tell reviewers, read off an audit entry: what happened, to which request,
/// when, and the request as it stands (nil once archived). Agent-supplied text in it was
/// redacted when it was stored; each format escapes it for where it lands.
public struct Notification: Sendable {
    public var event: NotifyEvent
    /// The entry it comes from: its number makes the idempotency key (`delivery_id`).
    public var seq: Int64
    public var at: Double
    public var requestID: String?
    /// For a halt of a whole agent, the agent.
    public var agent: String?
    /// Who did it (a reviewer, `holdpoint` for deadlines and escalations) and why.
    public var actor: String
    public var reason: String?
    /// For `decided`: approved or rejected.
    public var verdict: String?
    public var request: StoredRequest?

    /// The event an audit entry stands for, if it is one reviewers are paged about.
    /// `gated` is read off `classified` with a gated verdict; the kill switch's per-request
    /// `halted` entries are left out (the `agent_halted` entry pages once).
    public static func from(_ entry: AuditEntry, request: StoredRequest?) -> Notification? {
        let event: NotifyEvent
        var verdict: String?
        switch entry.event {
        case "classified":
            // A request from an agent already halted never waited for anyone.
            let haltedOnArrival = request.map { $0.state == .halted && $0.closedAt == $0.createdAt } ?? false
            guard entry.details["tier"]?.stringValue == Tier.gated.rawValue, !haltedOnArrival else { return nil }
            event = .gated
        case "escalated": event = .escalated
        case "expiring": event = .expiring
        case "approved", "rejected":
            event = .decided
            verdict = entry.event
        case "expired": event = .expired
        case "agent_halted": event = .halted
        case "resumed": event = .resumed
        case "blocked": event = .blocked
        default: return nil
        }
        return Notification(
            event: event, seq: entry.seq, at: Double(entry.atMillis) / 1000, requestID: entry.requestID,
            agent: entry.details["agent"]?.stringValue ?? request?.agentID, actor: entry.actor,
            reason: entry.details["reason"]?.stringValue, verdict: verdict, request: request)
    }

    /// The idempotency key: the same for every delivery of this event to this sink.
    public func deliveryID(sink: String) -> String { "\(sink)-\(seq)" }

    /// What a reviewer types to open it: decisions stay in the authenticated console.
    public var openCommand: String? { requestID.map { "holdpoint review --select \($0)" } }

    /// One line, for titles and chat.
    public var headline: String {
        let what = request.map { ActionText.what($0.document["action"]) } ?? requestID ?? ""
        switch event {
        case .gated: return "Approval needed: \(what)"
        case .escalated: return "ESCALATED, still undecided: \(what)"
        case .expiring: return "Expiring soon, undecided: \(what)"
        case .decided: return "\(verdict == "approved" ? "Approved" : "Rejected") by \(actor): \(what)"
        case .expired: return "Expired undecided (denied): \(what)"
        case .halted: return "Agent \(agent ?? "*") halted by \(actor)"
        case .resumed: return "Agent \(agent ?? "*") resumed by \(actor)"
        case .blocked: return "Blocked by policy: \(what)"
        }
    }

    /// The generic JSON body: also what a command sink reads on stdin.
    public func genericJSON(sink: String) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("schema", .string("holdpoint.notification/v1")),
            ("event", .string(event.rawValue)), ("id", requestID.map(JSONValue.string) ?? .null),
            ("at", .string(Clock.iso8601(at))), ("delivery_id", .string(deliveryID(sink: sink))),
            ("audit_seq", .number(Double(seq))), ("actor", .string(actor)), ("headline", .string(headline)),
        ]
        if let agent { members.append(("agent", .string(agent))) }
        if let reason { members.append(("reason", .string(reason))) }
        if let verdict { members.append(("verdict", .string(verdict))) }
        if let openCommand { members.append(("open", .string(openCommand))) }
        if let r = request {
            members.append(
                (
                    "request",
                    .object([
                        ("summary", r.document["summary"] ?? .null), ("action", .string(ActionText.what(r.document["action"]))),
                        ("environment", .string(r.environment)), ("tier", .string(r.tier.rawValue)), ("operation_class", .string(r.operationClass.rawValue)),
                        ("state", .string(r.state.rawValue)), ("expires_at", r.expiresAt.map { .string(Clock.iso8601($0)) } ?? .null),
                        ("risk", .object([("destructive", .bool(r.destructive)), ("irreversible", .bool(r.irreversible)), ("data_loss", .bool(r.dataLoss))])),
                        ("reasons", .array(r.reasons.prefix(5).map { .string($0.message) })),
                    ])
                ))
        }
        return .object(members)
    }
}

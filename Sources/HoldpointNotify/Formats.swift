import Crypto
import Foundation
import HoldpointCore

/// What goes over the wire for a notification: a body, its content type, extra headers.
public struct WebhookMessage: Sendable {
    public var body: [UInt8]
    public var contentType: String
    public var headers: [(String, String)]
}

/// The payload formats of a webhook sink (`format:`), and the headers every one carries.
public enum WebhookFormat {
    /// The header carrying `sha256=<hex HMAC-SHA256 of the raw body>` under the sink's secret.
    public static let signatureHeader = "X-Holdpoint-Signature-256"

    public static func message(_ n: Notification, sink: NotifySink, format: NotifySink.Format, routingKey: String?, host: String) -> WebhookMessage {
        var message: WebhookMessage
        switch format {
        case .generic:
            message = WebhookMessage(body: Array(JSONWriter.compact(n.genericJSON(sink: sink.name)).utf8), contentType: "application/json", headers: [])
        case .slack:
            message = WebhookMessage(body: Array(JSONWriter.compact(slack(n)).utf8), contentType: "application/json", headers: [])
        case .pagerduty:
            message = WebhookMessage(body: Array(JSONWriter.compact(pagerDuty(n, routingKey: routingKey ?? "", host: host)).utf8), contentType: "application/json", headers: [])
        case .ntfy:
            // ntfy takes the message as plain text and the rest as headers (one line each).
            let body = [n.request.flatMap { $0.document["summary"]?.stringValue }, n.openCommand.map { "Open: \($0)" }].compactMap { $0 }.joined(separator: "\n")
            message = WebhookMessage(
                body: Array(SafeText.escape(body.isEmpty ? n.headline : body).utf8), contentType: "text/plain; charset=utf-8",
                headers: [
                    ("Title", oneLine(n.headline)), ("Priority", n.event == .escalated ? "5" : n.event == .gated || n.event == .expiring ? "4" : "3"),
                    ("Tags", "holdpoint,\(n.event.rawValue)"),
                ])
        }
        message.headers += [
            ("X-Holdpoint-Event", n.event.rawValue), ("X-Holdpoint-Delivery", n.deliveryID(sink: sink.name)),
            ("X-Holdpoint-Timestamp", String(Int(n.at))),
        ]
        return message
    }

    /// `sha256=<hex>` of the body under `secret` (the secret file's bytes, a trailing newline removed).
    public static func signature(body: [UInt8], secret: [UInt8]) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: secret))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    /// Slack incoming-webhook blocks. Agent text is escaped for Slack's markup (`&`, `<`,
    /// `>`), so it cannot mention people or forge links, and kept to one block of text.
    static func slack(_ n: Notification) -> JSONValue {
        var lines = ["*\(slackEscape(n.headline))*"]
        if let r = n.request {
            if let summary = r.document["summary"]?.stringValue { lines.append(slackEscape(summary)) }
            lines.append(
                "`\(slackEscape(r.environment))` · \(r.tier.rawValue) · \(r.operationClass.rawValue)"
                    + (r.irreversible ? " · IRREVERSIBLE" : "") + (r.destructive ? " · destructive" : ""))
            if let top = r.reasons.first { lines.append("> \(slackEscape(top.message))") }
        }
        var blocks: [JSONValue] = [.object([("type", .string("section")), ("text", .object([("type", .string("mrkdwn")), ("text", .string(String(lines.joined(separator: "\n").prefix(2900))))]))])]
        if let open = n.openCommand {
            blocks.append(.object([("type", .string("context")), ("elements", .array([.object([("type", .string("mrkdwn")), ("text", .string("Decide in the console: `\(open)`"))])]))]))
        }
        return .object([("text", .string(slackEscape(n.headline))), ("blocks", .array(blocks))])
    }

    static func slackEscape(_ text: String) -> String {
        SafeText.escape(text).replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// PagerDuty Events API v2: a page per request (dedup key `holdpoint-<id>`) triggered
    /// when it waits or escalates, resolved when it is decided or expires; a page per halted
    /// agent (`holdpoint-halt-<agent>`, `*` for all) resolved when it is resumed.
    static func pagerDuty(_ n: Notification, routingKey: String, host: String) -> JSONValue {
        let dedup = n.requestID.map { "holdpoint-\($0)" } ?? "holdpoint-halt-\(n.agent ?? "*")"
        let resolve = n.event == .decided || n.event == .expired || n.event == .resumed
        var members: [(key: String, value: JSONValue)] = [
            ("routing_key", .string(routingKey)), ("event_action", .string(resolve ? "resolve" : "trigger")), ("dedup_key", .string(dedup)),
        ]
        if !resolve {
            members.append(
                (
                    "payload",
                    .object([
                        ("summary", .string(String(oneLine(n.headline).prefix(1024)))), ("source", .string(host)),
                        ("severity", .string(n.event == .escalated || n.event == .halted ? "critical" : n.event == .blocked ? "info" : "warning")),
                        ("component", .string(n.request?.environment ?? "holdpoint")), ("group", .string(n.agent ?? "holdpoint")),
                        ("class", .string(n.event.rawValue)), ("custom_details", n.genericJSON(sink: "pagerduty")),
                    ])
                ))
        }
        return .object(members)
    }

    static func oneLine(_ text: String) -> String {
        SafeText.escape(text).replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " ")
    }
}

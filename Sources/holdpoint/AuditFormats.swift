import Foundation
import HoldpointCore
import HoldpointStore

/// The audit log as a log shipper (Vector, Fluent Bit, rsyslog) or a SIEM reads it: one
/// line per entry, in `jsonl`, `csv`, `cef` (ArcSight Common Event Format) or `syslog`
/// (RFC 5424 with the entry as structured data). Field mappings: docs/queue-and-audit.md.
enum AuditFormat: String, CaseIterable {
    case jsonl, csv, cef, syslog

    static let names = allCases.map(\.rawValue).joined(separator: ", ")

    static let csvHeader = "seq,at,event,request_id,actor,via,details,prev_hash,hash"

    func line(_ e: AuditEntry, host: String) -> String {
        switch self {
        case .jsonl: return JSONWriter.compact(e.json)
        case .csv:
            return [
                String(e.seq), Clock.iso8601(Double(e.atMillis) / 1000), e.event, e.requestID ?? "", e.actor, e.via,
                JSONWriter.compact(e.details), e.previousHash, e.hash,
            ].map(Self.csvField).joined(separator: ",")
        case .cef:
            let extensions: [(String, String)] = [
                ("rt", String(e.atMillis)), ("suser", e.actor), ("cs1Label", "requestId"), ("cs1", e.requestID ?? ""),
                ("cs2Label", "via"), ("cs2", e.via), ("cs3Label", "hash"), ("cs3", e.hash), ("cn1Label", "seq"), ("cn1", String(e.seq)),
                ("msg", JSONWriter.compact(e.details)),
            ]
            return "CEF:0|Holdpoint|holdpoint|1|\(Self.cefHeader(e.event))|\(Self.cefHeader(Self.title(e.event)))|\(Self.severity(e.event))|"
                + extensions.map { "\($0.0)=\(Self.cefValue($0.1))" }.joined(separator: " ")
        case .syslog:
            let pri = 16 * 8 + Self.syslogSeverity(e.event)  // local0
            let params = [("seq", String(e.seq)), ("request_id", e.requestID ?? "-"), ("actor", e.actor), ("via", e.via), ("hash", e.hash)]
                .map { "\($0.0)=\"\(Self.sdValue($0.1))\"" }.joined(separator: " ")
            return
                "<\(pri)>1 \(Clock.iso8601(Double(e.atMillis) / 1000)) \(host.isEmpty ? "-" : host) holdpoint - \(e.event) [holdpoint@32473 \(params)] \(SafeText.escape(JSONWriter.compact(e.details)))"
        }
    }

    /// CEF severity 0–10.
    static func severity(_ event: String) -> Int {
        switch event {
        case "agent_halted", "halted": return 8
        case "escalated", "expiring", "decision_refused", "consume_refused", "blocked": return 7
        case "rejected", "expired", "failed": return 5
        case "approved", "consumed", "archived", "resumed": return 3
        default: return 2
        }
    }

    static func syslogSeverity(_ event: String) -> Int {
        switch severity(event) {
        case 8...: return 2  // critical
        case 7: return 4  // warning
        case 5: return 5  // notice
        default: return 6  // informational
        }
    }

    static func title(_ event: String) -> String {
        event.replacingOccurrences(of: "_", with: " ").capitalized
    }

    /// CEF header fields escape `\` and `|`.
    static func cefHeader(_ text: String) -> String {
        SafeText.escape(text).replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "|", with: "\\|")
    }

    /// CEF extension values escape `\`, `=` and line breaks.
    static func cefValue(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "=", with: "\\=")
            .replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// RFC 5424 PARAM-VALUE escapes `"`, `\` and `]`; control characters are shown escaped.
    static func sdValue(_ text: String) -> String {
        SafeText.escape(text).replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "]", with: "\\]")
    }

    /// RFC 4180 quoting; a leading =, +, - or @ is prefixed with ' so spreadsheets do not run it.
    static func csvField(_ value: String) -> String {
        var v = value
        if let first = v.first, "=+-@".contains(first) { v = "'" + v }
        if v.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return v
    }

    static var hostName: String { HostName.current }
}

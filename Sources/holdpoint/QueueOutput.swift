import Foundation
import HoldpointCore
import HoldpointStore

/// Stored requests as the contract's JSON and as text.
enum QueueOutput {
    /// The verdict object: `id`, `tier`, `state`, `reasons`, `required_approvals`,
    /// `expires_at`, `decision`; with `includeRequest`, the request's own fields follow.
    static func json(_ r: StoredRequest, includeRequest: Bool = false) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("id", .string(r.id)),
            ("tier", .string(r.tier.rawValue)),
            ("state", .string(r.state.rawValue)),
            ("operation_class", .string(r.operationClass.rawValue)),
            ("reasons", .array(r.reasons.map { .object([("rule", .string($0.rule)), ("message", .string($0.message)), ("tier", .string($0.tier.rawValue))]) })),
            ("required_approvals", .number(Double(r.requiredApprovals))),
            ("approvals", .number(Double(r.votes.filter { $0.verdict == .approve }.count))),
            ("created_at", .string(Clock.iso8601(r.createdAt))),
            ("expires_at", r.expiresAt.map { .string(Clock.iso8601($0)) } ?? .null),
            ("submitted_by", .string(r.submittedBy)),
            ("action_sha256", .string(r.actionSHA256)),
            ("flags", .object([("destructive", .bool(r.destructive)), ("irreversible", .bool(r.irreversible)), ("data_loss", .bool(r.dataLoss))])),
        ]
        if let closedBy = r.closedBy {
            members.append(
                (
                    "decision",
                    .object([
                        ("by", .string(closedBy)),
                        ("via", r.closedVia.map(JSONValue.string) ?? .null),
                        ("at", r.closedAt.map { .string(Clock.iso8601($0)) } ?? .null),
                        ("reason", r.closedReason.map(JSONValue.string) ?? .null),
                        ("action_sha256", .string(r.actionSHA256)),
                    ])
                ))
        } else {
            members.append(("decision", .null))
        }
        if let used = r.consumedAt {
            members.append(("consumed", .object([("at", .string(Clock.iso8601(used))), ("by", r.consumedBy.map(JSONValue.string) ?? .null)])))
        }
        if let run = r.run {
            members.append(
                (
                    "run",
                    .object([
                        ("pid", .number(Double(run.pid))),
                        ("started_at", .string(Clock.iso8601(run.startedAt))),
                        ("finished_at", run.finishedAt.map { .string(Clock.iso8601($0)) } ?? .null),
                        ("duration_ms", run.duration.map { .number(($0 * 1000).rounded()) } ?? .null),
                        ("exit_code", run.exitCode.map { .number(Double($0)) } ?? .null),
                        ("signal", run.signal.map { .number(Double($0)) } ?? .null),
                    ])
                ))
        }
        members.append(
            (
                "votes",
                .array(
                    r.votes.map { v in
                        .object([
                            ("by", .string(v.reviewer)), ("via", .string(v.via)), ("verdict", .string(v.verdict.rawValue)),
                            ("reason", .string(v.reason)), ("at", .string(Clock.iso8601(v.at))),
                        ])
                    })
            ))
        if includeRequest, case .object(let fields) = r.document {
            let taken = Set(members.map(\.key))
            for field in fields where !taken.contains(field.key) { members.append(field) }
        }
        return .object(members)
    }

    /// The exit code that tells an agent what became of its request.
    static func exitCode(for state: RequestState) -> Int32 {
        switch state {
        case .allowed, .approved, .running, .succeeded, .failed: return ExitCodes.allowed
        case .rejected, .withdrawn: return ExitCodes.rejected
        case .blocked: return ExitCodes.blocked
        case .expired: return ExitCodes.expired
        case .halted: return ExitCodes.halted
        case .pending: return ExitCodes.approvalRequired
        }
    }

    static func summary(_ r: StoredRequest, now: Double = Clock.now()) -> String {
        var text = "\(r.id)  \(Terminal.tierLabel(r.tier))  \(r.state.rawValue)"
        switch r.state {
        case .pending:
            let left = max(0, (r.expiresAt ?? now) - now)
            text += "  (\(r.votes.filter { $0.verdict == .approve }.count)/\(r.requiredApprovals) approvals; expires in \(Durations.format(left.rounded(.up))) at \(Clock.iso8601(r.expiresAt ?? now)))"
        default:
            if let by = r.closedBy {
                text += "  by \(SafeText.escape(by))\(r.closedVia.map { " (\(SafeText.escape($0)))" } ?? "") at \(Clock.iso8601(r.closedAt ?? now))"
                if let reason = r.closedReason, !reason.isEmpty { text += ": \(SafeText.escape(reason))" }
            }
        }
        return text
    }

    static func what(_ r: StoredRequest) -> String {
        ActionText.what(r.document["action"])
    }
}

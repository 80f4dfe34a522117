import HoldpointCore

/// What the hook tells the client: run the tool, or not and why.
public enum HookDecision: Sendable, Equatable {
    /// A human approved it: the client runs it without asking anyone again.
    case allow(reason: String)
    /// Holdpoint has no objection (autonomous or supervised): the client's own permission
    /// rules still apply. An explicit "allow" here would skip them (Claude Code's `ask`
    /// entries), loosening what the client would have asked about.
    case noObjection(reason: String)
    case deny(reason: String)

    public var isAllow: Bool { if case .deny = self { return false } else { return true } }
    public var reason: String {
        switch self {
        case .allow(let reason), .noObjection(let reason), .deny(let reason): return reason
        }
    }
}

/// The process's answer: what goes to stdout and stderr, and the exit code.
public struct HookReply: Sendable, Equatable {
    public var stdout: String
    public var stderr: String
    public var exitCode: Int32

    public init(stdout: String, stderr: String, exitCode: Int32) {
        self.stdout = stdout
        self.stderr = stderr
        self.exitCode = exitCode
    }
}

/// Each client's documented answer format.
///
/// "ask" is never used: Holdpoint's own queue is where a human decides, and some clients
/// (Codex) reject "ask" and then run the call, or skip the prompt in some modes (Cursor).
public enum HookAnswer {
    public static func reply(_ decision: HookDecision, client: AgentClient) -> HookReply {
        let reason = decision.reason
        switch client {
        case .claudeCode:
            // No objection: exit 0 and no output, so Claude Code's own rules decide.
            if case .noObjection = decision { return HookReply(stdout: "", stderr: "", exitCode: 0) }
            // Exit 0 with hookSpecificOutput; the deny reason is shown to the model.
            let output: JSONValue = .object([
                (
                    "hookSpecificOutput",
                    .object([
                        ("hookEventName", .string("PreToolUse")),
                        ("permissionDecision", .string(decision.isAllow ? "allow" : "deny")),
                        ("permissionDecisionReason", .string(reason)),
                    ])
                )
            ])
            return HookReply(stdout: JSONWriter.compact(output) + "\n", stderr: "", exitCode: 0)
        case .codex:
            // Codex reads exit 2 with the reason on stderr as a block. For an allow it gets no
            // output at all: its own approval rules still apply, and no field it might not
            // know can turn the answer into a failed (and so ignored) hook.
            if decision.isAllow { return HookReply(stdout: "", stderr: "", exitCode: 0) }
            return HookReply(stdout: "", stderr: reason + "\n", exitCode: 2)
        case .gemini:
            // No objection: an empty object, which leaves Gemini CLI's own confirmation in place.
            if case .noObjection = decision { return HookReply(stdout: "{}\n", stderr: "", exitCode: 0) }
            var members: [(key: String, value: JSONValue)] = [("decision", .string(decision.isAllow ? "allow" : "deny"))]
            members.append(("reason", .string(reason)))
            return HookReply(stdout: JSONWriter.compact(.object(members)) + "\n", stderr: "", exitCode: 0)
        case .cursor:
            // Cursor's beforeShellExecution has no "no opinion" answer: a missing permission is
            // not documented, so no objection is answered "allow" (Cursor's own allow list
            // and auto-run settings are not consulted after a hook's allow).
            // Cursor renamed userMessage/agentMessage to user_message/agent_message; both are written.
            var members: [(key: String, value: JSONValue)] = [("permission", .string(decision.isAllow ? "allow" : "deny"))]
            if !decision.isAllow {
                members += [
                    ("user_message", .string(reason)), ("agent_message", .string(reason)),
                    ("userMessage", .string(reason)), ("agentMessage", .string(reason)),
                ]
            }
            return HookReply(stdout: JSONWriter.compact(.object(members)) + "\n", stderr: "", exitCode: 0)
        }
    }
}

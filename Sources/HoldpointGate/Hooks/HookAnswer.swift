import HoldpointCore

/// What the hook tells the client: run the tool, or not and why.
public enum HookDecision: Sendable, Equatable {
    case allow(reason: String)
    case deny(reason: String)

    public var isAllow: Bool { if case .allow = self { return true } else { return false } }
    public var reason: String {
        switch self {
        case .allow(let reason), .deny(let reason): return reason
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
            // Exit 0 with hookSpecificOutput; the deny reason is shown to the model.
            let output: JSONValue = .object([("hookSpecificOutput", .object([
                ("hookEventName", .string("PreToolUse")),
                ("permissionDecision", .string(decision.isAllow ? "allow" : "deny")),
                ("permissionDecisionReason", .string(reason)),
            ]))])
            return HookReply(stdout: JSONWriter.compact(output) + "\n", stderr: "", exitCode: 0)
        case .codex:
            // Codex reads exit 2 with the reason on stderr as a block. For an allow it gets no
            // output at all: its own approval rules still apply, and no field it might not
            // know can turn the answer into a failed (and so ignored) hook.
            if decision.isAllow { return HookReply(stdout: "", stderr: "", exitCode: 0) }
            return HookReply(stdout: "", stderr: reason + "\n", exitCode: 2)
        case .gemini:
            var members: [(key: String, value: JSONValue)] = [("decision", .string(decision.isAllow ? "allow" : "deny"))]
            members.append(("reason", .string(reason)))
            return HookReply(stdout: JSONWriter.compact(.object(members)) + "\n", stderr: "", exitCode: 0)
        case .cursor:
            // Cursor renamed userMessage/agentMessage to user_message/agent_message; both are written.
            var members: [(key: String, value: JSONValue)] = [("permission", .string(decision.isAllow ? "allow" : "deny"))]
            if !decision.isAllow {
                members += [("user_message", .string(reason)), ("agent_message", .string(reason)),
                            ("userMessage", .string(reason)), ("agentMessage", .string(reason))]
            }
            return HookReply(stdout: JSONWriter.compact(.object(members)) + "\n", stderr: "", exitCode: 0)
        }
    }
}

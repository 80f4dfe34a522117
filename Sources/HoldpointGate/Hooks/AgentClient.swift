/// The agent clients Holdpoint plugs into, each with its own documented hook protocol.
///
/// | client | event | blocks with |
/// | --- | --- | --- |
/// | Claude Code | `PreToolUse` | `hookSpecificOutput.permissionDecision: "deny"` (exit 0) |
/// | OpenAI Codex | `PreToolUse` | exit 2, the reason on stderr |
/// | Gemini CLI | `BeforeTool` | `{"decision": "deny", "reason": …}` (exit 0) |
/// | Cursor | `beforeShellExecution`, `beforeMCPExecution` | `{"permission": "deny", …}` (exit 0) |
///
/// Every client also treats exit 2 as a block, which is what a crash or a watchdog
/// timeout of the hook process answers (see `CFailClosed`).
public enum AgentClient: String, Sendable, CaseIterable {
    case claudeCode = "claude-code"
    case codex
    case gemini
    case cursor

    public var displayName: String {
        switch self {
        case .claudeCode: return "Claude Code"
        case .codex: return "Codex"
        case .gemini: return "Gemini CLI"
        case .cursor: return "Cursor"
        }
    }

    /// The hook events this adapter answers.
    public var events: Set<String> {
        switch self {
        case .claudeCode, .codex: return ["PreToolUse"]
        case .gemini: return ["BeforeTool"]
        case .cursor: return ["beforeShellExecution", "beforeMCPExecution"]
        }
    }
}

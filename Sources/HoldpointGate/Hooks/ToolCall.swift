import HoldpointCore

/// One tool call an agent client is about to make, as its hook input describes it.
public struct ToolCall: Sendable, Equatable {
    public var client: AgentClient
    /// `PreToolUse`, `BeforeTool`, `beforeShellExecution`, …
    public var event: String
    /// The client's tool name: `Bash`, `Write`, `run_shell_command`, `mcp__github__delete_repository`, …
    /// Cursor's shell hook has no tool name; it is `shell` here.
    public var toolName: String
    /// The tool's arguments (an object).
    public var input: JSONValue
    /// The directory the agent works in.
    public var cwd: String?
    public var session: String?
    /// The client's own id of this call (`tool_use_id`), when it gives one.
    public var callID: String?
    /// The whole hook input, kept for the request's Raw view.
    public var raw: JSONValue

    public init(client: AgentClient, event: String, toolName: String, input: JSONValue, cwd: String?, session: String?, callID: String?, raw: JSONValue) {
        self.client = client
        self.event = event
        self.toolName = toolName
        self.input = input
        self.cwd = cwd
        self.session = session
        self.callID = callID
        self.raw = raw
    }
}

/// Hook input that cannot be understood. The hook denies the action and says why.
public struct HookInputError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Reads each client's hook input (stdin JSON) into a `ToolCall`.
public enum HookInput {
    /// The most a hook reads from stdin; more is refused, not truncated.
    public static let maximumSize = 4 << 20

    public static func parse(_ bytes: [UInt8], client: AgentClient) throws(HookInputError) -> ToolCall {
        guard !bytes.isEmpty else { throw HookInputError("the hook input on stdin is empty (expected the \(client.displayName) hook JSON)") }
        guard bytes.count <= maximumSize else { throw HookInputError("the hook input is \(bytes.count) bytes, more than the \(maximumSize) Holdpoint reads") }
        let root: JSONValue
        do {
            root = try JSONReader.parse(bytes)
        } catch {
            throw HookInputError("the hook input is not valid JSON: \(error.description)")
        }
        guard case .object = root else { throw HookInputError("the hook input must be a JSON object, got \(root.typeName)") }
        return try parse(root, client: client)
    }

    public static func parse(_ root: JSONValue, client: AgentClient) throws(HookInputError) -> ToolCall {
        func string(_ key: String, required: Bool = false) throws(HookInputError) -> String? {
            guard let value = root[key], value != .null else {
                if required { throw HookInputError("\(key): required by the \(client.displayName) hook input, missing") }
                return nil
            }
            guard let text = value.stringValue else { throw HookInputError("\(key): expected a string, got \(value.typeName)") }
            return text
        }
        let defaultEvent = client == .cursor ? "beforeShellExecution" : client == .gemini ? "BeforeTool" : "PreToolUse"
        let event = try string("hook_event_name") ?? defaultEvent
        guard client.events.contains(event) else {
            throw HookInputError("hook_event_name: this adapter answers \(client.events.sorted().joined(separator: " and ")), got \"\(event)\"; check the hook settings")
        }
        let cwd = try string("cwd")
        switch client {
        case .claudeCode, .codex, .gemini:
            guard let name = try string("tool_name", required: true), !name.isEmpty else { throw HookInputError("tool_name: must not be empty") }
            guard let input = root["tool_input"] else { throw HookInputError("tool_input: required by the \(client.displayName) hook input, missing") }
            guard case .object = input else { throw HookInputError("tool_input: expected an object, got \(input.typeName)") }
            let session = try string("session_id")
            var callID = try string("tool_use_id")
            if callID == nil { callID = try string("turn_id") }
            return ToolCall(client: client, event: event, toolName: name, input: input, cwd: cwd, session: session, callID: callID, raw: root)
        case .cursor:
            let session = try string("conversation_id")
            let callID = try string("generation_id")
            if event == "beforeMCPExecution" {
                guard let name = try string("tool_name", required: true), !name.isEmpty else { throw HookInputError("tool_name: must not be empty") }
                var input = root["tool_input"] ?? .object([])
                // Cursor has sent MCP arguments both as an object and as a JSON string.
                if let text = input.stringValue {
                    do { input = try JSONReader.parse(text) } catch { throw HookInputError("tool_input: a string that is not JSON: \(error.description)") }
                }
                guard case .object = input else { throw HookInputError("tool_input: expected an object, got \(input.typeName)") }
                return ToolCall(client: client, event: event, toolName: "mcp__" + name, input: input, cwd: cwd, session: session, callID: callID, raw: root)
            }
            guard let command = try string("command", required: true) else { throw HookInputError("command: missing") }
            return ToolCall(
                client: client, event: event, toolName: "shell", input: .object([("command", .string(command))]), cwd: cwd,
                session: session, callID: callID, raw: root)
        }
    }
}

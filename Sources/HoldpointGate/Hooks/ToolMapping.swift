import Foundation
import HoldpointCore

/// Turns a client's tool call into a `holdpoint.action/v1` request, so the policy sees an
/// agent's Bash command, file write or MCP call the same way it sees any other action.
///
/// The `action` object holds exactly what the tool will do (command and working directory,
/// file and the text written, tool and arguments): the approval's hash covers it, so an
/// approval for one command, one file content or one set of arguments is not an approval
/// for another. The hook input itself is kept beside it (`hook`) for the reviewer.
public enum ToolMapping {
    /// Shell tools across clients: the command line goes through the shell analysis.
    static let shellTools: Set<String> = ["Bash", "shell", "run_shell_command", "exec_command", "local_shell", "container.exec", "unified_exec"]
    /// Tools that only read (files, searches, the web); they run on their own.
    static let readTools: Set<String> = [
        "Read", "Glob", "Grep", "LS", "NotebookRead", "WebSearch", "WebFetch", "TodoWrite", "TodoRead",
        "read_file", "read_many_files", "list_directory", "glob", "search_file_content", "google_web_search", "web_fetch",
        "grep", "ls", "view_image", "update_plan",
    ]

    /// Tools that end a client's planning: what they carry is the agent's plan (layer 1).
    static let planTools: Set<String> = ["ExitPlanMode"]

    public static func request(for call: ToolCall, environment: String, agentID: String, mode: AgentMode) throws(RequestError) -> ActionRequest {
        var action: [(key: String, value: JSONValue)] = []
        var summary = ""
        var reasoning: [String] = []
        let input = call.input
        let name = call.toolName

        var agent: [(key: String, value: JSONValue)] = [("id", .string(agentID)), ("name", .string(call.client.displayName)), ("mode", .string(mode.rawValue))]
        if let session = call.session { agent.append(("session", .string(session))) }
        var hook: [(key: String, value: JSONValue)] = [("client", .string(call.client.rawValue)), ("event", .string(call.event)), ("tool_name", .string(name))]
        if let id = call.callID { hook.append(("call_id", .string(id))) }

        if planTools.contains(name) {
            // Leaving plan mode: the plan is judged (and, where it needs one, put before a
            // human) as one request, its steps the commands it names.
            let text = input["plan"]?.stringValue ?? ""
            return try Plan.request(text: text, agent: .object(agent), environment: environment, extra: [("hook", .object(hook))])
        }

        if shellTools.contains(name) {
            let command = try commandLine(input["command"], tool: name)
            action = [("kind", .string("shell")), ("command", .string(command))]
            if let cwd = input["workdir"]?.stringValue ?? input["dir_path"]?.stringValue ?? input["directory"]?.stringValue ?? call.cwd {
                action.append(("cwd", .string(cwd)))
            }
            summary = "\(call.client.displayName) wants to run: \(command)"
            // Claude Code and Gemini send the model's own explanation of the command.
            if let why = input["description"]?.stringValue, !why.isEmpty { reasoning.append(why) }
        } else if let file = fileAction(call) {
            action = file.action
            summary = file.summary
        } else if name.hasPrefix("mcp__") {
            action = [("kind", .string("mcp")), ("operation", .string(name)), ("arguments", input)]
            summary = "\(call.client.displayName) wants to call the MCP tool \(name)"
        } else if readTools.contains(name) {
            action = [("kind", .string("other")), ("operation", .string("read_\(name)")), ("arguments", input)]
            summary = "\(call.client.displayName) reads with \(name)"
        } else {
            // Unknown tools are classified by the verb in their name; no verb means unknown,
            // which production never allows on its own.
            action = [("kind", .string("other")), ("operation", .string(name)), ("arguments", input)]
            summary = "\(call.client.displayName) wants to use the tool \(name)"
        }
        if !action.contains(where: { $0.key == "cwd" }), let cwd = call.cwd { action.append(("cwd", .string(cwd))) }

        var document: [(key: String, value: JSONValue)] = [
            ("schema", .string(ActionRequest.schemaName)),
            ("agent", .object(agent)),
            ("environment", .string(environment)),
            ("action", .object(action)),
            ("summary", .string(summary)),
        ]
        if !reasoning.isEmpty { document.append(("reasoning", .array(reasoning.map { .string($0) }))) }
        document.append(("hook", .object(hook)))
        return try ActionRequestDecoder.decode(.object(document))
    }

    /// A command as a string, or as an argv array (Codex has sent both).
    static func commandLine(_ value: JSONValue?, tool: String) throws(RequestError) -> String {
        switch value {
        case .string(let text)?:
            guard !text.isEmpty else { throw RequestError(field: "tool_input.command", message: "must not be empty") }
            return text
        case .array(let items)?:
            var words: [String] = []
            for item in items {
                guard let word = item.stringValue else { throw RequestError(field: "tool_input.command", message: "expected strings in the argv array, got \(item.typeName)") }
                words.append(word)
            }
            guard !words.isEmpty else { throw RequestError(field: "tool_input.command", message: "must not be empty") }
            return ShellQuote.join(words)
        case nil, .null?:
            throw RequestError(field: "tool_input.command", message: "required for the \(tool) tool, missing")
        case let other?:
            throw RequestError(field: "tool_input.command", message: "expected a string or an array, got \(other.typeName)")
        }
    }

    /// Writes, edits and patches: the files and the text they put there.
    static func fileAction(_ call: ToolCall) -> (action: [(key: String, value: JSONValue)], summary: String)? {
        let input = call.input
        let who = call.client.displayName
        func file(_ operation: String, targets: [String], content: String, extra: [(key: String, value: JSONValue)] = []) -> [(key: String, value: JSONValue)] {
            [("kind", .string("file")), ("operation", .string(operation)), ("targets", .array(targets.map { .string($0) })), ("content", .string(content))] + extra
        }
        let path = input["file_path"]?.stringValue ?? input["path"]?.stringValue ?? input["notebook_path"]?.stringValue ?? input["absolute_path"]?.stringValue
        switch call.toolName {
        case "Write", "write_file", "create_file":
            guard let path else { return nil }
            let content = input["content"]?.stringValue ?? ""
            return (file("write_file", targets: [path], content: content), "\(who) wants to write \(path) (\(content.utf8.count) bytes)")
        case "Edit", "replace", "edit_file", "str_replace":
            guard let path else { return nil }
            let old = input["old_string"]?.stringValue ?? ""
            let new = input["new_string"]?.stringValue ?? ""
            let edit: JSONValue = .object([("old_string", .string(old)), ("new_string", .string(new)), ("replace_all", input["replace_all"] ?? .bool(false))])
            return (file("edit_file", targets: [path], content: new, extra: [("edits", .array([edit]))]), "\(who) wants to edit \(path)")
        case "MultiEdit":
            guard let path else { return nil }
            let edits = input["edits"]?.arrayValue ?? []
            let content = edits.compactMap { $0["new_string"]?.stringValue }.joined(separator: "\n")
            return (file("edit_file", targets: [path], content: content, extra: [("edits", .array(edits))]), "\(who) wants to make \(edits.count) edits to \(path)")
        case "NotebookEdit":
            guard let path else { return nil }
            let source = input["new_source"]?.stringValue ?? ""
            return (file("edit_file", targets: [path], content: source, extra: [("arguments", input)]), "\(who) wants to edit the notebook \(path)")
        case "apply_patch":
            guard let patch = input["command"]?.stringValue ?? input["patch"]?.stringValue ?? input["input"]?.stringValue else { return nil }
            let parsed = PatchTargets.parse(patch)
            let operation = parsed.deletes ? "delete_file" : "write_file"
            return (file(operation, targets: parsed.files, content: patch), "\(who) wants to apply a patch to \(parsed.files.joined(separator: ", "))")
        default:
            return nil
        }
    }
}

/// The files a Codex `apply_patch` touches (`*** Add File:`, `*** Update File:`, `*** Delete File:`, `*** Move to:`).
enum PatchTargets {
    static func parse(_ patch: String) -> (files: [String], deletes: Bool) {
        var files: [String] = []
        var deletes = false
        for line in patch.split(separator: "\n") {
            for marker in ["*** Add File: ", "*** Update File: ", "*** Delete File: ", "*** Move to: "] where line.hasPrefix(marker) {
                files.append(String(line.dropFirst(marker.count)).trimmingCharacters(in: .whitespaces))
                if marker == "*** Delete File: " { deletes = true }
            }
        }
        return (files, deletes)
    }
}

/// Joins argv into one shell command line that parses back into the same words.
public enum ShellQuote {
    public static func join(_ words: [String]) -> String {
        words.map(quote).joined(separator: " ")
    }

    public static func quote(_ word: String) -> String {
        if !word.isEmpty,
            word.utf8.allSatisfy({ b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || "-_./=:,+@%".utf8.contains(b)
            })
        {
            return word
        }
        var out = "'"
        for ch in word { out += ch == "'" ? "'\\''" : String(ch) }
        return out + "'"
    }
}

import Foundation
import HoldpointCore

/// What `holdpoint setup` writes for each client: where, under which events, and how to
/// call the hook exactly as the client would to prove it answers.
struct ClientSetup {
    let client: String
    let holdSeconds: Int
    let command: String

    static let clients = ["claude-code", "codex", "gemini", "cursor"]

    /// The client's timeout, safely above the hold: the client must not give up on a hook
    /// that is still waiting for a reviewer (a client that times out a hook may let the
    /// call through).
    var timeoutSeconds: Int { holdSeconds + 20 }

    /// The JSON file the hook goes in.
    func path(scope: String, home: String, directory: String) -> String {
        let base = scope == "user" ? home : directory
        switch client {
        case "codex": return Self.codexDirectory(scope: scope, home: home, directory: directory) + "/hooks.json"
        case "gemini": return base + "/.gemini/settings.json"
        case "cursor": return base + "/.cursor/hooks.json"
        default: return base + "/.claude/settings.json"
        }
    }

    /// Codex's configuration layer: `$CODEX_HOME` (default `~/.codex`) or the project's `.codex`.
    static func codexDirectory(scope: String, home: String, directory: String) -> String {
        scope == "user" ? (Environment.value("CODEX_HOME") ?? home + "/.codex") : directory + "/.codex"
    }

    /// Codex's `config.toml` in the same layer, which may hold hooks inline.
    func codexConfigPath(scope: String, home: String, directory: String) -> String {
        Self.codexDirectory(scope: scope, home: home, directory: directory) + "/config.toml"
    }

    static let codexMatcher = "Bash|apply_patch|Edit|Write|mcp__.*"

    /// (event, entry) pairs under `hooks`.
    var entries: [(event: String, entry: JSONValue)] {
        switch client {
        case "codex":
            return [
                (
                    "PreToolUse",
                    .object([
                        ("matcher", .string(Self.codexMatcher)),
                        ("hooks", .array([.object([("type", .string("command")), ("command", .string(command)), ("timeout", .number(Double(timeoutSeconds)))])])),
                    ])
                )
            ]
        case "gemini":
            return [
                (
                    "BeforeTool",
                    .object([
                        ("matcher", .string("run_shell_command|write_file|replace|mcp__.*")),
                        ("hooks", .array([.object([("type", .string("command")), ("command", .string(command)), ("timeout", .number(Double(timeoutSeconds * 1000)))])])),
                    ])
                )
            ]
        case "cursor":
            return ["beforeShellExecution", "beforeMCPExecution"].map { ($0, .object([("command", .string(command))])) }
        default:
            return [
                (
                    "PreToolUse",
                    .object([
                        ("matcher", .string("Bash|Write|Edit|MultiEdit|NotebookEdit|ExitPlanMode|mcp__.*")),
                        ("hooks", .array([.object([("type", .string("command")), ("command", .string(command)), ("timeout", .number(Double(timeoutSeconds)))])])),
                    ])
                )
            ]
        }
    }

    /// A hook entry of ours: its command (or one of its handlers') is ours.
    static func isOurs(_ value: JSONValue) -> Bool {
        if let command = value["command"]?.stringValue, isOurCommand(command) { return true }
        return (value["hooks"]?.arrayValue ?? []).contains(where: isOurs)
    }

    /// `…/holdpoint hook …`, whatever else it says (quoted paths included).
    static func isOurCommand(_ command: String) -> Bool {
        let words = command.split(separator: " ")
        guard words.count >= 2, words[1] == "hook" else { return false }
        return words[0].trimmingCharacters(in: CharacterSet(charactersIn: "'\"")).split(separator: "/").last == "holdpoint"
    }

    /// What the client sends for a shell command, as it sends it.
    func input(_ shell: String, directory: String) -> String {
        let cmd = JSONWriter.compact(.string(shell))
        let cwd = JSONWriter.compact(.string(directory))
        switch client {
        case "codex":
            return #"{"session_id":"holdpoint-setup","turn_id":"setup","cwd":\#(cwd),"hook_event_name":"PreToolUse","tool_name":"Bash","tool_use_id":"setup","tool_input":{"command":\#(cmd)}}"#
        case "gemini":
            return #"{"session_id":"holdpoint-setup","cwd":\#(cwd),"hook_event_name":"BeforeTool","tool_name":"run_shell_command","tool_input":{"command":\#(cmd)}}"#
        case "cursor":
            return #"{"hook_event_name":"beforeShellExecution","conversation_id":"holdpoint-setup","generation_id":"setup","workspace_roots":[\#(cwd)],"command":\#(cmd),"cwd":\#(cwd)}"#
        default:
            return #"{"session_id":"holdpoint-setup","cwd":\#(cwd),"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":\#(cmd)}}"#
        }
    }

    /// Puts our entries in (or, `removing`, takes them out of) a settings file's text.
    /// Everything else in the file stays byte for byte.
    func edit(_ source: String, removing: Bool) throws(JSONSourceEditor.SyntaxError) -> String {
        let blank = source.allSatisfy { $0.isWhitespace }
        var editor = try JSONSourceEditor(blank ? "{}\n" : source)
        guard case .object = editor.root else { throw JSONSourceEditor.SyntaxError(line: 1, column: 1, message: "the settings are not a JSON object") }
        if removing {
            for (event, _) in entries {
                while let array = editor.root.member("hooks")?.value.member(event)?.value, case .array(let elements, _) = array,
                    let ours = elements.first(where: { Self.isOurs($0.value) })
                {
                    try editor.remove(ours.range, from: array)
                }
                // Containers left empty by the removal go too (setup made them).
                if let hooks = editor.root.member("hooks")?.value, let member = hooks.member(event), case .array(let elements, _) = member.value, elements.isEmpty {
                    try editor.remove(member.range, from: hooks)
                }
            }
            if let hooks = editor.root.member("hooks"), case .object(let members, _) = hooks.value, members.isEmpty {
                try editor.remove(hooks.range, from: editor.root)
            }
            return blank ? source : editor.string
        }
        if client == "cursor" && editor.root.member("version") == nil {
            try editor.appendMember(to: editor.root, key: "version", value: .number(1))
        }
        for (event, entry) in entries {
            guard let hooks = editor.root.member("hooks")?.value else {
                try editor.appendMember(to: editor.root, key: "hooks", value: .object([(event, .array([entry]))]))
                continue
            }
            guard let array = hooks.member(event)?.value, case .array(let elements, _) = array else {
                try editor.appendMember(to: hooks, key: event, value: .array([entry]))
                continue
            }
            let ours = elements.filter { Self.isOurs($0.value) }
            if ours.count == 1, ours[0].value == entry { continue }  // already as it should be
            if let first = ours.first {
                try editor.replace(first, with: entry)
                // Any second entry of ours goes (one gate, not two).
                while let array = editor.root.member("hooks")?.value.member(event)?.value, case .array(let now, _) = array,
                    now.filter({ Self.isOurs($0.value) }).count > 1, let extra = now.last(where: { Self.isOurs($0.value) })
                {
                    try editor.remove(extra.range, from: array)
                }
            } else {
                try editor.appendElement(to: array, value: entry)
            }
        }
        var out = editor.string
        if !out.hasSuffix("\n") { out += "\n" }
        return out
    }
}

/// Codex keeps hooks either in `hooks.json` or inline in `config.toml`, one form per layer
/// preferred (Codex loads both, and warns). `config.toml` is read for three things: whether
/// the layer keeps its hooks inline (then Holdpoint's goes there too), Holdpoint's own entries
/// (to replace or take out), and whether hooks are switched off (`[features] hooks = false`).
struct CodexConfig {
    let outline: TOMLOutline

    init(_ text: String) throws(TOMLOutline.SyntaxError) { outline = try TOMLOutline(text) }

    private static func isHooks(_ path: [String]) -> Bool { path.first == "hooks" && path.count >= 2 && path[1] != "state" }

    /// Hook tables (or keys) already in the file.
    var keepsHooksInline: Bool {
        outline.sections.contains { Self.isHooks($0.path) } || outline.pairs.contains { Self.isHooks($0.path) }
    }

    /// `PreToolUse` written as an array value (`PreToolUse = [...]`), which no `[[…]]` table may extend.
    var preToolUseIsAValue: Bool { outline.pairs.contains { $0.path == ["hooks", "PreToolUse"] } }

    /// The line that switches Codex's hooks off, if one does.
    var hooksSwitchedOff: TOMLOutline.Pair? {
        outline.pairs.first { ($0.path == ["features", "hooks"] || $0.path == ["features", "codex_hooks"]) && $0.value == .boolean(false) }
    }

    /// Holdpoint's sections: a `[[hooks.PreToolUse]]` group whose every handler is ours
    /// (with its handlers), or our lone handler in someone else's group.
    var ourSections: [TOMLOutline.Section] {
        var ours: [TOMLOutline.Section] = []
        var index = 0
        let sections = outline.sections
        while index < sections.count {
            guard sections[index].kind == .arrayTable, sections[index].path == ["hooks", "PreToolUse"] else {
                index += 1
                continue
            }
            var group = [sections[index]]
            index += 1
            while index < sections.count, sections[index].path.count > 2, Array(sections[index].path.prefix(2)) == ["hooks", "PreToolUse"] {
                group.append(sections[index])
                index += 1
            }
            let handlers = group.filter { $0.kind == .arrayTable && $0.path == ["hooks", "PreToolUse", "hooks"] }
            let mine = handlers.filter { handler in
                handler.pairs.contains {
                    if $0.path == ["hooks", "PreToolUse", "hooks", "command"], case .string(let command) = $0.value { return ClientSetup.isOurCommand(command) }
                    return false
                }
            }
            if !mine.isEmpty { ours += mine.count == handlers.count ? group : mine }
        }
        return ours
    }

    /// Holdpoint's commands in the file.
    var ourCommands: [String] {
        ourSections.flatMap(\.pairs).compactMap {
            if $0.path == ["hooks", "PreToolUse", "hooks", "command"], case .string(let command) = $0.value { return command }
            return nil
        }
    }

    /// The entry in TOML, as Codex's documentation writes inline hooks.
    static func block(command: String, timeout: Int) -> String {
        """
        [[hooks.PreToolUse]]
        matcher = \(TOMLOutline.quoted(ClientSetup.codexMatcher))

        [[hooks.PreToolUse.hooks]]
        type = "command"
        command = \(TOMLOutline.quoted(command))
        timeout = \(timeout)

        """
    }

    /// The file with Holdpoint's entry in (replacing any of ours), or taken out.
    func edited(command: String, timeout: Int, removing: Bool) throws(TOMLOutline.SyntaxError) -> String {
        let ours = ourSections
        let original = String(decoding: outline.text, as: UTF8.self)
        if removing { return ours.isEmpty ? original : outline.removing(ours) }
        let block = Self.block(command: command, timeout: timeout)
        let existing = ours.map { String(decoding: outline.text[$0.range], as: UTF8.self) }.joined()
        if existing.trimmingCharacters(in: .whitespacesAndNewlines) == block.trimmingCharacters(in: .whitespacesAndNewlines) { return original }
        return try TOMLOutline(outline.removing(ours)).appending(block)
    }
}

import ArgumentParser
import Foundation
import HoldpointCore

/// What `holdpoint setup` writes for each client: where, under which events, and how to
/// call the hook exactly as the client would to prove it answers.
struct ClientSetup {
    let client: String
    let holdSeconds: Int
    let command: String

    static let clients = ["claude-code", "gemini", "cursor"]

    /// The client's timeout, safely above the hold: the client must not give up on a hook
    /// that is still waiting for a reviewer (a client that times out a hook may let the
    /// call through).
    var timeoutSeconds: Int { holdSeconds + 20 }

    func path(scope: String, home: String, directory: String) -> String {
        let base = scope == "user" ? home : directory
        switch client {
        case "gemini": return base + "/.gemini/settings.json"
        case "cursor": return base + "/.cursor/hooks.json"
        default: return base + "/.claude/settings.json"
        }
    }

    /// (event, entry) pairs under `hooks`.
    var entries: [(event: String, entry: JSONValue)] {
        switch client {
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

    /// A hook command of ours: `…/holdpoint hook …`, whatever else it says.
    static func isOurs(_ value: JSONValue) -> Bool {
        if let command = value["command"]?.stringValue {
            let words = command.split(separator: " ")
            if words.count >= 2, words[0].split(separator: "/").last == "holdpoint", words[1] == "hook" { return true }
        }
        return (value["hooks"]?.arrayValue ?? []).contains(where: isOurs)
    }

    /// What the client sends for a shell command, as it sends it.
    func input(_ shell: String, directory: String) -> String {
        let cmd = JSONWriter.compact(.string(shell))
        let cwd = JSONWriter.compact(.string(directory))
        switch client {
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

struct Setup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "setup",
        abstract: "Write (or --remove) a client's hook configuration, then prove the hook answers as the client calls it.",
        discussion: """
            CLIENT is claude-code, gemini or cursor. Merges into the existing settings file (a copy is kept beside it \
            first, as FILE.holdpoint-backup), changing nothing outside Holdpoint's own entries; running it twice \
            changes nothing. The hook runs this binary by its absolute path, ends in `|| exit 2` (a hook that cannot \
            run blocks), covers every tool Holdpoint understands, and gives the client a timeout above --hold. Then \
            it calls the hook as the client would: a read must not be denied, `rm -rf /` must be. \
            Exit 0 done (or nothing to do), 1 the hook did not answer as it should, 64 usage, 78 the settings file is \
            not valid JSON (named with line and column; nothing written).
            """
    )

    @Argument(help: ArgumentHelp("claude-code, gemini or cursor.", valueName: "client"))
    var client: String

    @Option(name: .long, help: ArgumentHelp("user (your home directory) or project (the current directory).", valueName: "scope"))
    var scope: String = "user"

    @Flag(name: .customLong("dry-run"), help: "Print the change as a diff; write nothing.")
    var dryRun = false

    @Flag(name: .long, help: "Take Holdpoint's entries out (only those).")
    var remove = false

    @Option(name: .long, help: ArgumentHelp("The environment the hook reports (default production, the strictest).", valueName: "name"))
    var env: String = "production"

    @Option(name: .long, help: ArgumentHelp("How long the hook holds a gated action for a decision, in seconds.", valueName: "seconds"))
    var hold: Int = 100

    @Option(name: .long, help: ArgumentHelp("The agent id the hook reports (default: the client's name).", valueName: "id"))
    var agent: String?

    func validate() throws {
        guard ClientSetup.clients.contains(client) else {
            throw ValidationError("unknown client '\(client)' (expected \(ClientSetup.clients.joined(separator: ", ")); Codex's TOML is in docs/hooks.md)")
        }
        guard scope == "user" || scope == "project" else { throw ValidationError("--scope: expected user or project, got '\(scope)'") }
        guard hold >= 0, hold <= 3600 else { throw ValidationError("--hold: expected 0 to 3600 seconds") }
        for value in [env, agent ?? client] where value.isEmpty || value.contains(where: { !($0.isLetter || $0.isNumber || "-_.".contains($0)) }) {
            throw ValidationError("'\(value)': use letters, digits, '-', '_' and '.' (it goes into a shell command)")
        }
    }

    func run() throws {
        guard let binary = GlobalSettings.executablePath else {
            Terminal.error("setup: cannot tell where this binary is (/proc/self/exe)")
            throw ExitCode(ExitCodes.unavailable)
        }
        let command = "\(Self.shellQuote(binary)) hook \(client) --env \(env) --agent \(agent ?? client)\(client == "claude-code" ? " --agent-mode supervised" : "") --hold \(hold) || exit 2"
        let setup = ClientSetup(client: client, holdSeconds: hold, command: command)
        let home = Environment.value("HOME") ?? NSHomeDirectory()
        let directory = FileManager.default.currentDirectoryPath
        let path = setup.path(scope: scope, home: home, directory: directory)
        let existing = FileManager.default.fileExists(atPath: path) ? (try? String(contentsOfFile: path, encoding: .utf8)) : ""
        guard let before = existing else {
            Terminal.error("setup: cannot read \(path)")
            throw ExitCode(ExitCodes.unavailable)
        }
        let after: String
        do {
            after = try setup.edit(before, removing: remove)
        } catch {
            Terminal.error("setup: \(path): \(error.description); nothing was written")
            throw ExitCode(ExitCodes.configuration)
        }
        if after == before {
            Terminal.print("\(path): \(remove ? "no Holdpoint entries to take out" : "already set up"); nothing changed")
        } else if dryRun {
            Terminal.print(Self.diff(before, after, path: path))
            return
        } else {
            try write(after, to: path, backup: before.isEmpty ? nil : before)
            Terminal.print("\(path): \(remove ? "Holdpoint's entries taken out" : "hook written") (previous version in \(path).holdpoint-backup)")
        }
        if remove || dryRun { return }
        try prove(setup, directory: directory)
    }

    /// Calls the hook exactly as the client would and checks its answers.
    func prove(_ setup: ClientSetup, directory: String) throws {
        func call(_ shell: String) throws -> (status: Int32, output: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            // The client's own command, as the client runs it, with two changes: no hold
            // (a gated call answers at once) and an agent id that says what this is, for
            // the reviewer who sees the `rm -rf /` request wait in the queue until it expires.
            let probe = setup.command.replacingOccurrences(of: " --hold \(setup.holdSeconds) ", with: " --hold 0 ")
                .replacingOccurrences(of: " --agent \(agent ?? client) ", with: " --agent \(agent ?? client)-setup-check ")
            process.arguments = ["-c", probe]
            let input = Pipe()
            let output = Pipe()
            process.standardInput = input
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            // A hook that exits without reading must not take us down: EPIPE, not SIGPIPE.
            signal(SIGPIPE, SIG_IGN)
            try? input.fileHandleForWriting.write(contentsOf: Data(setup.input(shell, directory: directory).utf8))
            try? input.fileHandleForWriting.close()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: data, as: UTF8.self))
        }
        let read = try call("ls")
        let destroy = try call("rm -rf /")
        let readOK = read.status == 0 && !read.output.contains("\"deny\"")
        let denyOK = destroy.output.contains("\"deny\"") || destroy.status == 2
        Terminal.print("check: a read (`ls`) \(readOK ? "passes" : "DID NOT PASS (exit \(read.status): \(SafeText.escape(String(read.output.prefix(200)))))")")
        Terminal.print("check: `rm -rf /` \(denyOK ? "is denied" : "WAS NOT DENIED (exit \(destroy.status): \(SafeText.escape(String(destroy.output.prefix(200)))))")")
        if !(readOK && denyOK) { throw ExitCode(1) }
        Terminal.print("\(client) now asks Holdpoint before every tool call it covers; `holdpoint checklist` reviews the rest of the setup")
    }

    func write(_ text: String, to path: String, backup: String?) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var mode: mode_t = 0o644
        var info = stat()
        if stat(path, &info) == 0 { mode = info.st_mode & 0o7777 }
        if let backup { try backup.write(toFile: path + ".holdpoint-backup", atomically: true, encoding: .utf8) }
        let temporary = path + ".holdpoint-new"
        try text.write(toFile: temporary, atomically: false, encoding: .utf8)
        chmod(temporary, mode)
        guard rename(temporary, path) == 0 else {
            Terminal.error("setup: cannot replace \(path): \(String(cString: strerror(errno)))")
            throw ExitCode(ExitCodes.unavailable)
        }
    }

    static func shellQuote(_ text: String) -> String {
        text.allSatisfy({ $0.isLetter || $0.isNumber || "/-_.".contains($0) }) ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// The changed lines, as `diff -u` would frame them (one hunk: common head and tail cut).
    static func diff(_ before: String, _ after: String, path: String) -> String {
        let a = before.split(separator: "\n", omittingEmptySubsequences: false)
        let b = after.split(separator: "\n", omittingEmptySubsequences: false)
        var head = 0
        while head < a.count, head < b.count, a[head] == b[head] { head += 1 }
        var tail = 0
        while tail < a.count - head, tail < b.count - head, a[a.count - 1 - tail] == b[b.count - 1 - tail] { tail += 1 }
        var out = ["--- \(path)", "+++ \(path) (after setup)", "@@ -\(head + 1),\(a.count - head - tail) +\(head + 1),\(b.count - head - tail) @@"]
        out += a[head..<(a.count - tail)].map { "-" + $0 }
        out += b[head..<(b.count - tail)].map { "+" + $0 }
        return out.joined(separator: "\n")
    }
}

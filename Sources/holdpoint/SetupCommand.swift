import ArgumentParser
import Foundation
import HoldpointCore

struct Setup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "setup",
        abstract: "Write (or --remove) a client's hook configuration, then prove the hook answers as the client calls it.",
        discussion: """
            CLIENT is claude-code, codex, gemini or cursor. Merges into the existing settings file (a copy is kept beside it \
            first, as FILE.holdpoint-backup), changing nothing outside Holdpoint's own entries; running it twice \
            changes nothing. The hook runs this binary by its absolute path, ends in `|| exit 2` (a hook that cannot \
            run blocks), covers every tool Holdpoint understands, and gives the client a timeout above --hold. Then \
            it calls the hook as the client would: a read must not be denied, `rm -rf /` must be. \
            Exit 0 done (or nothing to do), 1 the hook did not answer as it should, 64 usage, 78 the settings file is \
            not valid JSON (or TOML, Codex's config.toml), named with line and column; nothing written. Codex: the \
            hook goes in hooks.json, or inline in config.toml when that layer already keeps its hooks there.
            """
    )

    @Argument(help: ArgumentHelp("claude-code, codex, gemini or cursor.", valueName: "client"))
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
            throw ValidationError("unknown client '\(client)' (expected \(ClientSetup.clients.joined(separator: ", ")))")
        }
        guard scope == "user" || scope == "project" else { throw ValidationError("--scope: expected user or project, got '\(scope)'") }
        guard hold >= 0, hold <= 3600 else { throw ValidationError("--hold: expected 0 to 3600 seconds") }
        for value in [env, agent ?? client] where value.isEmpty || value.contains(where: { !($0.isLetter || $0.isNumber || "-_.".contains($0)) }) {
            throw ValidationError("'\(value)': use letters, digits, '-', '_' and '.' (it goes into a shell command)")
        }
    }

    /// One settings file as it is and as setup leaves it.
    struct FileChange {
        var path: String
        var before: String
        var after: String
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
        let changes = try plan(setup, home: home, directory: directory)
        let changed = changes.filter { $0.after != $0.before }
        if changed.isEmpty {
            Terminal.print("\(changes[0].path): \(remove ? "no Holdpoint entries to take out" : "already set up"); nothing changed")
        } else if dryRun {
            Terminal.print(changed.map { Self.diff($0.before, $0.after, path: $0.path) }.joined(separator: "\n"))
            return
        } else {
            for change in changed {
                try write(change.after, to: change.path, backup: change.before.isEmpty ? nil : change.before)
                let what = !remove && change.after.contains(" hook \(client) ") ? "hook written" : "Holdpoint's entries taken out"
                Terminal.print("\(change.path): \(what)\(change.before.isEmpty ? "" : " (previous version in \(change.path).holdpoint-backup)")")
            }
        }
        if remove || dryRun { return }
        try prove(setup, directory: directory)
        if client == "codex" { try codexNotes(setup, home: home, directory: directory) }
        if client == "codex" {
            // Codex records trust by the hook's hash: a new or changed hook waits for a person.
            Terminal.print(
                "codex asks Holdpoint before every tool call it covers once you trust the hook: Codex skips a new or changed hook, "
                    + "without a word, until you review and trust it (start codex, open /hooks)"
                    + (scope == "project" ? "; a project's hooks load only in a project Codex trusts" : ""))
        } else {
            Terminal.print("\(client) now asks Holdpoint before every tool call it covers")
        }
        Terminal.print("`holdpoint checklist` reviews the rest of the setup")
    }

    /// Reads a settings file ("" when there is none).
    func contents(_ path: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else { return "" }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            Terminal.error("setup: cannot read \(path)")
            throw ExitCode(ExitCodes.unavailable)
        }
        return text
    }

    /// The files to change and how. Codex: the entry goes where the layer keeps its hooks
    /// (inline in config.toml if it already keeps some there, hooks.json otherwise) and
    /// comes out of the other file, so there is one gate, not two.
    func plan(_ setup: ClientSetup, home: String, directory: String) throws -> [FileChange] {
        let path = setup.path(scope: scope, home: home, directory: directory)
        let before = try contents(path)
        func editJSON(removing: Bool) throws -> String {
            do {
                return try setup.edit(before, removing: removing)
            } catch {
                Terminal.error("setup: \(path): \(error.description); nothing was written")
                throw ExitCode(ExitCodes.configuration)
            }
        }
        guard client == "codex" else { return [FileChange(path: path, before: before, after: try editJSON(removing: remove))] }
        let tomlPath = setup.codexConfigPath(scope: scope, home: home, directory: directory)
        let tomlBefore = try contents(tomlPath)
        let config: CodexConfig
        do {
            config = try CodexConfig(tomlBefore)
        } catch {
            Terminal.error("setup: \(tomlPath): \(error.description); nothing was written")
            throw ExitCode(ExitCodes.configuration)
        }
        let inline = !remove && config.keepsHooksInline && !config.preToolUseIsAValue
        let tomlAfter: String
        do {
            tomlAfter = try config.edited(command: setup.command, timeout: setup.timeoutSeconds, removing: !inline)
        } catch {
            Terminal.error("setup: \(tomlPath): \(error.description); nothing was written")
            throw ExitCode(ExitCodes.configuration)
        }
        let jsonAfter = try editJSON(removing: remove || inline)
        var changes = [FileChange(path: inline ? tomlPath : path, before: inline ? tomlBefore : before, after: inline ? tomlAfter : jsonAfter)]
        changes.append(inline ? FileChange(path: path, before: before, after: jsonAfter) : FileChange(path: tomlPath, before: tomlBefore, after: tomlAfter))
        return changes
    }

    /// Codex's own switch: hooks can be turned off in its configuration (`[features] hooks = false`).
    func codexNotes(_ setup: ClientSetup, home: String, directory: String) throws {
        let tomlPath = setup.codexConfigPath(scope: scope, home: home, directory: directory)
        if let off = (try? CodexConfig(try contents(tomlPath)))?.hooksSwitchedOff {
            Terminal.print("check: Codex runs hooks: NO: \(tomlPath) line \(off.line) sets \(off.path.joined(separator: ".")) = false; remove that line")
            throw ExitCode(1)
        }
        Terminal.print("check: Codex runs hooks: yes (not switched off in \(tomlPath))")
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

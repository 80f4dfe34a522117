import Foundation
import HoldpointCore
import HoldpointTestSupport
import Testing

/// `holdpoint setup CLIENT` against real temporary home directories.
@Suite struct SetupProcessTests {
    struct Home {
        let root: URL
        var environment: [String: String] { ["HOME": root.path, "XDG_STATE_HOME": root.appendingPathComponent("state").path] }

        init() throws { root = try Scratch.directory() }

        func run(_ arguments: [String]) throws -> CLIResult {
            try CLI.run(["setup"] + arguments, environment: environment)
        }

        func file(_ relative: String) -> String { root.appendingPathComponent(relative).path }

        func write(_ relative: String, _ text: String) throws {
            let path = file(relative)
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }

        func read(_ relative: String) -> String { (try? String(contentsOfFile: file(relative), encoding: .utf8)) ?? "" }
    }

    /// Someone else's hooks, a comment and odd spacing, as people leave settings files.
    static let lived = """
        {
          // team settings: keep the formatter hook
          "model": "opus",
          "hooks": {
            "PostToolUse": [
              {"matcher": "Write", "hooks": [{"type": "command", "command": "prettier --write"}]}
            ],
            "PreToolUse": [ {"matcher": "Bash", "hooks": [{"type": "command", "command": "audit-log.sh"}]} ]
          },
          "permissions": {"allow": ["Bash(ls:*)"]}
        }

        """

    @Test func claudeCodeIsSetUpBesideOtherHooksProvedAndTakenOutLeavingEveryOtherByte() throws {
        let home = try Home()
        try home.write(".claude/settings.json", Self.lived)
        let setup = try home.run(["claude-code"])
        #expect(setup.status == 0, "\(setup.stdout)\(setup.stderr)")
        #expect(setup.stdout.contains("check: a read (`ls`) passes"))
        #expect(setup.stdout.contains("check: `rm -rf /` is denied"))
        let written = home.read(".claude/settings.json")
        // The others' hooks and the comment are still there, and ours is in PreToolUse.
        #expect(written.contains("// team settings: keep the formatter hook"))
        #expect(written.contains(#"{"matcher": "Bash", "hooks": [{"type": "command", "command": "audit-log.sh"}]}"#))
        #expect(written.contains("hook claude-code --env production --agent claude-code --agent-mode supervised --hold 100 || exit 2"))
        #expect(written.contains(#""timeout": 120"#))
        #expect(written.contains("ExitPlanMode|mcp__.*"))
        #expect(home.read(".claude/settings.json.holdpoint-backup") == Self.lived)
        // The hook is this binary by its absolute path.
        #expect(written.contains(CLI.binary.resolvingSymlinksInPath().path) || written.contains("/holdpoint hook claude-code"))

        // Twice changes nothing.
        let again = try home.run(["claude-code"])
        #expect(again.stdout.contains("already set up"))
        #expect(home.read(".claude/settings.json") == written)

        // Removal takes out only ours: the file is what it was, byte for byte.
        let removed = try home.run(["claude-code", "--remove"])
        #expect(removed.status == 0)
        #expect(home.read(".claude/settings.json") == Self.lived)
    }

    @Test func aBrokenSettingsFileIsRefusedWithItsLineAndColumnAndLeftAlone() throws {
        let home = try Home()
        let broken = "{\n  \"model\": \"opus\",\n  \"hooks\": {\"PreToolUse\": [}\n}\n"
        try home.write(".claude/settings.json", broken)
        let setup = try home.run(["claude-code"])
        #expect(setup.status == 78)
        #expect(setup.stderr.contains("line 3, column"))
        #expect(setup.stderr.contains("nothing was written"))
        #expect(home.read(".claude/settings.json") == broken)
        #expect(!FileManager.default.fileExists(atPath: home.file(".claude/settings.json.holdpoint-backup")))
    }

    @Test func geminiAndCursorGetTheirOwnShapesAndDryRunWritesNothing() throws {
        let home = try Home()
        let dry = try home.run(["gemini", "--dry-run"])
        #expect(dry.status == 0)
        #expect(dry.stdout.contains("+++ ") && dry.stdout.contains("BeforeTool"))
        #expect(!FileManager.default.fileExists(atPath: home.file(".gemini/settings.json")))

        #expect(try home.run(["gemini", "--hold", "30"]).status == 0)
        let gemini = try JSONReader.parse(home.read(".gemini/settings.json"))
        let entry = gemini["hooks"]?["BeforeTool"]?.arrayValue?.first
        #expect(entry?["matcher"]?.stringValue?.contains("run_shell_command") == true)
        #expect(entry?["hooks"]?.arrayValue?.first?["timeout"] == .number(50_000))  // milliseconds, above the hold

        let cursor = try home.run(["cursor"])
        #expect(cursor.status == 0, "\(cursor.stdout)\(cursor.stderr)")
        let hooks = try JSONReader.parse(home.read(".cursor/hooks.json"))
        #expect(hooks["version"] == .number(1))
        #expect(hooks["hooks"]?["beforeShellExecution"]?.arrayValue?.count == 1)
        #expect(hooks["hooks"]?["beforeMCPExecution"]?.arrayValue?.count == 1)
        #expect(try home.run(["cursor", "--remove"]).status == 0)
        #expect(try JSONReader.parse(home.read(".cursor/hooks.json"))["hooks"] == nil)
        #expect(try home.run(["windsurf"]).status == 64)
    }

    /// A Codex configuration that keeps its hooks inline, as people write it.
    static let codexConfig = #"""
        # my codex
        model = "gpt-5.1"
        notes = """
        [[hooks.PreToolUse]] is only text here
        """

        [features]
        web_search = true

        [[hooks.PostToolUse]]
        matcher = "Bash"
        [[hooks.PostToolUse.hooks]]
        type = "command"
        command = "log-it.sh"

        """#

    @Test func codexGoesInlineWhereItsHooksAreInlineAndComesOutByteForByte() throws {
        let home = try Home()
        try home.write(".codex/config.toml", Self.codexConfig)
        let setup = try home.run(["codex", "--hold", "30"])
        #expect(setup.status == 0, "\(setup.stdout)\(setup.stderr)")
        #expect(setup.stdout.contains("check: `rm -rf /` is denied"))
        #expect(setup.stdout.contains("check: Codex runs hooks: yes"))
        #expect(setup.stdout.contains("/hooks"))  // the trust review Codex asks for
        let written = home.read(".codex/config.toml")
        #expect(written.hasPrefix(Self.codexConfig))
        let outline = try TOMLOutline(written)
        let commands = outline.pairs.filter { $0.path == ["hooks", "PreToolUse", "hooks", "command"] }
        #expect(commands.count == 1)
        guard case .string(let command) = commands.first?.value else {
            Issue.record("no command")
            return
        }
        #expect(command.hasSuffix("hook codex --env production --agent codex --hold 30 || exit 2"))
        #expect(outline.pairs.contains { $0.path == ["hooks", "PreToolUse", "hooks", "timeout"] && $0.line > 0 })
        #expect(written.contains("timeout = 50"))
        #expect(!FileManager.default.fileExists(atPath: home.file(".codex/hooks.json")))
        // The hook answers as Codex calls it: exit 2 blocks, nothing on stdout allows.
        let hook = Process()
        hook.executableURL = URL(fileURLWithPath: "/bin/sh")
        hook.arguments = ["-c", command.replacingOccurrences(of: "--hold 30", with: "--hold 0")]
        hook.environment = ProcessInfo.processInfo.environment.merging(home.environment) { _, new in new }
        let input = Pipe()
        hook.standardInput = input
        hook.standardOutput = FileHandle.nullDevice
        hook.standardError = FileHandle.nullDevice
        try hook.run()
        try input.fileHandleForWriting.write(
            contentsOf: Data(
                #"{"session_id":"s","turn_id":"t","hook_event_name":"PreToolUse","cwd":"/","tool_name":"Bash","tool_use_id":"c","tool_input":{"command":"terraform destroy -auto-approve"}}"#.utf8))
        try input.fileHandleForWriting.close()
        hook.waitUntilExit()
        #expect(hook.terminationStatus == 2)

        #expect(try home.run(["codex", "--hold", "30"]).stdout.contains("already set up"))
        #expect(home.read(".codex/config.toml") == written)
        // A different hold replaces ours rather than adding a second gate.
        #expect(try home.run(["codex", "--hold", "40"]).status == 0)
        #expect(try TOMLOutline(home.read(".codex/config.toml")).pairs.filter { $0.path == ["hooks", "PreToolUse", "hooks", "command"] }.count == 1)

        let removed = try home.run(["codex", "--remove"])
        #expect(removed.status == 0)
        #expect(home.read(".codex/config.toml") == Self.codexConfig)
    }

    @Test func codexWithoutInlineHooksGetsHooksJSONAndIsToldWhenHooksAreOff() throws {
        let home = try Home()
        try home.write(".codex/config.toml", "model = \"o3\"\n\n[features]\nhooks = false\n")
        let setup = try home.run(["codex"])
        #expect(setup.status == 1)
        #expect(setup.stdout.contains("line 4 sets features.hooks = false"))
        let hooks = try JSONReader.parse(home.read(".codex/hooks.json"))
        #expect(hooks["hooks"]?["PreToolUse"]?.arrayValue?.first?["matcher"]?.stringValue == "Bash|apply_patch|Edit|Write|mcp__.*")
        #expect(home.read(".codex/config.toml") == "model = \"o3\"\n\n[features]\nhooks = false\n")
        // The checklist sees the hook, and fails while Codex would not call it.
        let checklist = try CLI.run(["checklist"], environment: home.environment)
        #expect(checklist.stdout.contains(".codex/hooks.json: reports its environment; answers: yes"))
        #expect(checklist.stdout.contains("Codex does not run hooks"))

        let broken = "model = \"o3\"\n[features\n"
        try home.write(".codex/config.toml", broken)
        let refused = try home.run(["codex", "--remove"])
        #expect(refused.status == 78)
        #expect(refused.stderr.contains("config.toml: line 2, column"))
        #expect(home.read(".codex/config.toml") == broken)
    }
}

/// `holdpoint checklist` fails and passes as the setup changes.
@Suite struct ChecklistProcessTests {
    @Test func theChecklistFailsUntilTheSetupIsRightThenPasses() throws {
        let home = try SetupProcessTests.Home()
        let env = try QueueEnv(policy: "approvals:\n  timeouts: {gated: 10m}\n")
        var environment = env.environment.merging(home.environment) { $1 }
        func checklist() throws -> (status: Int32, report: JSONValue) {
            let result = try CLI.run(["checklist", "--json"], environment: environment)
            #expect(!result.stdout.isEmpty, "exit \(result.status): \(result.stderr)")
            return (result.status, (try? JSONReader.parse(result.stdout)) ?? .null)
        }
        func status(_ report: JSONValue, _ n: Int) -> String? {
            report["checks"]?.arrayValue?.first { $0["check"] == .number(Double(n)) }?["status"]?.stringValue
        }
        // Nobody named to review, no limits, no hook on this machine.
        let before = try checklist()
        #expect(before.status == 1)
        #expect(before.report["passed"] == .bool(false))
        #expect(status(before.report, 1) == "FAIL")
        #expect(status(before.report, 7) == "FAIL")
        #expect(status(before.report, 8) == "FAIL")
        #expect(status(before.report, 5) == "UNKNOWN")
        #expect(before.report["checks"]?.arrayValue?.first?["eu_ai_act"]?.stringValue?.contains("Art. 14") == true)

        // Reviewers named, a rate limit, and the hook set up for Claude Code.
        try "approvals:\n  reviewers: [rita]\nlimits:\n  - agent: \"*\"\n    class: [delete]\n    max: 5\n    per: 1h\n".write(toFile: env.policy, atomically: true, encoding: .utf8)
        let setup = try CLI.run(["setup", "claude-code"], environment: environment)
        #expect(setup.status == 0, "\(setup.stdout)\(setup.stderr)")
        let after = try checklist()
        #expect(after.status == 0, "\(after.report)")
        #expect(status(after.report, 1) == "UNKNOWN")  // file mode: OS permissions Holdpoint cannot see
        #expect(status(after.report, 7) == "PASS")
        #expect(status(after.report, 8) == "PASS")
        #expect(after.report["hooks"]?.arrayValue?.first?["answers"] == .bool(true))
        #expect(status(after.report, 6) == "PASS")
        let auditEvidence = after.report["checks"]?.arrayValue?.first { $0["check"] == .number(6) }?["evidence"]?.arrayValue ?? []
        #expect(auditEvidence.contains { $0.stringValue?.hasPrefix("signed head ") == true })

        // A queue directory every user may write: anyone could forge a decision.
        let directory = (env.queue as NSString).deletingLastPathComponent
        let scopingEvidence = { (report: JSONValue) in report["checks"]?.arrayValue?.first?["evidence"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
        #expect(scopingEvidence(after.report).contains { $0.hasPrefix("can write \(env.queue): ") })
        #expect(chmod(directory, 0o777) == 0)
        let open = try checklist()
        #expect(open.status == 1)
        #expect(status(open.report, 1) == "FAIL")
        #expect(scopingEvidence(open.report).contains("can write \(directory): every user (mode allows others to write)"))
        #expect(chmod(directory, 0o755) == 0)

        // A hook that no longer answers (the binary moved away) fails the checklist again.
        let settings = home.read(".claude/settings.json")
        try home.write(".claude/settings.json", settings.replacingOccurrences(of: #""command": "[^"]*/holdpoint hook"#, with: #""command": "/nonexistent/holdpoint hook"#, options: .regularExpression))
        environment["PATH"] = "/usr/bin:/bin"
        let broken = try checklist()
        #expect(broken.status == 1)
        #expect(status(broken.report, 8) == "FAIL")
        #expect(broken.report["hooks"]?.arrayValue?.first?["answers"] == .bool(false))

        // The signed head gone: the audit trail check fails too.
        try FileManager.default.removeItem(atPath: env.queue + ".audit-head")
        let headless = try checklist()
        #expect(status(headless.report, 6) == "FAIL")
    }
}

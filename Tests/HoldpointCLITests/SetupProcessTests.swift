import Foundation
import HoldpointCore
import Testing

/// `holdpoint setup CLIENT` against real temporary home directories.
@Suite struct SetupProcessTests {
    struct Home {
        let root: URL
        var environment: [String: String] { ["HOME": root.path, "XDG_STATE_HOME": root.appendingPathComponent("state").path] }

        init() throws { root = try CLI.temporaryDirectory() }

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
        #expect(try home.run(["codex"]).status == 64)
    }
}

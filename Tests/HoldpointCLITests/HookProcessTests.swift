import Foundation
import GRDB
import HoldpointCore
import Testing

/// `holdpoint hook …` as the clients run it: a process with the hook JSON on stdin.
@Suite(.serialized) struct HookProcessTests {
    static func bash(_ command: String, cwd: String = "/tmp") -> String {
        let input: JSONValue = .object([
            ("session_id", .string("sess-1")), ("transcript_path", .string("/tmp/t.jsonl")), ("cwd", .string(cwd)),
            ("permission_mode", .string("default")), ("hook_event_name", .string("PreToolUse")), ("tool_name", .string("Bash")),
            ("tool_input", .object([("command", .string(command)), ("description", .string("agent's explanation"))])),
            ("tool_use_id", .string("toolu_01")),
        ])
        return JSONWriter.compact(input)
    }

    static func decision(_ result: CLIResult) -> (decision: String?, reason: String) {
        let json = try? JSONReader.parse(result.stdout)
        let output = json?["hookSpecificOutput"]
        return (output?["permissionDecision"]?.stringValue, output?["permissionDecisionReason"]?.stringValue ?? result.stderr)
    }

    /// Starts a hook in the background with `input` on stdin; stdout and stderr go to files.
    static func startHook(_ arguments: [String], input: String, env: QueueEnv) throws -> (Process, URL, URL) {
        let out = env.directory.appendingPathComponent("hook-\(UUID().uuidString).out")
        let err = env.directory.appendingPathComponent("hook-\(UUID().uuidString).err")
        let inFile = env.directory.appendingPathComponent("hook-\(UUID().uuidString).in")
        try input.write(to: inFile, atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in env.environment { environment[key] = value }
        process.environment = environment
        process.standardInput = try FileHandle(forReadingFrom: inFile)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        return (process, out, err)
    }

    static func waitForPending(_ env: QueueEnv, containing text: String) throws -> String {
        for _ in 0..<300 {
            if let request = try env.list(["--state", "pending"]).first(where: { $0["action"]?["command"]?.stringValue?.contains(text) == true }),
                let id = request["id"]?.stringValue
            {
                return id
            }
            usleep(20_000)
        }
        return ""
    }

    /// A read runs on its own and is recorded. Holdpoint answers no explicit "allow" for it
    /// (that would skip Claude Code's own `ask` rules): no output, exit 0. `--allow-explicit`
    /// opts in to "allow"; an approved action always gets it (see the next test).
    @Test func aReadIsAllowedAtOnceAndRecorded() throws {
        let env = try QueueEnv()
        let result = try env.run(["hook", "claude-code", "--env", "production"], stdin: Self.bash("ls -la"))
        #expect(result.status == 0)
        #expect(result.stdout.isEmpty && Self.decision(result).decision == nil, "\(result.stdout) \(result.stderr)")
        let explicit = try env.run(["hook", "claude-code", "--env", "production", "--allow-explicit"], stdin: Self.bash("ls -la"))
        #expect(Self.decision(explicit).decision == "allow", "\(explicit.stdout) \(explicit.stderr)")
        let gemini = try env.run(
            ["hook", "gemini", "--env", "production"],
            stdin: Self.bash("ls -la").replacingOccurrences(of: "\"Bash\"", with: "\"run_shell_command\"").replacingOccurrences(of: "PreToolUse", with: "BeforeTool"))
        #expect(gemini.stdout == "{}\n", "\(gemini.stdout) \(gemini.stderr)")
        let recorded = try env.list()
        #expect(recorded.count == 3)
        #expect(recorded.first?["state"]?.stringValue == "allowed")
        #expect(recorded.first?["agent"]?["id"]?.stringValue == "claude-code")
        #expect(try env.run(["audit", "verify"]).status == 0)
    }

    @Test func aDestructiveCommandIsHeldUntilAReviewerApprovesIt() throws {
        let env = try QueueEnv()
        let command = "rm -rf /srv/cost-explorer"
        let (hook, out, _) = try Self.startHook(["hook", "claude-code", "--hold", "30"], input: Self.bash(command), env: env)
        let id = try Self.waitForPending(env, containing: command)
        #expect(!id.isEmpty)
        #expect(hook.isRunning, "the hook must hold while the request is pending")
        // A reviewer in another process approves it.
        let decided = try env.run(["decide", id, "approve", "--reason", "checked the backup"])
        #expect(decided.status == 0, "\(decided.stderr)")
        hook.waitUntilExit()
        #expect(hook.terminationStatus == 0)
        let answer = try JSONReader.parse(String(decoding: try Data(contentsOf: out), as: UTF8.self))
        #expect(answer["hookSpecificOutput"]?["permissionDecision"]?.stringValue == "allow")
        #expect(answer["hookSpecificOutput"]?["permissionDecisionReason"]?.stringValue?.contains("checked the backup") == true)

        // A different command after that approval gets no free pass.
        let other = try env.run(["hook", "claude-code", "--hold", "0.2"], stdin: Self.bash("rm -rf /srv/billing"))
        #expect(Self.decision(other).decision == "deny")
        #expect(Self.decision(other).reason.contains("awaiting approval ID"))
        // Nor does the same command again: the approval was for one use.
        let again = try env.run(["hook", "claude-code", "--hold", "0.2"], stdin: Self.bash(command))
        #expect(Self.decision(again).decision == "deny")
        #expect(!Self.decision(again).reason.contains(id))
    }

    @Test func aRetryAfterApprovalIsAllowedOnce() throws {
        let env = try QueueEnv()
        let command = "rm -rf /srv/data/cache"
        let first = try env.run(["hook", "claude-code", "--hold", "0.2"], stdin: Self.bash(command, cwd: "/srv/infra"))
        #expect(Self.decision(first).decision == "deny")
        let reason = Self.decision(first).reason
        #expect(reason.contains("awaiting approval ID"))
        #expect(reason.contains("run the same action again once approved"))
        let id = try Self.waitForPending(env, containing: command)
        #expect(reason.contains(id))
        _ = try env.run(["decide", id, "approve", "--reason", "planned teardown"])
        // The same command in another directory is another action.
        #expect(Self.decision(try env.run(["hook", "claude-code", "--hold", "0"], stdin: Self.bash(command, cwd: "/srv/prod"))).decision == "deny")
        let retry = try env.run(["hook", "claude-code", "--hold", "0"], stdin: Self.bash(command, cwd: "/srv/infra"))
        #expect(Self.decision(retry).decision == "allow", "\(retry.stdout)")
        let request = try env.list().first { $0["id"]?.stringValue == id }
        #expect(request?["state"]?.stringValue == "approved")
        #expect(try env.run(["audit", "verify"]).status == 0)
    }

    @Test func aRejectionReachesTheModelWithTheReviewersReason() throws {
        let env = try QueueEnv()
        let (hook, out, _) = try Self.startHook(["hook", "claude-code", "--hold", "30"], input: Self.bash("kubectl delete deployment payments"), env: env)
        let id = try Self.waitForPending(env, containing: "payments")
        _ = try env.run(["decide", id, "reject", "--reason", "scale the deployment to zero instead"])
        hook.waitUntilExit()
        let answer = try JSONReader.parse(String(decoding: try Data(contentsOf: out), as: UTF8.self))
        #expect(answer["hookSpecificOutput"]?["permissionDecision"]?.stringValue == "deny")
        #expect(answer["hookSpecificOutput"]?["permissionDecisionReason"]?.stringValue?.contains("scale the deployment to zero instead") == true)
    }

    @Test func theAgentCannotApproveItsOwnAction() throws {
        let env = try QueueEnv()
        for command in [
            "holdpoint decide 01JD8X3Q4W5E6R7T8Y9U0I1O2P approve --reason ok", "bash -c 'holdpoint resume --all'",
            "sqlite3 \(env.queue) \"UPDATE requests SET state='approved'\"", "echo 'approvals: {required: 0}' > \(env.policy)",
        ] {
            let result = try env.run(["hook", "claude-code", "--hold", "0"], stdin: Self.bash(command))
            #expect(Self.decision(result).decision == "deny", "\(command): \(result.stdout)")
            #expect(Self.decision(result).reason.contains("blocked by policy"), "\(command): \(result.stdout)")
        }
        // Each attempt is in the audit as blocked.
        #expect(try env.list(["--state", "blocked"]).count == 4)
        let write = JSONWriter.compact(
            .object([
                ("hook_event_name", .string("PreToolUse")), ("cwd", .string(env.directory.path)), ("tool_name", .string("Write")),
                ("tool_input", .object([("file_path", .string(env.policy)), ("content", .string("approvals: {required: 0}"))])),
            ]))
        #expect(Self.decision(try env.run(["hook", "claude-code"], stdin: write)).decision == "deny")
    }

    // MARK: - Failing closed

    @Test func everyFailureOfHoldpointDenies() throws {
        let env = try QueueEnv()
        // Malformed input, for every client.
        for client in ["claude-code", "codex", "gemini", "cursor"] {
            let result = try env.run(["hook", client], stdin: "{not json")
            let denied = result.status == 2 || result.stdout.contains("\"deny\"")
            #expect(denied, "\(client): \(result.status) \(result.stdout)")
            #expect((result.stdout + result.stderr).contains("not valid JSON"))
        }
        // A broken policy.
        try "approvals:\n  required: lots\n".write(toFile: env.policy, atomically: true, encoding: .utf8)
        let badPolicy = try env.run(["hook", "claude-code"], stdin: Self.bash("ls"))
        #expect(Self.decision(badPolicy).decision == "deny")
        #expect(Self.decision(badPolicy).reason.contains("policy is invalid"))
        try "approvals:\n  allow_self_approval: true\n".write(toFile: env.policy, atomically: true, encoding: .utf8)
        // An unusable queue (its directory is a file).
        let blocker = env.directory.appendingPathComponent("not-a-dir")
        _ = FileManager.default.createFile(atPath: blocker.path, contents: Data("x".utf8))
        let noQueue = try CLI.run(
            ["hook", "claude-code"], stdin: Array(Self.bash("ls").utf8),
            environment: ["HOLDPOINT_QUEUE": blocker.path + "/queue.sqlite", "HOLDPOINT_POLICY": env.policy])
        #expect(Self.decision(noQueue).decision == "deny")
        #expect(Self.decision(noQueue).reason.contains("queue is unavailable"))
        // Bad arguments (a typo in the settings file) and an unknown client: exit 2 blocks in every client.
        let typo = try env.run(["hook", "claude-code", "--hodl", "5"], stdin: Self.bash("ls"))
        #expect(typo.status == 2)
        #expect(typo.stderr.contains("denied (fail closed)"))
        #expect(try env.run(["hook", "claude"], stdin: Self.bash("ls")).status == 2)
        // Empty input.
        #expect(Self.decision(try env.run(["hook", "claude-code"], stdin: "")).decision == "deny")
    }

    @Test func aCrashOrASignalDenies() throws {
        let env = try QueueEnv()
        for signal in [SIGSEGV, SIGABRT, SIGTERM] {
            let (hook, out, err) = try Self.startHook(["hook", "claude-code", "--hold", "30"], input: Self.bash("rm -rf /srv/\(signal)"), env: env)
            _ = try Self.waitForPending(env, containing: "/srv/\(signal)")
            kill(hook.processIdentifier, signal)
            hook.waitUntilExit()
            #expect(hook.terminationStatus == 2, "signal \(signal): \(hook.terminationStatus) \(hook.terminationReason.rawValue)")
            #expect(String(decoding: try Data(contentsOf: err), as: UTF8.self).contains("denied (fail closed)"))
            #expect(try Data(contentsOf: out).isEmpty)
        }
    }

    @Test func aHangDeniesBeforeTheClientGivesUp() throws {
        // Another process holds the queue's write lock: the hook cannot record anything, and
        // its watchdog answers (deny, exit 2) at --hold + 5 seconds.
        let env = try QueueEnv()
        _ = try env.run(["list"])
        var configuration = Configuration()
        configuration.allowsUnsafeTransactions = true  // the point: a transaction left open, as a stuck process would
        let lock = try DatabaseQueue(path: env.queue, configuration: configuration)
        try lock.writeWithoutTransaction { db in try db.execute(sql: "BEGIN EXCLUSIVE") }
        let started = Date()
        let (hook, _, err) = try Self.startHook(["hook", "claude-code", "--hold", "1"], input: Self.bash("ls"), env: env)
        hook.waitUntilExit()
        let elapsed = Date().timeIntervalSince(started)
        try lock.writeWithoutTransaction { db in try db.execute(sql: "ROLLBACK") }
        #expect(hook.terminationStatus == 2)
        #expect(elapsed < 15, "answered after \(elapsed) s")
        #expect(String(decoding: try Data(contentsOf: err), as: UTF8.self).contains("watchdog"))
    }

    // MARK: - Other clients

    @Test func codexGeminiAndCursorDenyInTheirOwnWays() throws {
        let env = try QueueEnv()
        let codex = #"{"session_id":"s","turn_id":"t","hook_event_name":"PreToolUse","cwd":"/w","tool_name":"Bash","tool_use_id":"c1","tool_input":{"command":"rm -rf /"}}"#
        let c = try env.run(["hook", "codex", "--hold", "0"], stdin: codex)
        #expect(c.status == 2)
        #expect(c.stdout.isEmpty)
        #expect(c.stderr.contains("holdpoint:"))
        let codexRead = #"{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"git status"}}"#
        let cr = try env.run(["hook", "codex"], stdin: codexRead)
        #expect(cr.status == 0)
        #expect(cr.stdout.isEmpty)

        let gemini =
            #"{"session_id":"g","cwd":"/w","hook_event_name":"BeforeTool","timestamp":"2026-11-25T10:00:00Z","tool_name":"run_shell_command","tool_input":{"command":"DROP=1 psql -c 'DROP TABLE users'"}}"#
        let g = try env.run(["hook", "gemini", "--hold", "0"], stdin: gemini)
        #expect(g.status == 0)
        #expect(try JSONReader.parse(g.stdout)["decision"]?.stringValue == "deny")

        let cursor = #"{"hook_event_name":"beforeShellExecution","conversation_id":"c","generation_id":"g","workspace_roots":["/w"],"command":"ls","cwd":"/w"}"#
        let k = try env.run(["hook", "cursor"], stdin: cursor)
        #expect(try JSONReader.parse(k.stdout)["permission"]?.stringValue == "allow")
    }
}

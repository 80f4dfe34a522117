import Foundation
import HoldpointCore
import Testing

/// `holdpoint exec`: runs only what is allowed or approved, bound to the exact argv.
@Suite(.serialized) struct ExecProcessTests {
    static func request(_ env: QueueEnv, _ id: String) throws -> JSONValue? {
        try env.list().first { $0["id"]?.stringValue == id }
    }

    static func waitFor(_ env: QueueEnv, state: String, containing text: String) throws -> JSONValue? {
        for _ in 0..<300 {
            if let r = try env.list(["--state", state]).first(where: { $0["action"]?["command"]?.stringValue?.contains(text) == true }) { return r }
            usleep(20_000)
        }
        return nil
    }

    @Test func anAllowedCommandRunsWithItsOutputAndStatus() throws {
        let env = try QueueEnv()
        let ok = try env.run(["exec", "--env", "development", "--", "echo", "hello from the child"])
        #expect(ok.status == 0)
        #expect(ok.stdout == "hello from the child\n")
        let failing = try env.run(["exec", "--env", "development", "--", "sh", "-c", "echo oops >&2; exit 7"])
        #expect(failing.status == 7)
        #expect(failing.stderr.contains("oops"))
        let records = try env.list()
        #expect(records.map { $0["state"]?.stringValue } == ["succeeded", "failed"])
        #expect(records[1]["run"]?["exit_code"]?.numberValue == 7)
        #expect(records[1]["action"]?["argv"]?.arrayValue?.count == 3)
        #expect(try env.run(["exec", "--env", "development", "--", "no-such-program-xyz"]).status == 127)
        #expect(try env.run(["audit", "verify"]).status == 0)
    }

    @Test func blockedNeverRuns() throws {
        let env = try QueueEnv()
        let marker = env.directory.appendingPathComponent("ran").path
        let result = try env.run(["exec", "--", "sh", "-c", "touch \(marker); holdpoint decide 01JD8X3Q4W5E6R7T8Y9U0I1O2P approve"])
        #expect(result.status == 2)
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test func aGatedCommandWaitsForApprovalThenRuns() throws {
        let env = try QueueEnv()
        let victim = env.directory.appendingPathComponent("victim")
        try FileManager.default.createDirectory(at: victim, withIntermediateDirectories: true)
        let output = env.directory.appendingPathComponent("exec.out")
        let process = try CLI.start(["exec", "--env", "production", "--agent", "ops-bot", "--", "rm", "-rf", victim.path], environment: env.environment, output: output)
        let pending = try Self.waitFor(env, state: "pending", containing: victim.path)
        let id = try #require(pending?["id"]?.stringValue)
        #expect(FileManager.default.fileExists(atPath: victim.path), "ran before approval")
        #expect(try env.run(["decide", id, "approve", "--reason", "scratch data"]).status == 0)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: victim.path))
        let record = try Self.request(env, id)
        #expect(record?["state"]?.stringValue == "succeeded")
        #expect(record?["consumed"]?["by"]?.stringValue == "exec")
    }

    @Test func anApprovalForAnotherCommandIsRefused() throws {
        let env = try QueueEnv()
        let cwd = FileManager.default.currentDirectoryPath
        let good = env.directory.appendingPathComponent("approved-target").path
        let evil = env.directory.appendingPathComponent("other-target").path
        _ = FileManager.default.createFile(atPath: good, contents: Data("x".utf8))
        _ = FileManager.default.createFile(atPath: evil, contents: Data("x".utf8))
        // The request an agent queued earlier, in exec's action shape: argv and cwd.
        let document = JSONWriter.compact(
            .object([
                ("schema", .string("holdpoint.action/v1")),
                ("agent", .object([("id", .string("bot")), ("mode", .string("supervised"))])),
                ("environment", .string("production")),
                (
                    "action",
                    .object([
                        ("kind", .string("shell")), ("command", .string("rm -f \(good)")),
                        ("argv", .array([.string("rm"), .string("-f"), .string(good)])), ("cwd", .string(cwd)),
                    ])
                ),
            ]))
        let submitted = try env.run(["submit", "--json"], stdin: document)
        #expect(submitted.status == 5)
        let id = try #require((try? JSONReader.parse(submitted.stdout))?["id"]?.stringValue)
        #expect(try env.run(["decide", id, "approve", "--reason", "ok"]).status == 0)

        let tampered = try env.run(["exec", "--agent", "bot", "--agent-mode", "supervised", "--approval", id, "--", "rm", "-f", evil])
        #expect(tampered.status == 2)
        #expect(tampered.stderr.contains("different action"))
        #expect(FileManager.default.fileExists(atPath: evil), "the other command ran")

        let exact = try env.run(["exec", "--agent", "bot", "--agent-mode", "supervised", "--approval", id, "--", "rm", "-f", good])
        #expect(exact.status == 0, "\(exact.stderr)")
        #expect(!FileManager.default.fileExists(atPath: good))
        // One use.
        let twice = try env.run(["exec", "--agent", "bot", "--agent-mode", "supervised", "--approval", id, "--", "rm", "-f", good])
        #expect(twice.status == 2)
        #expect(twice.stderr.contains("one use") || twice.stderr.contains("succeeded"))
    }

    @Test func haltingTheAgentTerminatesTheChild() throws {
        let env = try QueueEnv()
        let output = env.directory.appendingPathComponent("exec.out")
        // The child ignores SIGTERM, so the grace period ends in SIGKILL.
        let process = try CLI.start(
            ["exec", "--env", "development", "--agent", "runaway", "--grace", "1", "--", "sh", "-c", "trap '' TERM; exec sleep 60"],
            environment: env.environment, output: output)
        let running = try Self.waitFor(env, state: "running", containing: "sleep 60")
        let id = try #require(running?["id"]?.stringValue)
        #expect((running?["run"]?["pid"]?.numberValue ?? 0) > 0)
        let started = Date()
        #expect(try env.run(["halt", "runaway", "--reason", "runaway loop"]).status == 0)
        process.waitUntilExit()
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(process.terminationStatus == 4)
        let record = try Self.request(env, id)
        #expect(record?["state"]?.stringValue == "failed")
        #expect(record?["run"]?["signal"]?.numberValue == Double(SIGKILL))
        #expect(try env.run(["audit", "verify"]).status == 0)
    }

    @Test func usageErrors() throws {
        let env = try QueueEnv()
        #expect(try env.run(["exec"]).status == 64)
        #expect(try env.run(["exec", "--approval", "nope", "--", "ls"]).status == 64)
    }
}

import Foundation
import HoldpointCore
import Testing

/// The approval-node example of docs/hooks.md, run as written with plain Python against a real queue.
@Suite(.serialized) struct OrchestratorExampleTests {
    /// The Python block under "## Any orchestrator" in docs/hooks.md.
    static func example() throws -> String {
        let readme = try String(contentsOf: CLI.packageRoot.appendingPathComponent("docs/hooks.md"), encoding: .utf8)
        guard let section = readme.range(of: "## Any orchestrator"),
            let start = readme.range(of: "```python\n", range: section.upperBound..<readme.endIndex),
            let end = readme.range(of: "\n```", range: start.upperBound..<readme.endIndex)
        else { return "" }
        return String(readme[start.upperBound..<end.lowerBound])
    }

    static func run(_ env: QueueEnv, _ arguments: [String]) throws -> CLIResult {
        let script = env.directory.appendingPathComponent("approval_node.py")
        try example().write(to: script, atomically: true, encoding: .utf8)
        var environment = env.environment
        environment["HOLDPOINT_BIN"] = CLI.binary.path
        return try CLI.run(["python3", script.path] + arguments, environment: environment, executable: URL(fileURLWithPath: "/usr/bin/env"))
    }

    @Test func theExampleRoutesOnEveryOutcome() throws {
        #expect(try Self.example().contains("def approval_node"))
        let env = try QueueEnv()
        let read = try Self.run(env, ["production", "ls -la"])
        #expect(read.status == 0, "\(read.stderr)")
        #expect(read.stdout.hasPrefix("execute "), "\(read.stdout)")
        #expect(read.stdout.contains("allowed"))

        let blocked = try Self.run(env, ["production", "holdpoint decide 01JD8X3Q4W5E6R7T8Y9U0I1O2P approve"])
        #expect(blocked.stdout.hasPrefix("replan "), "\(blocked.stdout) \(blocked.stderr)")

        let expired = try Self.run(env, ["production", "rm -rf /srv/old-data", "1s"])
        #expect(expired.stdout.hasPrefix("escalate "), "\(expired.stdout) \(expired.stderr)")

        // Gated, then approved by a reviewer in another process while the node waits.
        let output = env.directory.appendingPathComponent("node.out")
        let script = env.directory.appendingPathComponent("approval_node.py")
        var environment = env.environment
        environment["HOLDPOINT_BIN"] = CLI.binary.path
        let node = try CLI.start(
            ["python3", script.path, "production", "rm -rf /srv/tmp-cache"], executable: URL(fileURLWithPath: "/usr/bin/env"),
            environment: environment, output: output)
        var id = ""
        for _ in 0..<300 where id.isEmpty {
            id = try env.list(["--state", "pending"]).first { $0["action"]?["command"]?.stringValue == "rm -rf /srv/tmp-cache" }?["id"]?.stringValue ?? ""
            if id.isEmpty { usleep(20_000) }
        }
        #expect(try env.run(["decide", id, "approve", "--reason", "cache only"]).status == 0)
        node.waitUntilExit()
        #expect(try CLI.output(of: output).hasPrefix("execute \(id) approved"))

        // A queue it cannot use: stop (fail closed).
        var broken = env.environment
        broken["HOLDPOINT_QUEUE"] = "/proc/holdpoint-cannot-be-here/queue.sqlite"
        broken["HOLDPOINT_BIN"] = CLI.binary.path
        let stop = try CLI.run(["python3", script.path, "production", "ls"], environment: broken, executable: URL(fileURLWithPath: "/usr/bin/env"))
        #expect(stop.stdout.hasPrefix("stop"), "\(stop.stdout) \(stop.stderr)")
    }
}

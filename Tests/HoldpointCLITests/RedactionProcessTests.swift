import Foundation
import HoldpointCore
import Testing

/// Secrets in an agent's command never reach the disk, the exports or the screen, and the
/// approval still binds to the real command (issue 14).
@Suite(.serialized) struct RedactionProcessTests {
    static let secrets = ["Sup3rS3cretPw", "AKIAIOSFODNN7EXAMPLE", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"]
    static let command = "mysql -u root --password=Sup3rS3cretPw -e 'DROP TABLE sessions'; AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789 ./sync.sh"

    func leaks(_ text: String) -> [String] { Self.secrets.filter { text.contains($0) } }

    @Test func secretsNeverReachTheQueueTheExportsOrTheConsole() throws {
        let env = try QueueEnv(policy: ConsoleTmuxTests.quickPolicy)
        // The agent's hook: held (gated), recorded without its secrets.
        let first = try env.run(["hook", "claude-code", "--env", "production", "--hold", "0"], stdin: HookProcessTests.bash(Self.command))
        #expect(first.stdout.contains("\"deny\""))
        #expect(leaks(first.stdout + first.stderr).isEmpty)
        let pending = try #require(try env.list(["--state", "pending"]).first)
        let id = try #require(pending["id"]?.stringValue)
        #expect(JSONWriter.compact(pending).contains("‹redacted:password›"))

        // The console shows the redacted text.
        let session = try ConsoleTmuxTests().review(env)
        let screen = try session.waitFor("‹redacted:password›")
        #expect(leaks(screen).isEmpty)
        try session.keys("q")

        // Approved, the real command (with its secrets) is allowed once: the hash is the real one.
        #expect(try env.run(["decide", id, "approve", "--reason", "rotation"]).status == 0)
        let again = try env.run(["hook", "claude-code", "--env", "production", "--hold", "0"], stdin: HookProcessTests.bash(Self.command))
        #expect(again.stdout.contains("\"allow\""), "\(again.stdout)")
        // A different secret is a different action: not covered by that approval.
        let other = try env.run(["hook", "claude-code", "--env", "production", "--hold", "0"], stdin: HookProcessTests.bash(Self.command.replacingOccurrences(of: "Sup3rS3cretPw", with: "0therPw")))
        #expect(other.stdout.contains("\"deny\""))

        // Nothing on disk or in any export holds a secret.
        for export in [["list", "--json"], ["audit", "export"], ["audit", "export", "--format", "csv"], ["audit", "tail", "-n", "50"], ["check", "--command", Self.command]] {
            let result = try env.run(export)
            #expect(leaks(result.stdout + result.stderr).isEmpty, "\(export)")
        }
        let directory = URL(fileURLWithPath: env.queue).deletingLastPathComponent()
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
            let bytes = try Data(contentsOf: directory.appendingPathComponent(name))
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(leaks(text).isEmpty, "\(name) holds a secret")
        }
        #expect(try env.run(["audit", "verify"]).status == 0)
    }
}

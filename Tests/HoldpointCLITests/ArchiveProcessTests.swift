import Foundation
import HoldpointCore
import HoldpointStore
import HoldpointTestSupport
import Testing

/// `holdpoint queue archive` as an operator runs it, and `retention:` in the policy.
@Suite struct ArchiveProcessTests {
    /// A queue with history from 40 days ago (decided), and a request submitted now.
    func agedQueue(_ env: QueueEnv) throws -> (old: [String], fresh: String) {
        let store = try QueueStore(path: env.queue)
        let long = Clock.now() - 40 * 86_400
        var old: [String] = []
        for i in 0..<5 {
            let request = try ActionRequest.shellCommand("rm -rf /srv/old-\(i)", environment: "production", agentID: "bot", mode: .supervised)
            let c = Classification(tier: .gated, operationClass: .delete, reasons: [Reason(rule: "t", message: "t", tier: .gated)], destructive: true, irreversible: false, dataLoss: false)
            let stored = try store.submit(request, classification: c, approvals: ApprovalRules(), submitter: Identity(user: "agent", via: "local"), now: long + Double(i))
            _ = try store.decide(id: stored.id, verdict: .reject, reviewer: Identity(user: "rita", via: "tty"), reason: "no", now: long + 60 + Double(i))
            old.append(stored.id)
        }
        let fresh = try env.submit("rm -rf /srv/new")
        #expect(fresh.status == 5)
        return (old, fresh.id)
    }

    @Test func anOperatorArchivesOldHistoryAndVerifyStillWalksTheWholeChain() throws {
        let env = try QueueEnv()
        let (old, fresh) = try agedQueue(env)
        let segment = env.directory.appendingPathComponent("2026-10.sqlite").path

        let archived = try env.run(["queue", "archive", "--before", "30d", "--to", segment, "--json"])
        #expect(archived.status == 0, "\(archived.stderr)")
        let report = try JSONReader.parse(archived.stdout)
        #expect(report["archived"] == .bool(true))
        #expect(report["requests"] == .number(Double(old.count)))

        let listed = Set(try env.list().compactMap { $0["id"]?.stringValue })
        #expect(listed == [fresh])
        let verify = try env.run(["audit", "verify"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")

        // Again: nothing that old is left, and the segment file is never reused.
        let again = try env.run(["queue", "archive", "--before", "30d", "--to", env.directory.appendingPathComponent("next.sqlite").path])
        #expect(again.status == 0)
        #expect(again.stdout.contains("nothing to archive"))
        let reused = try env.run(["queue", "archive", "--before", "30d", "--to", segment])
        #expect(reused.status == 65)
        #expect(reused.stderr.contains("already exists"))

        // The segment is part of the chain: moving it away fails verification, naming it.
        try FileManager.default.moveItem(atPath: segment, toPath: segment + ".moved")
        let broken = try env.run(["audit", "verify"])
        #expect(broken.status == 1)
        #expect(broken.stdout.contains(segment))
    }

    @Test func anAgeShorterThanWhatTheGatewayCountsIsRefused() throws {
        let env = try QueueEnv(policy: "limits:\n  - agent: \"*\"\n    class: [delete]\n    max: 3\n    per: 3d\n")
        let short = try env.run(["queue", "archive", "--before", "2d", "--to", env.directory.appendingPathComponent("x").path])
        #expect(short.status == 64)
        #expect(short.stderr.contains("shorter than 3d"))
        let nonsense = try env.run(["queue", "archive", "--before", "soon", "--to", env.directory.appendingPathComponent("x").path])
        #expect(nonsense.status == 64)
        let socket = try CLI.run(["queue", "archive", "--before", "30d", "--to", "x", "--socket", "/nonexistent.sock"])
        #expect(socket.status == 64)
        #expect(socket.stderr.contains("retention:"))
    }

    @Test func policyLintRefusesARetentionShorterThanALimitWindow() throws {
        let directory = try Scratch.directory()
        let policy = directory.appendingPathComponent("p.yaml")
        try "limits:\n  - agent: \"*\"\n    class: [delete]\n    max: 3\n    per: 7d\nretention:\n  archive_after: 2d\n".write(to: policy, atomically: true, encoding: .utf8)
        let lint = try CLI.run(["policy", "lint", policy.path])
        #expect(lint.status == 78)
        #expect(lint.stdout.contains("retention.archive_after") || lint.stderr.contains("retention.archive_after"))
        try "retention:\n  archive_after: 30d\n  directory: /var/lib/holdpoint/archive\n".write(to: policy, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["policy", "lint", policy.path]).status == 0)
        #expect(
            try CLI.run(["policy", "explain", "--policy", policy.path]).stdout
                .contains("Retention: serve archives history older than 30d every 1d into /var/lib/holdpoint/archive"))
    }
}

@Suite struct VerifySinceCheckpointProcessTests {
    @Test func theSecondVerificationResumesWhereTheFirstEnded() throws {
        let env = try QueueEnv()
        let state = try Scratch.directory().path
        var environment = env.environment
        environment["XDG_STATE_HOME"] = state
        _ = try env.submit("rm -rf /srv/a")
        // No record yet: the whole log is checked.
        let first = try JSONReader.parse(try CLI.run(["audit", "verify", "--since-checkpoint", "--json"], environment: environment).stdout)
        #expect(first["intact"] == .bool(true))
        #expect(first["resumed_after"] == .null)
        let through = try #require(first["verified_through"]?.numberValue)

        _ = try env.submit("rm -rf /srv/b")
        let second = try CLI.run(["audit", "verify", "--since-checkpoint", "--json"], environment: environment)
        #expect(second.status == 0, "\(second.stderr)")
        let report = try JSONReader.parse(second.stdout)
        #expect(report["resumed_after"]?.numberValue == through)
        #expect((report["verified_through"]?.numberValue ?? 0) > through)
        // The record is the reviewer's own, under their state directory.
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: state + "/holdpoint/verified")).isEmpty)
    }
}

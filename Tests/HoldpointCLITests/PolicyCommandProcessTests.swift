import Foundation
import HoldpointCore
import Testing

/// `policy test`, `policy lint` with examples and `policy replay`, as processes (issue 12).
@Suite(.serialized) struct PolicyCommandProcessTests {
    @Test func policyTestReportsEveryMismatchAndExitsOne() throws {
        let env = try QueueEnv()
        let good = env.directory.appendingPathComponent("good.yaml")
        try "- {command: \"kubectl get pods\", tier: autonomous}\n- {command: \"kubectl delete ns prod\", at_least: gated}\n".write(to: good, atomically: true, encoding: .utf8)
        let passed = try CLI.run(["policy", "test", good.path])
        #expect(passed.status == 0, "\(passed.stdout)\(passed.stderr)")
        #expect(passed.stdout.contains("2 of 2 examples as expected"))

        let bad = env.directory.appendingPathComponent("bad.yaml")
        try "examples:\n  - {command: \"ls -la\", tier: gated}\n  - {command: \"git status\", env: staging, at_most: supervised}\n".write(to: bad, atomically: true, encoding: .utf8)
        let failed = try CLI.run(["policy", "test", good.path, bad.path])
        #expect(failed.status == 1)
        #expect(failed.stdout.contains("bad.yaml:2: `ls -la` [production, autonomous]: expected gated, got autonomous"))
        #expect(failed.stdout.contains("3 of 4 examples as expected"))

        let malformed = env.directory.appendingPathComponent("malformed.yaml")
        try "- {command: ls, tier: sometimes}\n".write(to: malformed, atomically: true, encoding: .utf8)
        let refused = try CLI.run(["policy", "test", malformed.path])
        #expect(refused.status == 65)
        #expect(refused.stdout.contains("malformed.yaml:1"))
    }

    @Test func lintChecksAPolicysOwnExamples() throws {
        let env = try QueueEnv()
        let policy = env.directory.appendingPathComponent("policy.yaml")
        try "profile: strict\nexamples:\n  - {command: \"git status\", at_most: autonomous}\n  - {command: \"kubectl apply -f x.yaml\", env: staging, mode: supervised, tier: autonomous}\n".write(
            to: policy, atomically: true, encoding: .utf8)
        let lint = try CLI.run(["policy", "lint", policy.path])
        #expect(lint.status == 1, "\(lint.stdout)\(lint.stderr)")
        #expect(lint.stdout.contains("policy.yaml:4: `kubectl apply -f x.yaml` [staging, supervised]: expected autonomous"))
        #expect(lint.stdout.contains("examples: 1 of 2 as expected"))
    }

    /// A candidate policy is judged on the queue's real history before it goes live.
    @Test func replayShowsWhatACandidatePolicyWouldChange() throws {
        let env = try QueueEnv(policy: "anomaly:\n  first_time: off\n")
        #expect(try env.submit("terraform plan").status == 0)
        #expect(try env.submit("kubectl rollout restart deploy/api").status == 0)
        #expect(try env.submit("ls -la").status == 0)
        let candidate = env.directory.appendingPathComponent("candidate.yaml")
        try "tiers:\n  production:\n    supervised:\n      patch: gated\n".write(to: candidate, atomically: true, encoding: .utf8)
        let replay = try env.run(["policy", "replay", "--policy", candidate.path])
        #expect(replay.status == 0, "\(replay.stdout)\(replay.stderr)")
        #expect(replay.stdout.contains("supervised → gated"))
        #expect(replay.stdout.contains("kubectl rollout restart deploy/api"))
        #expect(replay.stdout.contains("3 recorded requests replayed: 1 stricter, 0 looser, 2 unchanged"))
        let json = try JSONReader.parse(try env.run(["policy", "replay", "--policy", candidate.path, "--json"]).stdout)
        #expect(json["stricter"] == .number(1))
        #expect(try CLI.run(["policy", "replay", "--queue", env.queue]).status == 64)  // no candidate
    }
}

import Foundation
import HoldpointCore
import Testing

/// Layer 1: `holdpoint plan check` judges a whole plan before any step runs (issue 14).
@Suite(.serialized) struct PlanProcessTests {
    static func plan(_ steps: [String], mode: String = "supervised") -> String {
        #"{"schema":"holdpoint.plan/v1","agent":{"id":"kiro-7f3","mode":"\#(mode)"},"environment":"production","steps":[\#(steps.joined(separator: ","))]}"#
    }
    static let look = #"{"intent":"look at the drift","action":{"kind":"shell","command":"aws cloudformation describe-stacks --stack-name cost"}}"#
    static let delete = #"{"intent":"delete the stack","action":{"kind":"api","operation":"cloudformation:DeleteStack","targets":["prod-cost"]}}"#
    static let wipe = #"{"intent":"wipe the bucket","action":{"kind":"shell","command":"aws s3 rb s3://cost-data --force"}}"#

    /// The seed's Kiro case: a plan that would delete and wipe is stopped at the plan,
    /// before any step ran, with every step's reasons; nothing is queued.
    @Test func aPlanWithABlockedStepIsRefusedBeforeAnyStepRuns() throws {
        let env = try QueueEnv()
        let refused = try env.run(["plan", "check"], stdin: Self.plan([Self.look, Self.delete, Self.wipe]))
        #expect(refused.status == 2)
        #expect(refused.stdout.contains("plan refused: step 3 of 3 is blocked. Replan before running any step."))
        #expect(refused.stdout.contains("environment-blocked"))
        #expect(refused.stdout.contains("(delete the stack)"))
        #expect(try env.list().isEmpty)

        let gated = try env.run(["plan", "check", "--json"], stdin: Self.plan([Self.look, Self.delete]))
        #expect(gated.status == 5)
        let verdict = try JSONReader.parse(gated.stdout)
        #expect(verdict["tier"] == .string("gated"))
        #expect(verdict["steps"]?.arrayValue?.map { $0["tier"]?.stringValue ?? "" } == ["autonomous", "gated"])

        #expect(try env.run(["plan", "check"], stdin: Self.plan([Self.look])).status == 0)
        let bad = try env.run(["plan", "check"], stdin: #"{"schema":"holdpoint.plan/v1","agent":{"id":"k"},"environment":"production","steps":[{"action":{"kind":"shell"}}]}"#)
        #expect(bad.status == 65)
        #expect(bad.stderr.contains("steps[0]"))
    }

    /// `plan submit` puts a plan with gated steps before a reviewer as one request. Once
    /// approved, the agent's next action that is a step says so, and a change that is no step
    /// is OFF PLAN and waits for a human in production; a plan with a blocked step is refused.
    @Test func anApprovedPlanPlacesEachLaterAction() throws {
        let env = try QueueEnv(policy: "approvals:\n  allow_self_approval: true\nanomaly:\n  first_time: off\n")
        let restart = #"{"intent":"restart it","action":{"kind":"shell","command":"kubectl rollout restart deploy/cost -n cost"}}"#
        let submitted = try env.run(["plan", "submit", "--json"], stdin: Self.plan([Self.look, restart], mode: "autonomous"))
        #expect(submitted.status == 5)
        let plan = try JSONReader.parse(submitted.stdout)
        let id = try #require(plan["id"]?.stringValue)
        #expect(plan["reasons"]?.arrayValue?.first?["message"]?.stringValue?.hasPrefix("step 2 of 2 `kubectl rollout restart deploy/cost -n cost`") == true)
        #expect(try env.list(["--state", "pending"]).first?["action"]?["steps"]?.arrayValue?.count == 2)
        #expect(try env.run(["decide", id, "approve", "--reason", "the restart is the fix"]).status == 0)

        let step = try env.run(["submit", "--command", "kubectl rollout restart deploy/cost -n cost", "--agent", "kiro-7f3"])
        #expect(step.stdout.contains("in approved plan \(id), step 2 of 2"))
        // A label is a supervised change that runs on its own, but not off the plan.
        let label = ["--command", "kubectl label pod cost-1 drift=fixed -n cost", "--agent", "kiro-7f3", "--agent-mode", "supervised"]
        #expect(try env.run(["check"] + label).status == 0)
        let off = try env.run(["submit"] + label)
        #expect(off.status == 5)
        #expect(off.stdout.contains("OFF PLAN: matches no step of kiro-7f3's approved plan \(id) (2 steps)"))

        let refused = try env.run(["plan", "submit"], stdin: Self.plan([Self.look, Self.wipe]))
        #expect(refused.status == 2)
        #expect(refused.stdout.hasPrefix("plan refused: a step is blocked. Replan before running any step."))
        #expect(try env.list(["--state", "blocked"]).count == 1)
    }

    /// Claude Code leaving plan mode in production: the plan (its text and the commands it
    /// names) is judged as one request instead of passing unseen. A plan that would delete
    /// a namespace is refused with a replan message; a plan of reads goes ahead.
    @Test func claudeCodesExitPlanModeIsJudgedAsAPlan() throws {
        let env = try QueueEnv()
        func exitPlanMode(_ plan: String) -> String {
            JSONWriter.compact(
                .object([
                    ("session_id", .string("sess-9")), ("transcript_path", .string("/tmp/t.jsonl")), ("cwd", .string("/srv/cost")),
                    ("permission_mode", .string("plan")), ("hook_event_name", .string("PreToolUse")), ("tool_name", .string("ExitPlanMode")),
                    ("tool_input", .object([("plan", .string(plan))])), ("tool_use_id", .string("toolu_09")),
                ]))
        }
        let drastic = "## Fix the drift\n1. Start over:\n```bash\nkubectl delete namespace cost\nkubectl apply -f cost/\n```\n"
        let denied = try env.run(["hook", "claude-code", "--env", "production", "--hold", "0"], stdin: exitPlanMode(drastic))
        let answer = HookProcessTests.decision(denied)
        #expect(answer.decision == "deny")
        #expect(answer.reason.hasPrefix("holdpoint: plan refused ("))
        #expect(answer.reason.contains("kubectl delete namespace cost"))
        let recorded = try #require(try env.list(["--state", "blocked"]).first)
        #expect(recorded["summary"]?.stringValue == "plan: Fix the drift")
        #expect(recorded["action"]?["steps"]?.arrayValue?.count == 2)

        let careful = try env.run(["hook", "claude-code", "--env", "production", "--hold", "0"], stdin: exitPlanMode("Look first: `kubectl get pods -n cost`."))
        #expect(careful.status == 0 && careful.stdout.isEmpty)  // no objection: Claude Code's own plan approval follows
        #expect(try env.list(["--state", "allowed"]).count == 1)
    }

    /// Through the daemon the plan is classified, placed and its steps remembered by the
    /// daemon: the agent submits it, a reviewer (another OS user) approves it, and the
    /// agent's next action off the plan waits while the one on it says which step it is.
    @Test(.enabled(if: OSUsers.available)) func plansHoldThroughTheDaemon() throws {
        let served = try ServedQueue(policy: "approvals:\n  reviewers: [\"@hp-reviewers\"]\nanomaly:\n  first_time: off\n")
        let restart = #"{"intent":"restart it","action":{"kind":"shell","command":"kubectl rollout restart deploy/cost -n cost"}}"#
        let submitted = try served.run(as: OSUsers.agent, ["plan", "submit", "--json"], stdin: Self.plan([Self.look, restart], mode: "autonomous"))
        #expect(submitted.status == 5, "\(submitted.stderr)")
        let id = try #require(try JSONReader.parse(submitted.stdout)["id"]?.stringValue)
        #expect(try served.run(as: OSUsers.reviewer, ["decide", id, "approve", "--reason", "the restart is the fix"]).status == 0)
        let step = try served.run(as: OSUsers.agent, ["submit", "--command", "kubectl rollout restart deploy/cost -n cost", "--agent", "kiro-7f3"])
        #expect(step.stdout.contains("in approved plan \(id), step 2 of 2"), "\(step.stdout)")
        let off = try served.run(as: OSUsers.agent, ["submit", "--command", "kubectl label pod cost-1 drift=fixed -n cost", "--agent", "kiro-7f3", "--agent-mode", "supervised"])
        #expect(off.status == 5)
        #expect(off.stdout.contains("OFF PLAN"))
    }
}

import Foundation
import HoldpointCore
import Testing

/// Layer 1: `holdpoint plan check` judges a whole plan before any step runs (issue 14).
@Suite(.serialized) struct PlanProcessTests {
    static func plan(_ steps: [String]) -> String {
        #"{"schema":"holdpoint.plan/v1","agent":{"id":"kiro-7f3","mode":"supervised"},"environment":"production","steps":[\#(steps.joined(separator: ","))]}"#
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
        let bad = try env.run(["plan", "check"], stdin: #"{"schema":"holdpoint.plan/v1","steps":[{"action":{"kind":"shell"}}]}"#)
        #expect(bad.status == 65)
        #expect(bad.stderr.contains("steps[0]"))
    }
}

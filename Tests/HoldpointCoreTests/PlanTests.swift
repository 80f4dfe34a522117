import Foundation
import Testing

@testable import HoldpointCore

/// Layer 1: a plan is one request whose steps are judged together (issue 14).
@Suite struct PlanTests {
    static func document(_ steps: String, environment: String = "production") -> [UInt8] {
        Array(#"{"schema":"holdpoint.plan/v1","agent":{"id":"kiro"},"environment":"\#(environment)","summary":"fix the drift","steps":[\#(steps)]}"#.utf8)
    }
    static let look = #"{"intent":"look","action":{"kind":"shell","command":"kubectl get pods -n cost"}}"#
    static let restart = #"{"intent":"restart","action":{"kind":"shell","command":"kubectl rollout restart deploy/cost -n cost"}}"#
    static let dropNamespace = #"{"intent":"start over","action":{"kind":"shell","command":"kubectl delete namespace cost"}}"#

    /// The plan is as strict as its strictest step; its reasons name every step, the
    /// riskiest first, and it lists each step's key (not its text) for matching later.
    @Test func aPlanIsAsStrictAsItsStrictestStepAndNamesEveryStep() throws {
        let plan = try Plan.request(fromDocument: Self.document([Self.look, Self.restart, Self.dropNamespace].joined(separator: ",")))
        #expect(plan.plan?.count == 3)
        #expect(plan.plan?[1].intent == "restart")
        #expect(plan.plan?[0].request.agentID == "kiro" && plan.plan?[0].request.environment == "production")
        #expect(plan.whatText == "plan (3 steps): kubectl get pods -n cost ; kubectl rollout restart deploy/cost -n cost ; kubectl delete namespace cost")
        let verdict = Classifier(policy: TestData.defaultPolicy).classify(plan)
        #expect(verdict.tier == .blocked)
        #expect(verdict.reasons.map { String($0.message.prefix(9)) } == ["step 3 of", "step 2 of", "step 1 of"])
        #expect(verdict.reasons[0].message.hasPrefix("step 3 of 3 `kubectl delete namespace cost`: "))
        #expect(verdict.programs.isEmpty)  // a plan runs nothing
        let stepKeys = try #require(verdict.planSteps)
        #expect(stepKeys.count == 3)
        #expect(!stepKeys.joined().contains("kubectl"))
        // A later action matches a step by what it does, whatever its spacing or cwd.
        let later = try ActionRequest.shellCommand("kubectl  rollout restart deploy/cost   -n cost", environment: "production", agentID: "kiro", mode: .autonomous)
        #expect(Plan.key(of: later) == stepKeys[1])
        let elsewhere = try ActionRequest.shellCommand("kubectl rollout restart deploy/cost -n cost", environment: "staging", agentID: "kiro", mode: .autonomous)
        #expect(Plan.key(of: elsewhere) != stepKeys[1])
    }

    /// A plan that names nothing to check is read by a human in production.
    @Test func aPlanWithoutCommandsIsReadByAHumanInProduction() throws {
        let agent: JSONValue = .object([("id", .string("claude"))])
        let prose = try Plan.request(text: "# Recreate the stack\nDelete it and deploy again.", agent: agent, environment: "production")
        #expect(prose.plan == [])
        #expect(prose.summary == "plan: Recreate the stack")
        #expect(Classifier(policy: TestData.defaultPolicy).classify(prose).tier == .gated)
        let dev = try Plan.request(text: "Tidy up.", agent: agent, environment: "development")
        #expect(Classifier(policy: TestData.defaultPolicy).classify(dev).tier == .supervised)
    }

    /// The commands a Markdown plan names: fenced lines (prompts dropped, continuations
    /// joined, comments skipped) and inline spans that read as commands.
    @Test func commandsAreReadFromAMarkdownPlan() {
        let text = """
            ## Plan
            1. Check the state with `kubectl get pods -n cost` and look at `main.swift`.
            2. Then:
            ```bash
            # scale down first
            $ kubectl scale deploy/cost \\
                --replicas=0
            terraform destroy -auto-approve
            ```
            3. Run `kubectl get pods -n cost` again.
            """
        #expect(Plan.commands(inMarkdown: text) == ["kubectl get pods -n cost", "kubectl scale deploy/cost --replicas=0", "terraform destroy -auto-approve"])
    }

    /// A plan is refused by name when it is malformed or tries to smuggle an action.
    @Test func malformedPlansAreRefusedNamingTheField() {
        func refusal(_ bytes: [UInt8]) -> String? {
            do {
                _ = try Plan.request(fromDocument: bytes)
                return nil
            } catch { return error.description }
        }
        #expect(refusal(Self.document(#"{"action":{"kind":"shell"}}"#))?.hasPrefix("steps[0].action.operation") == true)
        #expect(refusal(Self.document(#"{"agent":{"id":"other"},"action":{"kind":"shell","command":"ls"}}"#))?.hasPrefix("steps[0].agent") == true)
        #expect(refusal(Self.document(""))?.hasPrefix("steps:") == true)
        #expect(
            refusal(Array(#"{"schema":"holdpoint.plan/v1","agent":{"id":"k"},"environment":"production","action":{"kind":"shell","command":"rm -rf /"},"steps":[\#(Self.look)]}"#.utf8))?.hasPrefix(
                "action:") == true)
        // Through the action request itself: a plan has no command of its own, and no step is a plan.
        let withCommand = #"{"schema":"holdpoint.action/v1","agent":{"id":"k"},"environment":"production","action":{"kind":"other","operation":"holdpoint:plan","command":"rm -rf /","steps":[]}}"#
        #expect(throws: RequestError.self) { try ActionRequestDecoder.decode(Array(withCommand.utf8)) }
        let nested =
            #"{"schema":"holdpoint.action/v1","agent":{"id":"k"},"environment":"production","action":{"kind":"other","operation":"holdpoint:plan","steps":[{"action":{"kind":"other","operation":"holdpoint:plan","steps":[]}}]}}"#
        #expect(throws: RequestError.self) { try ActionRequestDecoder.decode(Array(nested.utf8)) }
    }

    /// The programs a shell action runs, through wrappers and pipelines, for the first-time check.
    @Test func theProgramsAnActionRunsAreListed() throws {
        #expect(try TestData.classify("sudo helm upgrade api ./chart | tee log.txt").programs == ["helm", "tee"])
        #expect(try TestData.classify("/usr/local/bin/terraform apply && kubectl get pods").programs == ["terraform", "kubectl"])
    }
}

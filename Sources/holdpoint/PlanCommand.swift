import ArgumentParser
import Foundation
import HoldpointCore
import HoldpointStore

/// Layer 1, planning constraints: an agent's whole plan is judged before any step runs.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Judge an agent's plan (a list of intended actions) before any step runs.",
        subcommands: [Check.self, Submit.self]
    )

    /// The plan request for the holdpoint.plan/v1 document on stdin; bad input exits 65.
    static func readPlan() throws -> ActionRequest {
        if isatty(STDIN_FILENO) == 1 {
            Terminal.error("pipe a holdpoint.plan/v1 document on stdin")
            throw ExitCode(ExitCodes.usage)
        }
        do {
            return try Plan.request(fromDocument: try Terminal.readStandardInput(limit: ActionRequest.maximumSize))
        } catch let error as RequestError {
            Terminal.error("bad plan: \(SafeText.escape(error.description))")
            throw ExitCode(ExitCodes.badInput)
        }
    }

    /// A holdpoint.plan/v1 document, as `plan check --help` and `plan submit --help` show it.
    static let documentHelp = """
        Reads a holdpoint.plan/v1 document on stdin: {"schema":"holdpoint.plan/v1", "agent":{…},
        "environment":"production", "summary":"…", "steps":[{"intent":"…", "action":{…}}, …]}. Each
        step is a holdpoint.action/v1 request without the fields the plan gives once (agent,
        environment); a step may name its own environment.
        """

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Classify every step of a plan at once; a plan with a blocked step is refused.",
            discussion: """
                \(PlanCommand.documentHelp) Nothing is queued.
                Exit: 0 every step may run, 5 some step needs approval, 2 some step is blocked (replan
                before running any step), 64 usage, 65 bad input, 78 policy error.
                """
        )

        @OptionGroup var global: GlobalOptions

        @Flag(name: .long, help: "Print one JSON document.")
        var json = false

        func run() throws {
            let plan = try PlanCommand.readPlan()
            let steps = plan.plan ?? []
            var judged: [(step: PlanStep, classification: Classification)] = []
            var redactor = Redactor()
            if global.settings.socketPath != nil {
                let service = try global.service(classifying: true, creating: true)
                for step in steps {
                    let request = step.request
                    judged.append((step, try queueCall { () throws(StoreError) in try service.classify(request) }.0))
                }
            } else {
                let policy = try global.loadPolicy()
                redactor = policy.redactor
                for step in steps {
                    let protection = global.selfProtection(workingDirectory: step.request.workingDirectory)
                    judged.append((step, Classifier(policy: policy, protection: protection).classify(step.request)))
                }
            }
            let strictest = judged.map(\.classification.tier).max() ?? .autonomous
            if json {
                Terminal.print(
                    JSONWriter.pretty(
                        .object([
                            ("tier", .string(strictest.rawValue)),
                            ("refused", .bool(strictest == .blocked)),
                            (
                                "steps",
                                .array(
                                    judged.enumerated().map { index, entry in
                                        let shown = entry.step.request.redacted(by: redactor)
                                        return .object([
                                            ("step", .number(Double(index + 1))),
                                            ("intent", entry.step.intent.map { .string(redactor.redact($0)) } ?? .null),
                                            ("action", .string(shown.whatText)),
                                            ("tier", .string(entry.classification.tier.rawValue)),
                                            ("operation_class", .string(entry.classification.operationClass.rawValue)),
                                            ("reasons", VerdictJSON.reasons(entry.classification)),
                                            ("action_sha256", .string(entry.step.request.actionSHA256)),
                                        ])
                                    })
                            ),
                        ])))
            } else {
                Terminal.print(Self.text(judged, strictest: strictest, redactor: redactor))
            }
            throw ExitCode(VerdictJSON.exitCode(for: strictest))
        }

        static func text(_ judged: [(step: PlanStep, classification: Classification)], strictest: Tier, redactor: Redactor) -> String {
            let blocked = judged.firstIndex { $0.classification.tier == .blocked }
            var lines: [String] = []
            switch strictest {
            case .blocked: lines.append("plan refused: step \((blocked ?? 0) + 1) of \(judged.count) is blocked. Replan before running any step.")
            case .gated: lines.append("plan needs approval: \(judged.filter { $0.classification.tier == .gated }.count) of \(judged.count) steps wait for a human")
            default: lines.append("plan may run: \(judged.count) step\(judged.count == 1 ? "" : "s"), none needs approval")
            }
            for (index, entry) in judged.enumerated() {
                let shown = entry.step.request.redacted(by: redactor)
                let intent = entry.step.intent.map { "  (\(SafeText.escape(redactor.redact($0))))" } ?? ""
                lines.append("  \(Terminal.padLeft(String(index + 1), 2)) \(Terminal.pad(entry.classification.tier.rawValue, 10)) \(SafeText.escape(shown.whatText))\(intent)")
                if entry.classification.tier == .gated || entry.classification.tier == .blocked {
                    lines += Terminal.ruleLines(entry.classification.reasons.filter { $0.tier >= .gated }, indent: "       ")
                }
            }
            return lines.joined(separator: "\n")
        }
    }

    struct Submit: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "submit",
            abstract: "Put a plan before a reviewer as one request; a plan with a blocked step is refused.",
            discussion: """
                \(PlanCommand.documentHelp) The plan is queued as one request (action.operation
                "holdpoint:plan") whose reasons list every step, the riskiest first. Approving it approves
                no step: each gated step is still its own decision, but shows "in approved plan P, step 3
                of 5", and in production an action that matches no step of the agent's approved plan is
                OFF PLAN and waits for a human (policy key plans:). A plan with no gated step holds at once.
                Exit: 0 the plan holds (allowed, or approved with --wait), 1 rejected, 2 refused (a step is
                blocked: replan), 3 expired, 4 halted, 5 waiting for a reviewer (without --wait).
                """
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var waiting: WaitOptions

        var wait: Bool { waiting.wait }
        var json: Bool { waiting.json }

        func run() throws {
            let plan = try PlanCommand.readPlan()
            let service = try global.service(classifying: true, creating: true)
            var stored = try queueCall { () throws(StoreError) in try service.submit(plan, timeout: waiting.timeoutSeconds) }
            if wait && stored.state == .pending {
                if !json { Terminal.error("waiting for approval of plan \(stored.id)…") }
                stored = try Waiter.wait(for: stored.id, service: service, timeout: nil)
            }
            if json {
                Terminal.print(JSONWriter.pretty(QueueOutput.json(stored)))
            } else {
                let count = plan.plan?.count ?? 0
                let waiting = stored.reasons.filter { $0.tier == .gated }.count
                let headline =
                    switch stored.state {
                    case .blocked: "plan refused: a step is blocked. Replan before running any step."
                    case .pending: "plan waits for a reviewer: \(waiting) of \(count) steps need a human"
                    case .allowed: "plan holds: \(count) step\(count == 1 ? "" : "s"), none needs approval"
                    case .approved: "plan approved: each gated step is still its own decision"
                    default: "plan \(stored.state.rawValue)"
                    }
                Terminal.print(headline)
                Terminal.print(QueueOutput.summary(stored))
                for line in Terminal.ruleLines(stored.reasons) { Terminal.print(line) }
            }
            throw ExitCode(QueueOutput.exitCode(for: stored.state))
        }
    }
}

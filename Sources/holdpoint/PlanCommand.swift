import ArgumentParser
import Foundation
import HoldpointCore
import HoldpointStore

/// Layer 1, planning constraints: an agent's whole plan is judged before any step runs.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Judge an agent's plan (a list of intended actions) before any step runs.",
        subcommands: [Check.self]
    )

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Classify every step of a plan at once; a plan with a blocked step is refused.",
            discussion: """
            Reads a holdpoint.plan/v1 document on stdin: {"schema":"holdpoint.plan/v1", "agent":{…},
            "environment":"production", "steps":[{"intent":"…", "action":{…}}, …]}. Each step is a
            holdpoint.action/v1 request without the fields the plan gives once (agent, environment);
            a step may override them. Nothing is queued.
            Exit: 0 every step may run, 5 some step needs approval, 2 some step is blocked (replan
            before running any step), 64 usage, 65 bad input, 78 policy error.
            """
        )

        @OptionGroup var global: GlobalOptions

        @Flag(name: .long, help: "Print one JSON document.")
        var json = false

        func run() throws {
            if isatty(STDIN_FILENO) == 1 {
                Terminal.error("pipe a holdpoint.plan/v1 document on stdin")
                throw ExitCode(ExitCodes.usage)
            }
            let steps: [PlanStep]
            do {
                steps = try PlanStep.read(try Terminal.readStandardInput(limit: ActionRequest.maximumSize))
            } catch let error as RequestError {
                Terminal.error("bad plan: \(SafeText.escape(error.description))")
                throw ExitCode(ExitCodes.badInput)
            }
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
                Terminal.print(JSONWriter.pretty(.object([
                    ("tier", .string(strictest.rawValue)),
                    ("refused", .bool(strictest == .blocked)),
                    ("steps", .array(judged.enumerated().map { index, entry in
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
                    })),
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
}

/// One step of a plan: the request it would make, and the agent's intent.
struct PlanStep {
    var request: ActionRequest
    var intent: String?

    static let schema = "holdpoint.plan/v1"

    /// The steps of a `holdpoint.plan/v1` document, each a full action request: the plan's
    /// agent and environment, then the step's own fields over them.
    static func read(_ bytes: [UInt8]) throws(RequestError) -> [PlanStep] {
        let document: JSONValue
        do { document = try JSONReader.parse(bytes) } catch { throw RequestError(field: nil, message: "not JSON: \(error)") }
        guard document["schema"]?.stringValue == schema else { throw RequestError(field: "schema", message: "expected \"\(schema)\"") }
        guard let steps = document["steps"]?.arrayValue, !steps.isEmpty else { throw RequestError(field: "steps", message: "expected a non-empty list of steps") }
        guard steps.count <= 200 else { throw RequestError(field: "steps", message: "\(steps.count) steps: at most 200") }
        var out: [PlanStep] = []
        for (index, step) in steps.enumerated() {
            guard case .object(let fields) = step else { throw RequestError(field: "steps[\(index)]", message: "expected an object") }
            var members: [(key: String, value: JSONValue)] = [("schema", .string(ActionRequest.schemaName))]
            for key in ["agent", "environment"] { if let value = document[key] { members.append((key, value)) } }
            for field in fields where field.key != "intent" {
                members.removeAll { $0.key == field.key }
                members.append(field)
            }
            let intent = step["intent"]?.stringValue
            if let intent, !members.contains(where: { $0.key == "summary" }) { members.append(("summary", .string(intent))) }
            do {
                out.append(PlanStep(request: try ActionRequestDecoder.decode(.object(members)), intent: intent))
            } catch {
                throw RequestError(field: "steps[\(index)]", message: error.description)
            }
        }
        return out
    }
}

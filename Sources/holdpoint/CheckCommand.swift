import ArgumentParser
import Foundation
import HoldpointCore
import HoldpointStore

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Classify one action without queueing it.",
        discussion: """
            Reads a holdpoint.action/v1 request on stdin, or builds one from --command.
            Exit: 0 allowed (autonomous or supervised), 2 blocked, 5 approval required (gated),
            64 usage, 65 bad input, 78 policy error.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var agentOptions: AgentOptions

    @Option(name: .long, help: ArgumentHelp("A shell command line to classify instead of a request on stdin.", valueName: "command"))
    var command: String?

    @Flag(name: .long, help: "Print one JSON document.")
    var json = false

    var checkRun: CheckRun { CheckRun(global: global.settings, agent: agentOptions.settings, command: command, json: json) }

    func run() throws { try checkRun.run() }
}

/// What `check` does, from plain option values (see `AgentCallArguments`).
struct CheckRun: Equatable {
    var global: GlobalSettings
    var agent: AgentSettings
    var command: String?
    var json: Bool

    func run() throws {
        let classification: Classification
        let required: Int
        let request: ActionRequest
        var redactor = Redactor()  // through the daemon: the built-in patterns
        if global.socketPath != nil {
            // The daemon classifies, with its policy.
            let service = try global.service(classifying: true, creating: true)
            request = try RequestInput.read(command: command, agent: agent)
            (classification, required) = try queueCall { () throws(StoreError) in try service.classify(request) }
        } else {
            let policy = try global.loadPolicy()
            redactor = policy.redactor
            request = try RequestInput.read(command: command, agent: agent)
            classification = Classifier(policy: policy, protection: global.selfProtection(workingDirectory: request.workingDirectory)).classify(request)
            required = classification.tier == .gated ? policy.approvals.applying(to: classification).required : 0
        }
        // Shown without its secrets (the hash stays the real action's).
        let shown = request.redacted(by: redactor)
        if json {
            Terminal.print(JSONWriter.pretty(VerdictJSON.check(request: shown, classification: classification, requiredApprovals: required)))
        } else {
            Terminal.print(VerdictText.render(request: shown, classification: classification))
        }
        throw ExitCode(VerdictJSON.exitCode(for: classification.tier))
    }
}

/// Where agent-side commands get their request: `--command`, or JSON on stdin.
enum RequestInput {
    static func read(command: String?, agent: AgentSettings) throws -> ActionRequest {
        do {
            if let command {
                return try ActionRequest.shellCommand(command, environment: agent.environment, agentID: agent.agentID, mode: agent.mode)
            }
            if isatty(STDIN_FILENO) == 1 {
                Terminal.error("give --command \"…\" or pipe a holdpoint.action/v1 request on stdin")
                throw ExitCode(ExitCodes.usage)
            }
            let bytes = try Terminal.readStandardInput(limit: ActionRequest.maximumSize)
            if bytes.isEmpty {
                Terminal.error("bad request: standard input is empty (expected a holdpoint.action/v1 JSON document)")
                throw ExitCode(ExitCodes.badInput)
            }
            return try ActionRequestDecoder.decode(bytes)
        } catch let error as RequestError {
            Terminal.error("bad request: \(SafeText.escape(error.description))")
            throw ExitCode(ExitCodes.badInput)
        }
    }
}

/// The verdict as the contract's JSON.
enum VerdictJSON {
    static func exitCode(for tier: Tier) -> Int32 {
        switch tier {
        case .autonomous, .supervised: return ExitCodes.allowed
        case .gated: return ExitCodes.approvalRequired
        case .blocked: return ExitCodes.blocked
        }
    }

    static func reasons(_ classification: Classification) -> JSONValue {
        .array(
            classification.reasons.map { reason in
                .object([("rule", .string(reason.rule)), ("message", .string(reason.message)), ("tier", .string(reason.tier.rawValue))])
            })
    }

    static func check(request: ActionRequest, classification: Classification, requiredApprovals: Int) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [("tier", .string(classification.tier.rawValue))]
        switch classification.tier {
        case .autonomous, .supervised: members.append(("state", .string("allowed")))
        case .blocked: members.append(("state", .string("blocked")))
        case .gated: members.append(("approval_required", .bool(true)))
        }
        members += [
            ("operation_class", .string(classification.operationClass.rawValue)),
            ("environment", .string(request.environment)),
            ("reasons", reasons(classification)),
            (
                "flags",
                .object([
                    ("destructive", .bool(classification.destructive)),
                    ("irreversible", .bool(classification.irreversible)),
                    ("data_loss", .bool(classification.dataLoss)),
                ])
            ),
            ("required_approvals", .number(Double(requiredApprovals))),
            ("action_sha256", .string(request.actionSHA256)),
        ]
        return .object(members)
    }
}

/// The verdict as text for a person.
enum VerdictText {
    static func render(request: ActionRequest, classification: Classification) -> String {
        let headline: String
        switch classification.tier {
        case .autonomous: headline = "allowed: runs on its own (read-only)"
        case .supervised: headline = "allowed: runs, logged for spot-checks"
        case .gated: headline = "approval required: a named human must approve it"
        case .blocked: headline = "blocked by policy: it never runs"
        }
        var lines = ["\(Terminal.tierLabel(classification.tier))  \(headline)"]
        lines.append("  action       \(SafeText.escape(request.whatText))")
        lines.append(
            "  class        \(classification.operationClass.rawValue)   environment \(SafeText.escape(request.environment))   agent \(SafeText.escape(request.agentID)) (\(request.agentMode.rawValue))"
        )
        var flags: [String] = []
        if classification.destructive { flags.append("DESTRUCTIVE") }
        if classification.irreversible { flags.append("IRREVERSIBLE") }
        if classification.dataLoss { flags.append("DATA LOSS") }
        if !flags.isEmpty { lines.append("  flags        \(Terminal.styled(flags.joined(separator: " "), "1;31"))") }
        lines.append("  rules")
        lines += Terminal.ruleLines(classification.reasons)
        return lines.joined(separator: "\n")
    }
}

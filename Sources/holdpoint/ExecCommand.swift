import ArgumentParser
import Foundation
import HoldpointCore
import HoldpointGate
import HoldpointStore

/// `holdpoint exec -- CMD ARG…`: the deterministic executor. It runs nothing that is not
/// allowed or approved, and an approval only for the exact argv (and directory) it was
/// given for, once.
struct Exec: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command only if the policy allows it or a reviewer approved exactly it.",
        discussion: """
            Classifies the exact argv. Allowed: runs it at once. Gated: queues it and waits for a decision (or uses
            --approval ID, which must be for this exact argv and directory). While it runs its request is `running`;
            afterwards `succeeded` or `failed` with the exit status and duration. Halting the agent terminates it
            (SIGTERM, then SIGKILL after --grace seconds).
            Exit: the command's own status when it ran (128+N when killed by signal N; 4 when the kill switch ended it);
            otherwise 1 rejected, 2 blocked (or an approval that is not for this action), 3 expired, 4 halted,
            64 usage, 65 bad input, 69 queue unavailable, 78 policy error, 127 the command could not be started.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var agentOptions: AgentOptions

    @Option(name: .long, help: ArgumentHelp("Give up waiting for a decision after this long (90, 90s, 15m); the request expires then, which is a denial.", valueName: "duration"))
    var timeout: String?

    @Option(name: .long, help: ArgumentHelp("Use this approved request instead of queueing a new one; refused unless it is for exactly this command.", valueName: "id"))
    var approval: String?

    @Option(name: .long, help: ArgumentHelp("Seconds between SIGTERM and SIGKILL when the agent is halted while the command runs.", valueName: "seconds"))
    var grace: Double = 5

    @Argument(parsing: .postTerminator, help: ArgumentHelp("The command and its arguments, after --.", valueName: "command"))
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("give the command to run after --, e.g. holdpoint exec --env staging -- make deploy") }
        if let timeout, Durations.parse(timeout) == nil { throw ValidationError("--timeout: expected a duration such as 90, 90s or 15m, got '\(timeout)'") }
        if grace < 0 || grace > 600 { throw ValidationError("--grace: expected 0 to 600 seconds") }
        if let approval, !RequestID.isValid(approval) { throw ValidationError("--approval: '\(approval)' is not a request id") }
    }

    func run() async throws {
        let service = try global.service(classifying: true, creating: true)
        let cwd = FileManager.default.currentDirectoryPath
        let request: ActionRequest
        do {
            request = try ActionRequest.shellCommand(
                ShellQuote.join(command), environment: agentOptions.environment, agentID: agentOptions.agentID,
                mode: agentOptions.mode, extra: [("summary", .string("exec: \(ShellQuote.join(command))"))],
                actionExtra: [("argv", .array(command.map { .string($0) })), ("cwd", .string(cwd))])
        } catch {
            Terminal.error("bad request: \(SafeText.escape(error.description))")
            throw ExitCode(ExitCodes.badInput)
        }
        let outcome: Gate.Outcome
        if let approval {
            outcome = try useApproval(approval, request: request, service: service)
        } else {
            let (classification, _) = try queueCall { () throws(StoreError) in try service.classify(request) }
            if classification.tier == .gated {
                Terminal.error("waiting for approval of: \(SafeText.escape(ShellQuote.join(command)))")
            }
            outcome = try queueCall { () throws(StoreError) in
                try service.admit(request, consumer: "exec", hold: .infinity, timeout: timeout.flatMap(Durations.parse))
            }
        }
        guard outcome.mayRun else {
            Terminal.error(Self.message(outcome))
            switch outcome {
            case .refused: throw ExitCode(ExitCodes.blocked)
            default: throw ExitCode(QueueOutput.exitCode(for: outcome.request.state))
            }
        }
        if case .approved(let approved) = outcome { Terminal.error(Self.message(.approved(approved))) }
        // Like a shell waiting for its job: Ctrl-C and Ctrl-\ are for the child (which gets
        // default dispositions); this process stays to record how it ended.
        signal(SIGINT, SIG_IGN)
        signal(SIGQUIT, SIG_IGN)
        let result = await Executor(service: service, grace: grace).run(command, request: outcome.request, workingDirectory: cwd)
        if let startError = result.startError { Terminal.error(SafeText.escape(startError)) }
        if let halt = result.halt {
            Terminal.error(
                "the kill switch ended the command: \(halt.agent == "*" ? "every agent" : SafeText.escape(halt.agent)) halted by \(SafeText.escape(halt.by)): \(SafeText.escape(halt.reason))")
            throw ExitCode(ExitCodes.halted)
        }
        if let signal = result.signal { throw ExitCode(128 + signal) }
        throw ExitCode(result.exitCode ?? 1)
    }

    static func message(_ outcome: Gate.Outcome) -> String {
        let text = GateMessage.text(for: outcome)
        return SafeText.escape(text.hasPrefix("holdpoint: ") ? String(text.dropFirst(11)) : text)
    }

    /// `--approval ID`: the approval must be for exactly this action; it is used once.
    private func useApproval(_ id: String, request: ActionRequest, service: any QueueService) throws -> Gate.Outcome {
        let result = try queueCall { () throws(StoreError) in
            try service.consume(id: id, actionSHA256: request.actionSHA256, consumer: "exec")
        }
        switch result {
        case .consumed(let used): return .approved(used)
        case .notFound:
            Terminal.error("no request with id \(id)")
            throw ExitCode(ExitCodes.badInput)
        case .refused(let why):
            let stored = try queueCall { () throws(StoreError) in try service.request(id: id) }
            guard let stored else { throw ExitCode(ExitCodes.badInput) }
            return .refused(stored, why)
        }
    }
}

import ArgumentParser
import CFailClosed
import Foundation
import HoldpointCore
import HoldpointGate
import HoldpointRPC
import HoldpointStore

extension AgentClient: ExpressibleByArgument {}

/// `holdpoint hook claude-code|codex|gemini|cursor`: the agent client's pre-tool hook.
///
/// Reads the client's hook JSON on stdin and answers in the client's own format. It never
/// lets an action through by failing: every error on the way (bad input, bad policy, an
/// unusable queue) is answered with an explicit deny naming the cause, and a crash, a
/// signal or a hang past the watchdog answers exit 2 (see `HookEntry`).
struct Hook: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hook",
        abstract: "Agent client hook: allow, deny, or hold a tool call for a reviewer (stdin/stdout in the client's format).",
        discussion: """
            Clients: claude-code (PreToolUse), codex (PreToolUse), gemini (BeforeTool), cursor (beforeShellExecution,
            beforeMCPExecution). A gated action is queued and held up to --hold seconds; approved → allow (the approval is
            used), rejected/expired/halted → deny, still pending → deny "awaiting approval ID …; run the same action again
            once approved". Set the client's hook timeout at least 10 seconds above --hold.
            Every failure denies: exit 0 with the client's deny document, or exit 2 with the reason on stderr.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var agentOptions: AgentOptions

    @Argument(help: ArgumentHelp("The agent client: \(AgentClient.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "client"))
    var client: AgentClient

    @Option(name: .long, help: ArgumentHelp("Seconds to hold a gated action waiting for a decision before denying it as awaiting approval.", valueName: "seconds"))
    var hold: Double = Hook.defaultHold

    @Flag(
        name: .long,
        help:
            "Answer an explicit allow for actions Holdpoint lets run on their own too (by default only a human's approval is answered allow; otherwise the client's own permission rules still apply).")
    var allowExplicit = false

    func validate() throws {
        guard Hook.holdLimits.contains(hold) else { throw ValidationError("--hold: expected 0 to 3600 seconds, got \(hold)") }
    }

    /// `--hold`'s default and the values it accepts (also read by `AgentCallArguments`).
    static let defaultHold: Double = 45
    static let holdLimits: ClosedRange<Double> = 0...3600

    var hookRun: HookRun { HookRun(global: global.settings, agent: agentOptions.settings, client: client, hold: hold, allowExplicit: allowExplicit) }

    func run() throws {
        let kept = KeptUntilExit()
        let reply = hookRun.answer(keeping: kept)
        withExtendedLifetime(kept) { HookEntry.emit(reply) }
        throw ExitCode(reply.exitCode)
    }
}

/// What a hook call does, from plain option values (see `AgentCallArguments`).
struct HookRun: Equatable {
    var global: GlobalSettings
    var agent: AgentSettings
    var client: AgentClient
    var hold: Double
    /// `--allow-explicit`: answer "allow" for autonomous and supervised actions too.
    var allowExplicit = false

    /// The watchdog: the answer must reach the client before its own timeout.
    var watchdogSeconds: UInt32 { UInt32(hold.rounded(.up)) + 5 }

    /// The answer to the hook input on stdin. Never throws: failures are denials. What it
    /// loads and opens goes into `kept` (see `KeptUntilExit`).
    func answer(keeping kept: KeptUntilExit) -> HookReply {
        HookAnswer.reply(decide(keeping: kept), client: client)
    }

    func decide(keeping kept: KeptUntilExit) -> HookDecision {
        let stage = "reading the hook input"
        do {
            let bytes = try Terminal.readStandardInput(limit: HookInput.maximumSize)
            let call = try HookInput.parse(bytes, client: client)
            return try decide(call, keeping: kept)
        } catch let error as HookInputError {
            return .deny(reason: "holdpoint: denied (fail closed): bad hook input: \(error.description)")
        } catch {
            return .deny(reason: "holdpoint: denied (fail closed) while \(stage): \(error)")
        }
    }

    private func decide(_ call: ToolCall, keeping kept: KeptUntilExit) throws -> HookDecision {
        if let conflict = global.socketConflict {
            return .deny(reason: "holdpoint: denied (fail closed): \(conflict)")
        }
        let agentID = agent.agent ?? Environment.value("HOLDPOINT_AGENT") ?? client.rawValue
        let request: ActionRequest
        do {
            request = try ToolMapping.request(for: call, environment: agent.environment, agentID: agentID, mode: agent.mode)
        } catch {
            return .deny(reason: "holdpoint: denied (fail closed): cannot describe this \(call.toolName) call as an action: \(error.description)")
        }
        let consumer = "hook \(client.rawValue)"
        let outcome: Gate.Outcome
        if let socket = global.socketPath {
            // The daemon classifies with its own policy and holds the action on its side.
            do {
                outcome = try DaemonClient(socketPath: socket, claimedOrigin: nil).admit(request, consumer: consumer, hold: hold, timeout: nil)
            } catch {
                return .deny(reason: "holdpoint: denied (fail closed): the approval daemon is unavailable (\(error.description)); nothing runs until it is back")
            }
        } else {
            let policy: Policy
            do {
                policy = try PolicyLoader.load(policyFile: global.policyPath)
                kept.policy = policy
            } catch {
                return .deny(reason: "holdpoint: denied (fail closed): the policy is invalid, so nothing is allowed: \(error.description)")
            }
            let protection = global.selfProtection(workingDirectory: request.workingDirectory)
            let classification = Classifier(policy: policy, protection: protection).classify(request)
            do {
                let store = try QueueStore(path: global.queuePath, auditHeadPath: global.auditPath)
                kept.store = store
                let gate = Gate(store: store, identity: SystemIdentity.current(), consumer: consumer)
                outcome = try gate.admit(
                    request, classification: classification, approvals: policy.approvals.applying(to: classification), redactor: policy.redactor, gateway: policy.gateway(for: request.environment),
                    hold: hold)
            } catch {
                return .deny(reason: "holdpoint: denied (fail closed): the approval queue is unavailable (\(error.description)); nothing runs until it is back")
            }
        }
        let message = GateMessage.text(for: outcome)
        switch outcome {
        case .approved: return .allow(reason: message)
        case .allowed: return allowExplicit ? .allow(reason: message) : .noObjection(reason: message)
        default: return outcome.mayRun ? .allow(reason: message) : .deny(reason: message)
        }
    }
}

/// What a hook call loaded and opened, kept until the process exits instead of torn down
/// after the answer is known. The hook process ends as soon as it has answered, and the
/// teardown would be pure cost: closing the queue through GRDB looks Foundation's
/// notification centre up for the first time (about 0.77 million instructions, a twentieth
/// of an allowed call), and freeing the policy's tables another 0.64 million. Nothing is
/// lost by not closing: every write was committed and flushed before the answer, and the
/// queue's log is left for the next process either way (see `QueueStore`).
final class KeptUntilExit {
    var policy: Policy?
    var store: QueueStore?
}

/// The hook's process-level guard, installed before anything can fail.
enum HookEntry {
    static func run(_ arguments: [String]) -> Never {
        hp_fail_closed_install("holdpoint hook: internal failure; the action is denied (fail closed)", 2)
        hp_fail_closed_watchdog(55)
        let kept = KeptUntilExit()
        let reply: HookReply
        do {
            // Start-up is most of an allowed call's cost, so the options are read without
            // ArgumentParser when they are plain (`AgentCallArguments`), and otherwise only
            // the hook's own options are parsed, not the whole command tree.
            let options = Array(arguments.dropFirst())
            let hook = try AgentCallArguments.hook(options) ?? Hook.parse(options).hookRun
            hp_fail_closed_watchdog(hook.watchdogSeconds)
            reply = hook.answer(keeping: kept)
        } catch {
            if Hook.exitCode(for: error) == .success { Hook.exit(withError: error) }  // --help
            let message = Hook.message(for: error).split(separator: "\n").first.map(String.init) ?? "bad arguments"
            reply = HookReply(stdout: "", stderr: "holdpoint hook: \(message); the action is denied (fail closed)\n", exitCode: 2)
        }
        withExtendedLifetime(kept) { () -> Never in
            emit(reply)
            exit(reply.exitCode)
        }
    }

    /// Writes the answer. If stdout cannot take it, the client learns nothing from stdout,
    /// so the answer becomes exit 2 with the reason on stderr.
    static func emit(_ reply: HookReply) {
        if !reply.stderr.isEmpty { _ = writeAll(STDERR_FILENO, reply.stderr) }
        if !reply.stdout.isEmpty, !writeAll(STDOUT_FILENO, reply.stdout) {
            _ = writeAll(STDERR_FILENO, "holdpoint hook: cannot write the answer to stdout; the action is denied (fail closed)\n")
            exit(2)
        }
    }

    static func writeAll(_ fd: Int32, _ text: String) -> Bool {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { buffer in write(fd, buffer.baseAddress! + offset, buffer.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }
}

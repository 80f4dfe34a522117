import ArgumentParser
import Foundation
import HoldpointCore

@main
struct Holdpoint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "holdpoint",
        abstract: "A hold point for AI agents: no action past a line of risk runs without a named human's approval.",
        discussion: """
        Exit codes (check): 0 allowed, 2 blocked by policy, 5 approval required,
        64 usage error, 65 bad input, 78 policy or configuration error.
        """,
        version: "0.1.0",
        subcommands: [Check.self, PolicyCommand.self]
    )
}

/// Options every subcommand shares. Each has an environment-variable equivalent so agent
/// integrations can be configured once.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Policy file (YAML), layered on the built-in defaults. Env: HOLDPOINT_POLICY.", valueName: "path"))
    var policy: String?

    var policyPath: String? {
        if let policy { return policy }
        if let env = ProcessInfo.processInfo.environment["HOLDPOINT_POLICY"], !env.isEmpty { return env }
        return nil
    }

    /// Loads the effective policy or exits 78: an invalid policy never falls back to allowing.
    func loadPolicy() throws -> Policy {
        do {
            return try PolicyLoader.load(policyFile: policyPath)
        } catch {
            Terminal.error("invalid policy:\n\(error.description)")
            throw ExitCode(ExitCodes.configuration)
        }
    }
}

/// Options of the commands agents call (check, submit, exec, hooks).
struct AgentOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Environment the action runs in. Env: HOLDPOINT_ENV. Default: production (the strictest).", valueName: "name"))
    var env: String?

    @Option(name: .long, help: ArgumentHelp("Agent identity. Env: HOLDPOINT_AGENT.", valueName: "id"))
    var agent: String?

    @Option(name: .customLong("agent-mode"), help: ArgumentHelp("supervised or autonomous (the stricter, and the default).", valueName: "mode"))
    var agentMode: AgentMode?

    var environment: String {
        env ?? ProcessInfo.processInfo.environment["HOLDPOINT_ENV"].flatMap { $0.isEmpty ? nil : $0 } ?? "production"
    }

    var agentID: String {
        agent ?? ProcessInfo.processInfo.environment["HOLDPOINT_AGENT"].flatMap { $0.isEmpty ? nil : $0 } ?? "unknown-agent"
    }

    var mode: AgentMode {
        agentMode ?? ProcessInfo.processInfo.environment["HOLDPOINT_AGENT_MODE"].flatMap(AgentMode.init(rawValue:)) ?? .autonomous
    }
}

extension AgentMode: ExpressibleByArgument {}

/// The contract's exit codes (see README "Exit codes").
enum ExitCodes {
    static let allowed: Int32 = 0
    static let rejected: Int32 = 1
    static let blocked: Int32 = 2
    static let expired: Int32 = 3
    static let halted: Int32 = 4
    static let approvalRequired: Int32 = 5
    static let usage: Int32 = 64
    static let badInput: Int32 = 65
    static let unavailable: Int32 = 69
    static let configuration: Int32 = 78
}

import ArgumentParser
import Foundation
import HoldpointCore
import HoldpointGate
import HoldpointPostgres
import HoldpointRPC
import HoldpointServer
import HoldpointStore

struct Holdpoint: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "holdpoint",
        abstract: "A hold point for AI agents: no action past a line of risk runs without a named human's approval.",
        discussion: """
            Exit codes of check, submit and wait:
              0 allowed or approved, 1 rejected, 2 blocked by policy,
              3 expired (no decision before the deadline), 4 halted, 5 approval required,
              64 usage error, 65 bad input, 69 queue or daemon unavailable,
              78 policy or configuration error.
            Exit codes of decide: 0 recorded, 6 no longer pending, 77 not allowed to decide.
            """,
        version: "0.1.0",
        subcommands: [
            Check.self, Submit.self, Exec.self, Hook.self, Review.self, Demo.self, Wait.self, List.self, Decide.self, HaltCommand.self, Resume.self, AuditCommand.self, PolicyCommand.self,
            PlanCommand.self, QueueCommand.self, NotifyCommand.self, Setup.self, Checklist.self, Serve.self,
        ]
    )
}

/// Options every subcommand shares. Each has an environment-variable equivalent so agent
/// integrations can be configured once.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The queue file (SQLite). Env: HOLDPOINT_QUEUE. Default: $XDG_STATE_HOME/holdpoint/queue.sqlite.", valueName: "path"))
    var queue: String?

    @Option(name: .long, help: ArgumentHelp("The daemon's socket (`holdpoint serve`): every call goes through it and the queue file is never opened. Env: HOLDPOINT_SOCKET.", valueName: "path"))
    var socket: String?

    @Option(name: .long, help: ArgumentHelp("The audit log's signed head file. Env: HOLDPOINT_AUDIT. Default: beside the queue.", valueName: "path"))
    var audit: String?

    @Option(name: .long, help: ArgumentHelp("Policy file (YAML), layered on the built-in defaults. Env: HOLDPOINT_POLICY.", valueName: "path"))
    var policy: String?

    var settings: GlobalSettings { GlobalSettings(queue: queue, socket: socket, audit: audit, policy: policy) }
    var policyPath: String? { settings.policyPath }
    var queuePath: String { settings.queuePath }
    var auditPath: String? { settings.auditPath }
    func openQueue() throws -> QueueStore { try settings.openQueue() }
    func openBackend() throws -> any QueueBackend { try settings.openBackend() }
    func service(classifying: Bool = false, creating: Bool = false) throws -> any QueueService {
        try settings.service(classifying: classifying, creating: creating)
    }
    func selfProtection(workingDirectory: String? = nil) -> SelfProtection { settings.selfProtection(workingDirectory: workingDirectory) }
    func loadPolicy() throws -> Policy { try settings.loadPolicy() }
}

/// The shared options as plain values, however they were parsed: by ArgumentParser, or by
/// `AgentCallArguments` on the agents' hot path.
struct GlobalSettings: Equatable, Sendable {
    var queue: String?
    var socket: String?
    var audit: String?
    var policy: String?

    /// The daemon's socket, when one is given: then nothing opens the queue file.
    var socketPath: String? { socket ?? Environment.value("HOLDPOINT_SOCKET") }

    /// Why these settings cannot be used with a socket, or nil. In socket mode the daemon's
    /// policy and queue are the only ones: a client that names its own is refused (64).
    var socketConflict: String? {
        guard socketPath != nil else { return nil }
        if policyPath != nil {
            return "in socket mode the daemon's policy applies: --policy and HOLDPOINT_POLICY are refused (unset HOLDPOINT_POLICY, or drop --socket for file mode)"
        }
        if queue != nil { return "--queue and --socket exclude each other: in socket mode only the daemon opens the queue" }
        if audit != nil { return "--audit and --socket exclude each other: in socket mode only the daemon keeps the audit head" }
        return nil
    }

    /// Every command's way to the queue: the daemon when a socket is given, otherwise the
    /// file, with the policy (loaded only when `classifying`: the others never classify)
    /// and the OS user of this process. Exits 64, 69 or 78 as the contract says.
    func service(classifying: Bool, creating: Bool = false) throws -> any QueueService {
        if let socketPath {
            if let conflict = socketConflict {
                Terminal.error(conflict)
                throw ExitCode(ExitCodes.usage)
            }
            return DaemonClient(socketPath: socketPath, claimedOrigin: SystemIdentity.current().via)
        }
        // Reading, deciding and reviewing never create a queue: a mistyped path would
        // otherwise show an empty queue that nothing will ever be submitted to.
        if !creating && !FileManager.default.fileExists(atPath: queuePath) {
            Terminal.error("no queue at \(queuePath): nothing has been submitted there (check --queue or HOLDPOINT_QUEUE)")
            throw ExitCode(ExitCodes.unavailable)
        }
        let policy = classifying ? try loadPolicy() : Policy(rules: RuleSet(packs: []))
        let settings = self
        return LocalQueue(
            store: try openQueue(), policy: policy, identity: SystemIdentity.current(),
            protection: { settings.selfProtection(workingDirectory: $0) })
    }

    var policyPath: String? {
        if let policy { return policy }
        if let env = Environment.value("HOLDPOINT_POLICY") { return env }
        return nil
    }

    var queuePath: String {
        if let queue { return queue }
        if let value = Environment.value("HOLDPOINT_QUEUE") { return value }
        return StateDirectory.path + "/queue.sqlite"
    }

    var auditPath: String? { audit ?? Environment.value("HOLDPOINT_AUDIT") }

    /// Opens the queue or exits 69: an agent that cannot reach the queue is denied. A
    /// PostgreSQL queue is only ever opened by `serve` (`openBackend`): every other command
    /// reaches it through a daemon's socket.
    func openQueue() throws -> QueueStore {
        if PostgresSettings.names(queuePath) {
            Terminal.error(
                "queue configuration: \(SafeText.escape(PostgresSettings.redactedName(queuePath))) is a PostgreSQL queue: only `holdpoint serve` opens it; point this command at a daemon's socket (--socket)"
            )
            throw ExitCode(ExitCodes.configuration)
        }
        return try queueCall { () throws(StoreError) in try QueueStore(path: queuePath, auditHeadPath: auditPath) }
    }

    /// The queue `serve` owns: the SQLite file, or a PostgreSQL database shared with other
    /// daemons (its checkpoints signed with this host's key, kept in the state directory).
    func openBackend() throws -> any QueueBackend {
        guard PostgresSettings.names(queuePath) else { return try openQueue() }
        let queuePath = self.queuePath
        let head = auditPath ?? StateDirectory.path + "/daemon.audit-head"
        return try queueCall { () throws(StoreError) -> any QueueBackend in
            do {
                try FileManager.default.createDirectory(atPath: StateDirectory.path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw StoreError(.unavailable, "cannot create \(StateDirectory.path) for this daemon's signing key: \(error)")
            }
            return try PostgresQueueStore(settings: try PostgresSettings.parse(queuePath), keyPath: StateDirectory.path + "/daemon.audit-key", headPath: head)
        }
    }

    /// What an agent may not touch: this queue's files, the audit head and key, the policy,
    /// the state directory, and the binary itself under any name.
    func selfProtection(workingDirectory: String? = nil, home callerHome: String? = nil) -> SelfProtection {
        let cwd = workingDirectory ?? FileManager.default.currentDirectoryPath
        let home = callerHome ?? Environment.value("HOME")
        let queue = PathText.normalize(queuePath, relativeTo: FileManager.default.currentDirectoryPath, home: home)
        var files = [queue, queue + "-wal", queue + "-shm", queue + "-journal", queue + ".lock", queue + ".sync", auditPath ?? queue + ".audit-head"]
        if let policyPath { files.append(policyPath) }
        return SelfProtection(
            protectedFiles: files, secretFiles: [queue + ".audit-key"], protectedDirectories: [StateDirectory.path] + Self.installDirectories,
            binaryPath: Self.executablePath, homeDirectory: home, workingDirectory: cwd, inspectFiles: true)
    }

    /// Where the documented system-wide setup keeps the policy, the daemon's queue and its
    /// socket (docs/serve.md): no agent changes anything there, whatever this process's own
    /// settings name.
    static let installDirectories = ["/etc/holdpoint", "/var/lib/holdpoint", "/run/holdpoint"]

    static var executablePath: String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
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

    var settings: AgentSettings { AgentSettings(env: env, agent: agent, agentMode: agentMode) }
    var environment: String { settings.environment }
    var agentID: String { settings.agentID }
    var mode: AgentMode { settings.mode }
}

/// The agent options as plain values (see `GlobalSettings`).
struct AgentSettings: Equatable, Sendable {
    var env: String?
    var agent: String?
    var agentMode: AgentMode?

    var environment: String { env ?? Environment.value("HOLDPOINT_ENV") ?? "production" }
    var agentID: String { agent ?? Environment.value("HOLDPOINT_AGENT") ?? "unknown-agent" }
    var mode: AgentMode { agentMode ?? Environment.value("HOLDPOINT_AGENT_MODE").flatMap(AgentMode.init(rawValue:)) ?? .autonomous }
}

/// One environment variable, empty counting as unset. Reads the one variable rather than
/// building `ProcessInfo`'s dictionary of all of them, which an agent's call pays for.
enum Environment {
    static func value(_ name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        let text = String(cString: raw)
        return text.isEmpty ? nil : text
    }
}

extension AgentMode: ExpressibleByArgument {}

/// The contract's exit codes (see docs/queue-and-audit.md, "Exit codes").
enum ExitCodes {
    static let allowed: Int32 = 0
    static let rejected: Int32 = 1
    static let blocked: Int32 = 2
    static let expired: Int32 = 3
    static let halted: Int32 = 4
    static let approvalRequired: Int32 = 5
    static let notPending: Int32 = 6
    static let notPermitted: Int32 = 77
    static let usage: Int32 = 64
    static let badInput: Int32 = 65
    static let unavailable: Int32 = 69
    static let configuration: Int32 = 78
}

/// Runs a queue operation. A queue or daemon that cannot be used ends the command with exit
/// 69, which for an agent is a denial; the daemon's refusals keep their own codes (77 not
/// permitted, 65 bad input, 64 usage).
func queueCall<T>(_ body: () throws(StoreError) -> T) throws -> T {
    do {
        return try body()
    } catch {
        switch error.kind {
        case .notPermitted:
            Terminal.error("not permitted: \(SafeText.escape(error.description))")
            throw ExitCode(ExitCodes.notPermitted)
        case .badInput:
            Terminal.error("bad input: \(SafeText.escape(error.description))")
            throw ExitCode(ExitCodes.badInput)
        case .usage:
            Terminal.error("usage: \(SafeText.escape(error.description))")
            throw ExitCode(ExitCodes.usage)
        case .configuration:
            Terminal.error("queue configuration: \(SafeText.escape(error.description))")
            throw ExitCode(ExitCodes.configuration)
        case .unavailable, .schemaTooNew, .notFound:
            Terminal.error("queue unavailable: \(SafeText.escape(error.description))")
            throw ExitCode(ExitCodes.unavailable)
        }
    }
}

/// `$XDG_STATE_HOME/holdpoint`, or `~/.local/state/holdpoint`.
enum StateDirectory {
    static var path: String {
        if let state = Environment.value("XDG_STATE_HOME") { return state + "/holdpoint" }
        let home = Environment.value("HOME") ?? NSHomeDirectory()
        return home + "/.local/state/holdpoint"
    }
}

/// Who is at the keyboard, as decisions record it.
enum SystemIdentity {
    /// The OS login of the process's real user; under `sudo`, the user who ran sudo
    /// (`SUDO_USER`, trusted only when running as root). The origin is the SSH client's
    /// address when there is one, else the terminal.
    static func current() -> Identity {
        let uid = getuid()
        var user = userName(uid)
        if uid == 0, let sudoUser = Environment.value("SUDO_USER") { user = sudoUser }
        var via = "local"
        if let ssh = Environment.value("SSH_CONNECTION"), let client = ssh.split(separator: " ").first {
            via = "ssh \(client)"
        } else if let tty = ttyname(STDIN_FILENO) {
            via = "tty \(String(cString: tty))"
        }
        // Groups as the daemon resolves them (from /etc/group, not NSS: see `Peer.resolve`),
        // for `@group` reviewers and `one_from_each` rules. Under sudo, the sudo user's.
        let accounts = LocalAccounts.current()
        let account = accounts.users.first { $0.value.name == user }.map { ($0.key, $0.value.gid) } ?? (uid, getgid())
        let groups = Peer.resolve(uid: account.0, gid: account.1, pid: getpid(), accounts: accounts).groups
        return Identity(user: user, via: via, groups: groups)
    }

    static func userName(_ uid: uid_t) -> String {
        var record = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        if getpwuid_r(uid, &record, &buffer, buffer.count, &result) == 0, let entry = result, let name = entry.pointee.pw_name {
            return String(cString: name)
        }
        return "uid-\(uid)"
    }
}

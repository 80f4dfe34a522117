import ArgumentParser
import Foundation
import HoldpointCore
import HoldpointNotify
import HoldpointServer
import HoldpointStore

/// `holdpoint serve`: the daemon that alone owns the queue, the signing key, the audit head
/// and the policy, for agents that must not be able to approve their own actions.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "The multi-user daemon (socket mode): clients reach the queue only through its socket.",
        discussion: """
            Run it as its own OS user, which alone can read and write the queue, key, head and policy. Agents, hooks,
            exec, consoles and the CLI connect with --socket PATH (or HOLDPOINT_SOCKET). Who connects is taken from the
            kernel (SO_PEERCRED); only the policy's approvals.reviewers may decide, halt and resume. Logs go to stderr.
            SIGTERM or SIGINT: stop accepting, answer waiting clients "shutting down" (they are denied), exit 0.
            Exit: 0 stopped, 64 usage, 69 queue or socket unavailable, 78 policy error or no reviewers named.
            See docs/serve.md for the setup (users, groups, systemd unit).
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .customLong("socket-group"), help: ArgumentHelp("Give the socket to this group (mode 0660): its members may connect. Default: the daemon's own group.", valueName: "group"))
    var socketGroup: String?

    func run() async throws {
        guard let socketPath = global.settings.socketPath else {
            throw ValidationError("give the socket to listen on: --socket PATH (or HOLDPOINT_SOCKET)")
        }
        let policy = try global.loadPolicy()
        if let refusal = Daemon.refusal(of: policy) {
            Terminal.error("serve: \(refusal)")
            throw ExitCode(ExitCodes.configuration)
        }
        let store = try global.openBackend()
        if let refusal = Daemon.refusal(of: policy, on: store) {
            Terminal.error("serve: \(refusal)")
            throw ExitCode(ExitCodes.configuration)
        }
        var groupID: gid_t?
        if let socketGroup {
            // From /etc/group, not NSS: see `Peer.resolve`.
            guard let gid = LocalAccounts.read().groupNames.first(where: { $0.value == socketGroup })?.key else {
                Terminal.error("serve: no group named '\(SafeText.escape(socketGroup))' in /etc/group")
                throw ExitCode(ExitCodes.configuration)
            }
            groupID = gid
        }
        let settings = global.settings
        let daemon = Daemon(store: store, policy: policy) { workingDirectory, home in
            settings.selfProtection(workingDirectory: workingDirectory ?? "/", home: home)
        }
        let server = DaemonServer(daemon: daemon, socketPath: socketPath)
        // Paging runs beside the daemon, reading the log it writes: never in a decision's way.
        let notifier = policy.notify.isEmpty && policy.approvals.escalateAfter == nil ? nil : Notifier(store: store, sinks: policy.notify)
        if let notifier {
            do { try notifier.prepareCursors() } catch {
                Terminal.error("serve: notify: \(error)")
                throw ExitCode(ExitCodes.unavailable)
            }
        }
        let paging = notifier.map { notifier in
            Task {
                while !Task.isCancelled {
                    for line in await notifier.runOnce() { Terminal.error("serve: notify: \(SafeText.escape(line))") }
                    try? await Task.sleep(nanoseconds: 250_000_000)
                }
            }
        }
        let stopSignal = StopSignal()
        let queuePath = store.name
        let reviewers = policy.approvals.reviewers.joined(separator: ", ")
        let signingKey = store.publicKeyHex  // what `audit verify --public-key` names
        do {
            try await server.run(
                socketGroup: groupID,
                ready: {
                    Terminal.error("serve: listening on \(socketPath) (queue \(queuePath); reviewers \(reviewers); audit key \(signingKey))")
                }, stop: { await stopSignal.wait() })
        } catch {
            paging?.cancel()
            await notifier?.close()
            Terminal.error("serve: \(error.description)")
            throw ExitCode(ExitCodes.unavailable)
        }
        paging?.cancel()
        await notifier?.close()
        Terminal.error("serve: stopped")
    }
}

/// SIGTERM and SIGINT, as something to await.
// @unchecked: the sources are made and started in `init`, and only cancelled afterwards.
final class StopSignal: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]
    private let signals: AsyncStream<Void>

    init() {
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        signals = stream
        sources = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield() }
            // Started at once: a dispatch source released while suspended crashes the process.
            source.resume()
            return source
        }
    }

    deinit {
        for source in sources { source.cancel() }
    }

    /// Returns at the first SIGTERM or SIGINT.
    func wait() async {
        for await _ in signals { return }
    }
}

import HoldpointCore
import HoldpointStore
import Subprocess
import Synchronization

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// Runs an allowed or approved action as a child process and records what happened.
///
/// The child inherits stdin, stdout and stderr, so its output passes straight through. While
/// it runs, its request is `running` (with the pid); afterwards `succeeded` or `failed`,
/// with the exit status or signal and the duration. Halting the agent (the kill switch)
/// terminates the child: SIGTERM, then SIGKILL after `grace` seconds (swift-subprocess's
/// teardown sequence, which runs when the task running the child is cancelled).
public struct Executor: Sendable {
    /// Where the run is recorded and the kill switch is read: the file, or the daemon.
    public let service: any QueueService
    /// Seconds between SIGTERM and SIGKILL when the agent is halted.
    public let grace: Double
    /// How often the kill switch is checked while the child runs.
    public let haltPollInterval: Double

    public init(service: any QueueService, grace: Double = 5, haltPollInterval: Double = 0.2) {
        self.service = service
        self.grace = grace
        self.haltPollInterval = haltPollInterval
    }

    public struct Outcome: Sendable, Equatable {
        public var exitCode: Int32?
        public var signal: Int32?
        /// Set when the kill switch ended the run.
        public var halt: QueueStore.Halt?
        /// Set when the child could not be started.
        public var startError: String?
        public var record: StoredRequest?
    }

    /// Runs `argv` for `request` (already allowed, or approved and consumed).
    public func run(_ argv: [String], request: StoredRequest, workingDirectory: String?) async -> Outcome {
        guard let program = argv.first else { return Outcome(startError: "no command") }
        var options = PlatformOptions()
        options.teardownSequence = [.gracefulShutDown(allowedDurationToNextStep: .milliseconds(Int(grace * 1000)))]
        let configuration = Configuration(
            executable: program.containsASCII("/") ? .path(FilePath(program)) : .name(program),
            arguments: Arguments(Array(argv.dropFirst())),
            environment: .inherit,
            workingDirectory: workingDirectory.map { FilePath($0) },
            platformOptions: options)
        let service = self.service
        let started = Mutex<Bool>(false)
        let halted = Mutex<QueueStore.Halt?>(nil)

        let child = Task {
            try await Subprocess.run(configuration, input: .currentStandardInput, output: .currentStandardOutput, error: .currentStandardError) { execution in
                _ = try? service.startRun(id: request.id, pid: execution.processIdentifier.value)
                started.withLock { $0 = true }
            }
        }
        let watcher = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(Int(haltPollInterval * 1000)))
                if Task.isCancelled { return }
                if let halt = try? service.haltFor(agent: request.agentID) {
                    halted.withLock { $0 = halt }
                    child.cancel()
                    return
                }
            }
        }
        let result = await child.result
        watcher.cancel()
        let halt = halted.withLock { $0 }
        switch result {
        case .success(let execution):
            var outcome = Outcome(halt: halt)
            switch execution.terminationStatus {
            case .exited(let code): outcome.exitCode = code
            case .signaled(let signal): outcome.signal = signal
            }
            let note = halt.map { "terminated by the kill switch: \($0.agent == "*" ? "every agent" : "agent \($0.agent)") halted by \($0.by): \($0.reason)" }
            outcome.record = try? service.finishRun(id: request.id, exitCode: outcome.exitCode, signal: outcome.signal, note: note)
            return outcome
        case .failure(let error):
            let message = "could not start \(program): \(error)"
            if !started.withLock({ $0 }) { _ = try? service.startRun(id: request.id, pid: 0) }
            let record = try? service.finishRun(id: request.id, exitCode: 127, signal: nil, note: message)
            return Outcome(exitCode: 127, halt: halt, startError: message, record: record)
        }
    }
}

// holdpoint: the one binary. Agents' hooks take a fast path that parses no command tree;
// everything else is swift-argument-parser's `Holdpoint` command (Holdpoint.swift).
import ArgumentParser
import Foundation

Entry.main()

enum Entry {
    /// A synchronous `main`: an `async` one hands the main thread to the dispatcher, which
    /// ends it with `pthread_exit`, and in the static binary libgcc then sorts the unwind
    /// entries of the whole 120 MB executable (about 50 ms, most of a short command's time).
    /// The command tree runs in a task; this thread waits for it and exits.
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        // Help is for people at a terminal; every other hook invocation is fail-closed.
        let wantsHelp = arguments.contains { $0 == "--help" || $0 == "-h" }
        if arguments.first == "hook" && !wantsHelp { HookEntry.run(arguments) }
        if arguments.first == "check" && !wantsHelp {
            let options = Array(arguments.dropFirst())
            if let check = AgentCallArguments.check(options) { runAlone { try check.run() } }
            runAlone(Check.self, options)
        }
        runAlone {
            var command = try Holdpoint.parseAsRoot(arguments)
            guard let asynchronous = command as? any AsyncParsableCommand else { return try command.run() }
            // `exec` and `serve` are async: they run in a task while this thread waits.
            let run = AsyncRun(asynchronous)
            Task.detached { await run.start() }
            try run.wait()
        }
    }

    /// One async command, run in a task and waited for from the main thread.
    final class AsyncRun: @unchecked Sendable {
        // Touched only by the task until it signals `finished`, then only by the waiter.
        private var command: any AsyncParsableCommand
        private var failure: (any Error)?
        private let finished = DispatchSemaphore(value: 0)

        init(_ command: any AsyncParsableCommand) { self.command = command }

        func start() async {
            do { try await command.run() } catch { failure = error }
            finished.signal()
        }

        func wait() throws {
            finished.wait()
            if let failure { throw failure }
        }
    }

    /// Runs a command that agents call on every action without building the whole command
    /// tree: that tree reflects over every subcommand's options and costs more than the check
    /// itself. Arguments it cannot parse fall through to the full tree, so usage errors and
    /// help read exactly as they do for any other command.
    static func runAlone<Command: ParsableCommand>(_ type: Command.Type, _ arguments: [String]) {
        guard var command = try? Command.parse(arguments) else { return }
        runAlone { try command.run() }
    }

    static func runAlone(_ body: () throws -> Void) -> Never {
        do {
            try body()
        } catch let code as ExitCode {
            // The usual end of a check (its verdict's exit code). ArgumentParser's `exit`
            // would first build the command's help model to format a message it then omits.
            exit(code.rawValue)
        } catch {
            Holdpoint.exit(withError: error)
        }
        exit(0)
    }
}

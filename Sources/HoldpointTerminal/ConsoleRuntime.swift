import CNcurses
import Foundation
import HoldpointConsole
import HoldpointCore

/// What the console needs from a queue. The CLI adapts `QueueStore` to it; the console
/// module itself never touches storage.
public protocol ReviewBackend {
    func snapshot(now: Double) throws -> ReviewSnapshot
    func changeToken() throws -> Int64
    func decide(id: String, verdict: Verdict, reason: String) throws -> DecideResult
    func halt(agent: String, reason: String) throws -> Int
    func resume(agent: String) throws -> Bool
    func history(id: String) throws -> [AuditEntry]
    /// A descriptor that becomes readable whenever the queue changes (the daemon pushes a
    /// line on it; on a file, the kernel reports a write), or nil to poll. The runtime closes it.
    func openChangeFeed() -> Int32?
}

extension ReviewBackend {
    public func openChangeFeed() -> Int32? { nil }
}

/// The write end of the self-pipe that signal handlers use to wake the loop. Handlers may
/// only call async-signal-safe functions, so they write a byte here and nothing else.
nonisolated(unsafe) private var signalPipeWrite: Int32 = -1

/// The event loop: waits on the keyboard and a self-pipe, polls the queue twice a second,
/// runs `update`, performs its effects, and paints the view.
public enum ConsoleRuntime {
    public static func run(backend: any ReviewBackend, initial: ConsoleState, theme: Theme, useColor: Bool) -> Int32 {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return 1 }
        let wakeRead = fds[0]
        signalPipeWrite = fds[1]
        _ = fcntl(wakeRead, F_SETFL, O_NONBLOCK)
        _ = fcntl(fds[1], F_SETFL, O_NONBLOCK)
        let handler: @convention(c) (Int32) -> Void = { number in
            var byte = UInt8(truncatingIfNeeded: number)
            _ = write(signalPipeWrite, &byte, 1)
        }
        // A parent may have started us with these blocked (it happens under test runners and
        // some supervisors); blocked, they would never reach the handler and the terminal
        // would not be restored.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for number in [SIGINT, SIGTERM, SIGHUP, SIGWINCH] { sigaddset(&unblock, number) }
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
        signal(SIGHUP, handler)
        signal(SIGPIPE, SIG_IGN)

        let screen = NcursesScreen(theme: theme, useColor: useColor)
        screen.pushTitle()
        var title = ""
        defer {
            screen.popTitle()
            screen.close()
            close(wakeRead)
            close(fds[1])
        }
        var state = initial
        var exitStatus: Int32 = 0
        let size = screen.size
        var pending: [ConsoleEvent] = [.resized(width: size.width, height: size.height)]
        var lastToken: Int64 = -1
        var lastPoll = 0.0
        var lastTick = 0.0
        // Pushed changes when the backend has them (the daemon, or the kernel watching the
        // file); the half-second poll below stays as the fallback and to notice a daemon that
        // went away.
        var feed = backend.openChangeFeed() ?? -1
        defer { if feed >= 0 { close(feed) } }

        func refresh() {
            do {
                pending.append(.snapshot(try backend.snapshot(now: Clock.now())))
                lastToken = try backend.changeToken()
                state.live = true
            } catch {
                state.live = false
                pending.append(.failed("queue unavailable: \(error)"))
            }
        }
        refresh()

        while !state.quitting {
            // Drain events; effects may add more.
            while !pending.isEmpty {
                let event = pending.removeFirst()
                for effect in update(&state, event) {
                    switch effect {
                    case .quit: state.quitting = true
                    case .bell: screen.bell()
                    case .copy(let text): screen.copyToClipboard(text)
                    case .refresh: refresh()
                    case .loadHistory(let id):
                        if let entries = try? backend.history(id: id) { pending.append(.history(id: id, entries: entries)) }
                    case .decide(let id, let verdict, let reason):
                        do { pending.append(.decided(try backend.decide(id: id, verdict: verdict, reason: reason))) } catch {
                            pending.append(.failed("decision not recorded: \(error)"))
                        }
                    case .halt(let agent, let reason):
                        do {
                            let stopped = try backend.halt(agent: agent, reason: reason)
                            pending.append(.haltDone("Halted \(agent): \(stopped) pending request\(stopped == 1 ? "" : "s") stopped"))
                        } catch { pending.append(.failed("halt not recorded: \(error)")) }
                    case .resume(let agent):
                        do {
                            pending.append(.haltDone(try backend.resume(agent: agent) ? "Resumed \(agent)" : "\(agent) was not halted"))
                        } catch { pending.append(.failed("resume not recorded: \(error)")) }
                    }
                }
            }
            if state.quitting { break }
            screen.paint(render(state))
            let wanted = terminalTitle(state)
            if wanted != title {
                title = wanted
                screen.setTitle(title)
            }

            var polls = [
                pollfd(fd: 0, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
                pollfd(fd: feed, events: Int16(POLLIN), revents: 0),
            ]
            _ = poll(&polls, feed >= 0 ? 3 : 2, 250)
            if polls[1].revents != 0 {
                // A signal (SIGINT, SIGTERM, SIGHUP): the terminal is restored, and the exit
                // status says which, as a shell reports a process a signal ended (128 + N).
                var buffer = [UInt8](repeating: 0, count: 16)
                let count = read(wakeRead, &buffer, buffer.count)
                exitStatus = 128 + Int32(count > 0 ? buffer[0] : UInt8(SIGTERM))
                state.quitting = true
                break
            }
            if feed >= 0 && polls[2].revents != 0 {
                var buffer = [UInt8](repeating: 0, count: 4096)
                if read(feed, &buffer, buffer.count) > 0 {
                    refresh()
                } else {
                    close(feed)  // the daemon went away: back to polling, which reports it
                    feed = -1
                }
            }
            for input in screen.readInput() {
                switch input {
                case .resize:
                    screen.invalidate()
                    let size = screen.size
                    pending.append(.resized(width: size.width, height: size.height))
                case .key(let key):
                    // The clock first: the reading guard measures from it, to the key.
                    pending.append(.tick(now: Clock.now()))
                    pending.append(.key(key))
                }
            }
            let now = Clock.now()
            if now - lastTick >= 1 {
                lastTick = now
                pending.append(.tick(now: now))
            }
            if now - lastPoll >= 0.5 {
                lastPoll = now
                // Cheap check first; a full snapshot only when something was committed.
                if let token = try? backend.changeToken() {
                    if token != lastToken { refresh() }
                    if !state.live { state.live = true }
                } else {
                    state.live = false
                }
            }
        }
        return exitStatus
    }
}

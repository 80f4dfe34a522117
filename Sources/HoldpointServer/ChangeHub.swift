import Foundation
import HoldpointStore
import Synchronization

/// How the daemon tells those waiting that something changed, without anyone polling.
///
/// Two audiences: waiters (a `submit --wait`, a held hook) care only when a request may have
/// left `pending` (a vote, a halt, an expiry); subscribers (consoles) care about every
/// commit. A waiter notes `generation` before it reads its request, then waits for a newer
/// one, so a change between its read and its wait is never missed.
final class ChangeHub: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var commits: Int64 = 0
        var nextToken: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var subscribers: [UInt64: @Sendable (Int64) -> Void] = [:]
        var closed = false
    }
    private let state = Mutex(State())

    var generation: UInt64 { state.withLock { $0.generation } }
    var isClosed: Bool { state.withLock { $0.closed } }

    /// A request may have left `pending`: wakes every waiter.
    func decisionsChanged() {
        let woken = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.generation += 1
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Something was committed: tells every subscriber, with the daemon's count of commits.
    func committed() {
        let (count, subscribers) = state.withLock { s -> (Int64, [@Sendable (Int64) -> Void]) in
            s.commits += 1
            return (s.commits, Array(s.subscribers.values))
        }
        for notify in subscribers { notify(count) }
    }

    /// Returns when the generation has passed `seen`, at `deadline` (wall clock), or when the
    /// hub is closed, whichever comes first.
    func waitForChange(after seen: UInt64, until deadline: Double) async {
        let token = state.withLock { s -> UInt64 in
            s.nextToken += 1
            return s.nextToken
        }
        let timer = Task {
            let delay = deadline - Date().timeIntervalSince1970
            if delay > 0 { try? await Task.sleep(nanoseconds: UInt64(min(delay, 86_400 * 365) * 1e9)) }
            self.resume(token)
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                if s.closed || s.generation != seen { return true }
                s.waiters[token] = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
        timer.cancel()
    }

    private func resume(_ token: UInt64) {
        state.withLock { $0.waiters.removeValue(forKey: token) }?.resume()
    }

    func subscribe(_ notify: @escaping @Sendable (Int64) -> Void) -> UInt64 {
        state.withLock { s in
            s.nextToken += 1
            s.subscribers[s.nextToken] = notify
            return s.nextToken
        }
    }

    func unsubscribe(_ token: UInt64) {
        _ = state.withLock { $0.subscribers.removeValue(forKey: token) }
    }

    /// Shutting down: every waiter returns now, and no new wait blocks.
    func close() {
        let woken = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.closed = true
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for continuation in woken { continuation.resume() }
    }
}

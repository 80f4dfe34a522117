import Foundation
import HoldpointCore
import Testing

@testable import HoldpointStore

/// File mode wakes waiters when the queue is written instead of polling it.
@Suite(.serialized) struct QueueWatchTests {
    @Test func aCommitByAnotherConnectionWakesTheWatchAndOtherFilesDoNot() throws {
        let f = try Fixture()
        let watch = try #require(QueueWatch(queuePath: f.store.path))
        // A file beside the queue is not the queue.
        FileManager.default.createFile(atPath: f.directory.appendingPathComponent("notes.txt").path, contents: Data("x".utf8))
        #expect(!watch.wait(timeout: 0.2))
        // Another connection's commit is.
        let other = try QueueStore(path: f.store.path)
        _ = try other.halt(agent: "bot-9", reason: "drill", by: alice)
        #expect(watch.wait(timeout: 30))
    }

    /// The safety-net poll is set to 30 s and the waiter gives up after 20 s: only the
    /// wake-up can bring it the decision before then.
    @Test func aWaiterLearnsOfADecisionFromTheWakeUpNotThePoll() throws {
        let f = try Fixture()
        var rules = ApprovalRules()
        rules.timeouts[.gated] = 600
        let request = try f.gated(rules, now: Clock.now())
        let outcome = Outcome()
        let store = f.store
        let pollingBefore = Self.threadsInPoll()
        let giveUpAt = Clock.now() + 20
        DispatchQueue.global().async {
            outcome.set(try? store.waitForDecision(id: request.id, giveUpAt: giveUpAt, pollInterval: 30))
        }
        // The decision lands once the waiter is asleep in poll(2) on its watch.
        let patience = Clock.now() + 10
        while Self.threadsInPoll() <= pollingBefore && Clock.now() < patience { usleep(1_000) }
        #expect(Self.threadsInPoll() > pollingBefore, "the waiter never slept on its watch")
        let reviewer = try QueueStore(path: f.store.path)
        _ = try reviewer.decide(id: request.id, verdict: .approve, reviewer: alice, reason: "ok")
        #expect(outcome.done.wait(timeout: .now() + 60) == .success)
        #expect(outcome.value?.state == .approved)
        // Woken, not timed out: it came back long before it would have given up.
        #expect(outcome.returnedAt < giveUpAt - 10)
    }

    /// Threads of this process inside poll or ppoll (x86_64 and arm64 numbers), from /proc.
    static func threadsInPoll() -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter { task in
            let call = (try? String(contentsOfFile: "/proc/self/task/\(task)/syscall", encoding: .utf8))?.split(separator: " ").first
            #if arch(x86_64)
                return call == "7" || call == "271"
            #else
                return call == "73"
            #endif
        }.count
    }

    final class Outcome: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private var stored: StoredRequest?
        private var at = 0.0
        var value: StoredRequest? { lock.withLock { stored } }
        var returnedAt: Double { lock.withLock { at } }
        func set(_ request: StoredRequest??) {
            let now = Clock.now()
            lock.withLock {
                stored = request ?? nil
                at = now
            }
            done.signal()
        }
    }
}

import ArgumentParser
import Foundation
import HoldpointCore
import HoldpointNotify
import HoldpointStore

struct NotifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notify",
        abstract: "Page reviewers (the policy's notify: sinks): deliver in file mode, show delivery state.",
        subcommands: [Run.self, Status.self]
    )

    /// The file-mode queue, or exit 64 in socket mode (the daemon delivers there).
    static func fileQueue(_ global: GlobalOptions, what: String) throws -> QueueStore {
        guard global.settings.socketPath == nil else {
            Terminal.error("in socket mode `holdpoint serve` \(what) itself; run this as the daemon's user with --queue pointing at its file")
            throw ExitCode(ExitCodes.usage)
        }
        guard FileManager.default.fileExists(atPath: global.queuePath) else {
            Terminal.error("no queue at \(global.queuePath) (check --queue or HOLDPOINT_QUEUE)")
            throw ExitCode(ExitCodes.unavailable)
        }
        return try global.openQueue()
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Deliver notifications from the queue file, as they happen, until stopped.",
            discussion: """
                Reads the audit log after each sink's cursor and sends what the sink subscribes to, in order, at \
                least once; escalates requests past approvals.escalate_after. Wakes when the queue is written. \
                Fit for a systemd service (Restart=always): stopping it, even with kill -9, loses nothing. \
                Exit 0 stopped, 64 socket mode, 69 queue unavailable, 78 policy error.
                """
        )

        @OptionGroup var global: GlobalOptions

        @Flag(name: .long, help: "One pass, then exit (for cron, or to drain a backlog).")
        var once = false

        func run() async throws {
            let store = try NotifyCommand.fileQueue(global, what: "delivers notifications")
            let policy = try global.loadPolicy()
            if policy.notify.isEmpty && policy.approvals.escalateAfter == nil {
                Terminal.error("notify: the policy names no notify: sinks and no approvals.escalate_after: nothing to do")
            }
            let notifier = Notifier(store: store, sinks: policy.notify)
            try queueCall { () throws(StoreError) in try notifier.prepareCursors() }
            let watch = QueueWatch(queuePath: store.path)
            let stop = StopSignal()
            let stopped = StopFlag()
            let waiter = Task {
                await stop.wait()
                stopped.set()
            }
            while true {
                for line in await notifier.runOnce() { Terminal.error("notify: \(SafeText.escape(line))") }
                if once || stopped.isSet { break }
                // A commit wakes us at once; a second at most for back-offs and escalations.
                if let watch { _ = watch.wait(timeout: 1) } else { try? await Task.sleep(nanoseconds: 500_000_000) }
                if stopped.isSet { break }
            }
            waiter.cancel()
            await notifier.close()
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Each sink: how far it has delivered, what is left, and its last failure.",
            discussion: """
                The queue file's sinks (the policy given here), or, with --socket, the daemon's (reviewers and the daemon's own user). \
                Exit 0 when every sink is caught up or retrying; 1 when one is failing (has a recorded failure); 69 queue unavailable; 77 not permitted.
                """
        )

        @OptionGroup var global: GlobalOptions

        @Flag(name: .long, help: "Print one JSON document.")
        var json = false

        func run() throws {
            // In file mode the policy given here names the sinks (`classifying` loads it).
            let service = try global.service(classifying: true)
            // Through a daemon: its policy's sinks, as it delivers them.
            let state = try queueCall { () throws(StoreError) in try service.notifyState() }
            let head = state.head
            var rows: [JSONValue] = []
            var failing = false
            for sink in state.sinks {
                let cursor = state.cursors.first { $0.sink == sink.name }
                if (cursor?.failures ?? 0) > 0 { failing = true }
                let delivered: Int64 = cursor?.deliveredSeq ?? head
                let through: JSONValue = cursor.map { .number(Double($0.deliveredSeq)) } ?? .null
                let lastError: JSONValue = cursor?.lastError.map(JSONValue.string) ?? .null
                let lastSuccess: JSONValue = cursor?.lastSuccess.map { .string(Clock.iso8601($0)) } ?? .null
                var nextAttempt: JSONValue = .null
                if let next = cursor?.nextAttempt, next > 0 { nextAttempt = .string(Clock.iso8601(next)) }
                let events: [JSONValue] = sink.events.map(JSONValue.string)
                var members: [(key: String, value: JSONValue)] = [("sink", .string(sink.name)), ("events", .array(events))]
                members.append(("delivered_through", through))
                members.append(("behind", .number(Double(max(0, head - delivered)))))
                members.append(("delivered", .number(Double(cursor?.delivered ?? 0))))
                members.append(("failures", .number(Double(cursor?.failures ?? 0))))
                members.append(("last_error", lastError))
                members.append(("last_success", lastSuccess))
                members.append(("next_attempt", nextAttempt))
                rows.append(.object(members))
            }
            if json {
                Terminal.print(JSONWriter.pretty(.object([("audit_head", .number(Double(head))), ("sinks", .array(rows))])))
            } else if rows.isEmpty {
                Terminal.print("no notify: sinks in the policy")
            } else {
                for row in rows {
                    let name = row["sink"]?.stringValue ?? ""
                    let through = row["delivered_through"]?.numberValue.map { "through entry \(Int($0))" } ?? "not started (begins at the log's end)"
                    var line = "\(name): \(through), \(Int(row["behind"]?.numberValue ?? 0)) entries behind, \(Int(row["delivered"]?.numberValue ?? 0)) delivered"
                    if let error = row["last_error"]?.stringValue {
                        line += "; FAILING (\(Int(row["failures"]?.numberValue ?? 0))x): \(SafeText.escape(error)); next try \(row["next_attempt"]?.stringValue ?? "soon")"
                    }
                    Terminal.print(line)
                }
            }
            if failing { throw ExitCode(1) }
        }
    }
}

/// A flag set from another task.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

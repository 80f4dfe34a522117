import ArgumentParser
import Foundation
import HoldpointCore
import HoldpointGate
import HoldpointStore

struct QueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "Look after the queue itself: archive decided history.",
        subcommands: [Archive.self]
    )

    struct Archive: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "archive",
            abstract: "Move decided history older than AGE into a sealed archive segment that `audit verify` chains to the live log.",
            discussion: """
                Moves the oldest stretch of the audit log recorded before AGE ago, with the requests \
                it started, out of the queue into FILE (a new SQLite file, read-only once written). \
                Requests still pending or running, and everything after the first of them, stay. \
                `audit verify` then walks FILE and the live log as one chain: keep FILE where the \
                queue recorded it. AGE is at least a day and at least the longest window the policy \
                counts (limits, plans.valid_for, approvals.valid_for). Exit 0 (also when nothing is \
                old enough), 64 bad AGE or socket mode, 65 FILE exists, 69 queue unavailable.
                """
        )

        @OptionGroup var global: GlobalOptions

        @Option(name: .long, help: ArgumentHelp("How old history must be to move: 30d, 720h, …", valueName: "age"))
        var before: String

        @Option(name: .long, help: ArgumentHelp("The new segment file (never overwritten).", valueName: "file"))
        var to: String

        @Flag(name: .long, help: "Print one JSON document.")
        var json = false

        func run() throws {
            guard global.settings.socketPath == nil else {
                Terminal.error("in socket mode the daemon archives on its own (`retention:` in its policy); to archive by hand, run this as the daemon's user with --queue pointing at its file")
                throw ExitCode(ExitCodes.usage)
            }
            guard let age = Durations.parse(before), age > 0 else {
                Terminal.error("--before: expected an age such as 30d or 720h, got '\(SafeText.escape(before))'")
                throw ExitCode(ExitCodes.usage)
            }
            let policy = try global.loadPolicy()
            let shortest = RetentionRules.shortestWindow(for: policy)
            guard age >= shortest else {
                Terminal.error(
                    "--before \(Durations.format(age)) is shorter than \(Durations.format(shortest)): the gateway counts that far back in the live queue (a day, limits' per, plans.valid_for, approvals.valid_for)"
                )
                throw ExitCode(ExitCodes.usage)
            }
            let service = try global.service()
            guard let local = service as? LocalQueue else { throw ExitCode(ExitCodes.usage) }
            let now = Clock.now()
            let who = SystemIdentity.current()
            let report = try queueCall { () throws(StoreError) in try local.store.archive(before: now - age, to: to, by: who, now: now) }
            if json {
                Terminal.print(
                    JSONWriter.pretty(
                        .object([
                            ("archived", .bool(report != nil)), ("path", report.map { .string($0.path) } ?? .null),
                            ("first_seq", report.map { .number(Double($0.firstSeq)) } ?? .null), ("last_seq", report.map { .number(Double($0.lastSeq)) } ?? .null),
                            ("entries", .number(Double(report?.entries ?? 0))), ("requests", .number(Double(report?.requests ?? 0))),
                        ])))
            } else if let report {
                Terminal.print(
                    "archived \(report.requests) request\(report.requests == 1 ? "" : "s") and audit entries \(report.firstSeq)…\(report.lastSeq) to \(SafeText.escape(report.path)) (sealed; `holdpoint audit verify` walks it with the live log)"
                )
            } else {
                Terminal.print("nothing to archive: no history older than \(Durations.format(age)) that is not already archived or held by a request still pending or running")
            }
        }
    }
}

import ArgumentParser
import Foundation
import HoldpointCore
import HoldpointGate
import HoldpointPostgres
import HoldpointStore

struct QueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "Look after the queue itself: archive decided history, copy a queue into PostgreSQL.",
        subcommands: [Archive.self, Copy.self]
    )

    struct Copy: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "copy",
            abstract: "Copy a SQLite queue into an empty PostgreSQL queue, with its audit chain intact.",
            discussion: """
                Verifies FILE's audit chain, then copies every request, vote, halt, audit entry and signed \
                checkpoint (the same hashes: the chain goes on where it stopped) in one transaction, registers \
                FILE's signing key as the signer of its checkpoints, and verifies the copy. Refused when the \
                database already holds a queue, or FILE has archived history. Stop whatever writes FILE first \
                (its daemon). The password comes from PGPASSWORD, PGPASSFILE or a DSN file, never the URL. \
                Exit 0 copied and verified, 64 refused, 65 FILE does not verify, 69 unavailable, 78 bad URL.
                """
        )

        @Option(name: .long, help: ArgumentHelp("The SQLite queue file to copy.", valueName: "file"))
        var from: String

        @Option(name: .long, help: ArgumentHelp("The PostgreSQL queue: postgres://USER@HOST[:PORT]/DB[?sslmode=…&schema=…], or a .dsn file.", valueName: "url"))
        var to: String

        func run() throws {
            guard FileManager.default.fileExists(atPath: from) else {
                Terminal.error("no queue at \(from)")
                throw ExitCode(ExitCodes.unavailable)
            }
            let to = self.to
            let from = self.from
            let report = try queueCall { () throws(StoreError) -> PostgresCopy.Report in
                let source = try QueueStore(path: from)
                let directory = FileManager.default.temporaryDirectory.appendingPathComponent("holdpoint-copy-\(getpid())").path
                try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                defer { try? FileManager.default.removeItem(atPath: directory) }
                // A key of its own for this run: it signs nothing (the copy adds no entry).
                let target = try PostgresQueue(settings: try PostgresSettings.parse(to), keyPath: directory + "/copy.audit-key", headPath: directory + "/copy.audit-head", registering: false)
                defer { target.close() }
                return try PostgresCopy.copy(from: source, to: target)
            }
            Terminal.print("copied \(report.requests) requests and \(report.entries) audit entries to \(PostgresSettings.redactedName(to))")
            guard report.verification.intact else {
                Terminal.error("the copy does not verify: \(report.verification.problem ?? "?")")
                throw ExitCode(ExitCodes.unavailable)
            }
            Terminal.print("audit intact: \(report.verification.entries) entries, \(report.verification.checkpoints) signed checkpoints")
        }
    }

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

import ArgumentParser
import Foundation
import HoldpointCore
import HoldpointGate
import HoldpointStore

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "The tamper-evident audit log: verify, export, tail.",
        subcommands: [Verify.self, Export.self, Tail.self]
    )

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Check the hash chain, every signed checkpoint and the signed head.",
            discussion: "Exit 0 when intact; 1 when not, naming the first bad entry's sequence number and what is wrong; 69 queue unavailable."
        )

        @OptionGroup var global: GlobalOptions

        @Option(name: .customLong("public-key"), help: ArgumentHelp("Verify against this Ed25519 public key (hex) instead of the queue's own key.", valueName: "hex"))
        var publicKey: String?

        @Flag(name: .customLong("no-head"), help: "Do not fail when the signed head file is missing (say why in your records: without it, entries cut off the end go unseen).")
        var noHead = false

        @Flag(
            name: .customLong("since-checkpoint"),
            help: "Check only what came after the checkpoint the last intact verification of this queue (by you) reached; the full check runs when there is none.")
        var sinceCheckpoint = false

        @Flag(name: .long, help: "Print one JSON document.")
        var json = false

        func run() throws {
            let service = try global.service()
            let record = VerifiedRecord(settings: global.settings, publicKey: publicKey)
            let since = sinceCheckpoint ? record.load() : nil
            let (report, key) = try queueCall { () throws(StoreError) in
                try service.verifyAudit(publicKeyHex: publicKey, requireHead: !noHead, since: since)
            }
            if report.intact, let point = report.verifiedThrough { record.save(point) }
            if json {
                let through: JSONValue = report.verifiedThrough.map { .number(Double($0.seq)) } ?? .null
                let resumed: JSONValue = report.resumedAfter.map { .number(Double($0)) } ?? .null
                Terminal.print(
                    JSONWriter.pretty(
                        .object([
                            ("intact", .bool(report.intact)), ("entries", .number(Double(report.entries))), ("checkpoints", .number(Double(report.checkpoints))),
                            ("first_bad_seq", report.firstBadSeq.map { .number(Double($0)) } ?? .null), ("problem", report.problem.map(JSONValue.string) ?? .null),
                            ("verified_through", through), ("resumed_after", resumed),
                        ])))
            } else if report.intact {
                let scope = report.resumedAfter.map { "after checkpoint \($0) (verified before): " } ?? ""
                let keys = key.split(separator: ",").map { "\($0.prefix(16))…" }
                Terminal.print("audit intact: \(scope)\(report.entries) entries, \(report.checkpoints) signed checkpoints (\(keys.count == 1 ? "key" : "keys") \(keys.joined(separator: ", ")))")
            } else {
                Terminal.print("audit NOT intact: first bad entry \(report.firstBadSeq.map(String.init) ?? "?"): \(report.problem ?? "")")
            }
            if !report.intact { throw ExitCode(1) }
        }
    }

    /// Where this user's last intact verification of a queue got to, kept in the user's own
    /// state directory (not beside the queue, which whoever can write the queue could edit).
    struct VerifiedRecord {
        let path: String

        init(settings: GlobalSettings, publicKey: String?) {
            let queue = settings.socketPath.map { "socket:\($0)" } ?? "file:\(PathText.normalize(settings.queuePath, relativeTo: FileManager.default.currentDirectoryPath, home: nil))"
            let name = ActionHash.sha256(bytes: Array("\(queue)\n\(publicKey ?? "")".utf8))
            path = StateDirectory.path + "/verified/" + name
        }

        func load() -> AuditPoint? {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8), let json = try? JSONReader.parse(text),
                let seq = json["seq"]?.numberValue, let hash = json["hash"]?.stringValue
            else { return nil }
            return AuditPoint(seq: Int64(seq), hash: hash)
        }

        /// Records `point`; says so on stderr when it cannot (the verification itself stands,
        /// but the next `--since-checkpoint` would check everything again).
        func save(_ point: AuditPoint) {
            let directory = (path as NSString).deletingLastPathComponent
            let text = JSONWriter.compact(.object([("seq", .number(Double(point.seq))), ("hash", .string(point.hash)), ("at", .string(Clock.iso8601(Clock.now())))])) + "\n"
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                try text.write(toFile: path, atomically: true, encoding: .utf8)
            } catch {
                Terminal.error("could not record how far this verification got (\(SafeText.escape(path)): \(error.localizedDescription)); the next --since-checkpoint checks everything")
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Write every entry to stdout, one line each: jsonl, csv, cef or syslog (RFC 5424).",
            discussion: "Archived entries are in their segments (see `queue archive`). Field mappings: docs/queue-and-audit.md."
        )

        @OptionGroup var global: GlobalOptions

        @Option(name: .long, help: ArgumentHelp("jsonl, csv, cef or syslog.", valueName: "format"))
        var format: String = "jsonl"

        @Option(name: .long, help: ArgumentHelp("Only entries after this sequence number.", valueName: "seq"))
        var since: Int64 = 0

        func validate() throws {
            if AuditFormat(rawValue: format) == nil { throw ValidationError("--format: expected one of \(AuditFormat.names), got '\(format)'") }
        }

        func run() throws {
            let service = try global.service()
            let chosen = AuditFormat(rawValue: format) ?? .jsonl
            let host = AuditFormat.hostName
            var out = chosen == .csv ? AuditFormat.csvHeader + "\n" : ""
            for entry in try queueCall({ () throws(StoreError) in try service.auditEntries(afterSeq: since, requestID: nil, limit: nil) }) {
                out += chosen.line(entry, host: host) + "\n"
                if out.utf8.count > 1 << 16 {
                    try? FileHandle.standardOutput.write(contentsOf: Data(out.utf8))
                    out = ""
                }
            }
            try? FileHandle.standardOutput.write(contentsOf: Data(out.utf8))
        }
    }

    struct Tail: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "tail", abstract: "Show the newest entries; -f keeps following.")

        @OptionGroup var global: GlobalOptions

        @Option(name: .short, help: ArgumentHelp("How many entries.", valueName: "n"))
        var n: Int = 20

        @Flag(name: .short, help: "Follow: print new entries as they are written (Ctrl-C stops).")
        var f = false

        @Option(name: .long, help: ArgumentHelp("text (default), jsonl, csv, cef or syslog: what a log shipper following it reads.", valueName: "format"))
        var format: String = "text"

        func validate() throws {
            if format != "text" && AuditFormat(rawValue: format) == nil { throw ValidationError("--format: expected text, \(AuditFormat.names), got '\(format)'") }
        }

        var host: String { AuditFormat.hostName }

        func run() throws {
            let service = try global.service()
            try queueCall { () throws(StoreError) in
                var last: Int64 = 0
                for entry in try service.auditEntries(afterSeq: 0, requestID: nil, limit: max(0, n)) {
                    Terminal.print(line(entry))
                    last = entry.seq
                }
                if last == 0 { last = try service.changeCounter() }
                while f {
                    usleep(200_000)
                    for entry in try service.auditEntries(afterSeq: last, requestID: nil, limit: nil) {
                        Terminal.print(line(entry))
                        last = entry.seq
                    }
                }
            }
        }

        func line(_ e: AuditEntry) -> String {
            if let chosen = AuditFormat(rawValue: format) { return chosen.line(e, host: host) }
            let details = SafeText.escape(JSONWriter.compact(e.details))
            return
                "\(e.seq)  \(Clock.iso8601(Double(e.atMillis) / 1000))  \(Terminal.pad(e.event, 16)) \(e.requestID ?? "-")  \(SafeText.escape(e.actor)) (\(SafeText.escape(e.via)))  \(details.prefix(160))"
        }
    }
}

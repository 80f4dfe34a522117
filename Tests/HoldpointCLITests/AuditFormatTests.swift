import Foundation
import HoldpointCore
import HoldpointStore
import Testing

@testable import holdpoint

/// SIEM formats: what a log shipper following the audit log reads, with agent text that
/// tries to break out of each format's fields.
@Suite struct AuditFormatTests {
    let hostile = AuditEntry(
        json: .object([
            ("seq", .number(42)), ("at_ms", .number(1_795_900_000_123)), ("event", .string("vote")), ("request_id", .string("01JD0000000000000000000000")),
            ("actor", .string("mallory|x=1")), ("via", .string("ssh 10.0.0.7\"] [fake@1 a=\"b")),
            ("details", .object([("reason", .string("ok=yes\nCEF:0|forged|line"))])), ("prev_hash", .string("p")), ("hash", .string("h")),
        ]))!

    @Test func cefEscapesHeaderAndExtensionSeparators() {
        let line = AuditFormat.cef.line(hostile, host: "jump1")
        #expect(line.hasPrefix("CEF:0|Holdpoint|holdpoint|1|vote|Vote|2|"))
        #expect(!line.contains("\n"))
        // The actor's '=' is escaped, so it cannot start a field of its own.
        #expect(line.contains("suser=mallory|x\\=1 "))
        #expect(line.contains("rt=1795900000123"))
        #expect(line.contains("cn1Label=seq cn1=42"))
        #expect(line.contains("\\\\n") || line.contains("\\n"))
        #expect(!line.contains("\nCEF:0|forged"))
    }

    @Test func syslogIsOneRFC5424LineWithTheEntryAsStructuredData() {
        let line = AuditFormat.syslog.line(hostile, host: "jump1")
        #expect(line.hasPrefix("<134>1 2026-"))
        #expect(line.contains(" jump1 holdpoint - vote [holdpoint@32473 seq=\"42\" request_id=\"01JD0000000000000000000000\" actor=\"mallory|x=1\" "))
        // Quotes and brackets in agent text are escaped: no second SD-ELEMENT can be forged.
        #expect(line.contains("via=\"ssh 10.0.0.7\\\"\\] [fake@1 a=\\\"b\""))
        #expect(!line.contains("\n"))
    }

    @Test func exportAndTailSpeakEveryFormat() throws {
        let env = try QueueEnv()
        _ = try env.submit("rm -rf /srv/exported")
        for format in ["jsonl", "csv", "cef", "syslog"] {
            let export = try env.run(["audit", "export", "--format", format])
            #expect(export.status == 0, "\(export.stderr)")
            let lines = export.stdout.split(separator: "\n")
            #expect(lines.count >= 2)
        }
        let cef = try env.run(["audit", "export", "--format", "cef"]).stdout.split(separator: "\n")
        #expect(cef.allSatisfy { $0.hasPrefix("CEF:0|Holdpoint|holdpoint|1|") })
        let tail = try env.run(["audit", "tail", "-n", "1", "--format", "syslog"])
        #expect(tail.stdout.hasPrefix("<") && tail.stdout.contains(" holdpoint - "))
        let bad = try env.run(["audit", "export", "--format", "xml"])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("jsonl, csv, cef, syslog"))
    }
}

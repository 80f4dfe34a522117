import Foundation
import HoldpointCore
import HoldpointStore
import HoldpointTestSupport
import Synchronization
import Testing

@testable import HoldpointPostgres

/// The server `.ci/postgres start` made (`HOLDPOINT_TEST_POSTGRES`), with a schema of its own
/// for each test: tests run in parallel on one database.
enum TestDatabase {
    static let url = ProcessInfo.processInfo.environment["HOLDPOINT_TEST_POSTGRES"]
    static var available: Bool { url != nil }

    static func settings(schema: String = "t_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")) throws -> PostgresSettings {
        var environment = ProcessInfo.processInfo.environment
        if let passfile = environment["HOLDPOINT_TEST_POSTGRES_PASSFILE"] { environment["PGPASSFILE"] = passfile }
        var settings = try PostgresSettings.parse(url ?? "", environment: environment)
        settings.schema = schema
        return settings
    }

    /// A daemon's store (the rules over the queue) with a key of its own.
    static func store(_ settings: PostgresSettings, in directory: URL, name: String) throws -> PostgresQueueStore {
        try PostgresQueueStore(
            settings: settings, keyPath: directory.appendingPathComponent("\(name).audit-key").path,
            headPath: directory.appendingPathComponent("\(name).audit-head").path)
    }

    /// A daemon's handle with a key of its own.
    static func daemon(_ settings: PostgresSettings, in directory: URL, name: String) throws -> PostgresQueue {
        try PostgresQueue(
            settings: settings, keyPath: directory.appendingPathComponent("\(name).audit-key").path,
            headPath: directory.appendingPathComponent("\(name).audit-head").path)
    }
}

@Suite(.enabled(if: TestDatabase.available, "needs HOLDPOINT_TEST_POSTGRES (.ci/postgres start DIR)"))
struct PostgresChainTests {
    @Test func daemonsStartingAtOnceMigrateOnce() throws {
        let settings = try TestDatabase.settings()
        let directory = try Scratch.directory("hp-pg")
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            do {
                let queue = try TestDatabase.daemon(settings, in: directory, name: "d\(i)")
                queue.close()
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        let queue = try TestDatabase.daemon(settings, in: directory, name: "check")
        defer { queue.close() }
        let versions = try queue.read { session in try session.rows("SELECT version FROM holdpoint_schema").compactMap { $0.int64(0) } }
        #expect(versions == (1...PostgresSchema.version).map(Int64.init))
        let keys = try queue.read { session in try session.row("SELECT count(*) FROM daemon_keys")?.int64(0) }
        #expect(keys == 5)
    }

    /// Two daemons, four writers each, on one chain: one order, nothing lost, every
    /// checkpoint signed by the daemon that wrote it.
    @Test func writersOnTwoDaemonsMakeOneChain() throws {
        let settings = try TestDatabase.settings()
        let directory = try Scratch.directory("hp-pg")
        let daemons = [try TestDatabase.daemon(settings, in: directory, name: "a"), try TestDatabase.daemon(settings, in: directory, name: "b")]
        defer { daemons.forEach { $0.close() } }
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { writer in
            let daemon = daemons[writer % 2]
            for i in 0..<25 {
                do {
                    try daemon.write { _, audit in
                        try audit.append(
                            event: "test", requestID: "r\(writer)-\(i)", actor: Identity(user: "w\(writer)", via: "test"), at: 1_000 + Double(i),
                            details: .object([("i", .number(Double(i)))]))
                        try audit.append(event: "test2", requestID: nil, actor: Identity(user: "w\(writer)", via: "test"), at: 1_000, details: .null)
                    }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 }.prefix(3))")
        let report = try daemons[0].verifyAudit()
        #expect(report.intact, "\(report)")
        #expect(report.entries == 400)
        // A checkpoint per transaction: writes that arrive together share one (group commit).
        #expect((1...200).contains(report.checkpoints))
        // An entry's two halves are never split by another writer's.
        let events = try daemons[1].read { session in try session.rows("SELECT event FROM audit ORDER BY seq").compactMap { $0.string(0) } }
        #expect(stride(from: 0, to: events.count, by: 2).allSatisfy { events[$0] == "test" && events[$0 + 1] == "test2" })
        let signers = try daemons[1].read { session in try session.rows("SELECT DISTINCT public_key FROM audit_checkpoints").count }
        #expect(signers == 2)
    }

    @Test func anAlteredEntryOrAStrangersCheckpointFailsVerification() throws {
        let settings = try TestDatabase.settings()
        let daemon = try TestDatabase.daemon(settings, in: try Scratch.directory("hp-pg"), name: "a")
        defer { daemon.close() }
        for i in 0..<10 {
            try daemon.write { _, audit in try audit.append(event: "e", requestID: nil, actor: Samples.alice, at: Double(i), details: .object([("n", .number(Double(i)))])) }
        }
        #expect(try daemon.verifyAudit().intact)
        try daemon.read { session in try session.execute(#"UPDATE audit SET details = '{"n":70}' WHERE seq = 7"#) }
        let altered = try daemon.verifyAudit()
        #expect(altered.firstBadSeq == 7)
        #expect(altered.problem?.contains("entry 7 was altered") == true)
        try daemon.read { session in try session.execute(#"UPDATE audit SET details = '{"n":6}' WHERE seq = 7"#) }
        #expect(try daemon.verifyAudit().intact)
        // A checkpoint signed by a key that never registered as a daemon's.
        let stranger = try AuditSigner(keyPath: try Scratch.directory("hp-key").appendingPathComponent("k").path, headPath: "/dev/null", shared: false)
        let hash = try daemon.read { session in try session.row("SELECT hash FROM audit WHERE seq = 3")?.string(0) } ?? ""
        try daemon.read { session in
            try session.execute("DELETE FROM audit_checkpoints WHERE seq = 3")
            try session.execute(
                "INSERT INTO audit_checkpoints (seq, hash, signature, public_key) VALUES (3, $1, $2, $3)",
                [.text(hash), .text(try stranger.sign(seq: 3, hash: hash)), .text(stranger.publicKeyHex)])
        }
        let forged = try daemon.verifyAudit()
        #expect(forged.problem?.contains("signed by a key no daemon registered") == true)
    }

    /// `--public-key`: only the named daemons' keys are trusted, not whatever `daemon_keys`
    /// holds (whoever can write the database could register a key there).
    @Test func namedKeysAreTheOnlySignersTrusted() throws {
        let settings = try TestDatabase.settings()
        let directory = try Scratch.directory("hp-pg")
        let a = try TestDatabase.daemon(settings, in: directory, name: "a")
        let b = try TestDatabase.daemon(settings, in: directory, name: "b")
        defer {
            a.close()
            b.close()
        }
        try a.write { _, audit in try audit.append(event: "e", requestID: nil, actor: Samples.alice, at: 1, details: .null) }
        try b.write { _, audit in try audit.append(event: "e", requestID: nil, actor: Samples.alice, at: 2, details: .null) }
        #expect(try a.verifyAudit().intact)
        let both = try a.verifyAudit(signers: .named("\(a.signer.publicKeyHex.uppercased()), \(b.signer.publicKeyHex)"))
        #expect(both.intact, "\(both)")
        let onlyA = try a.verifyAudit(signers: .named(a.signer.publicKeyHex))
        #expect(onlyA.firstBadSeq == 2)
        #expect(onlyA.problem?.contains("signed by a key not named by --public-key") == true)
    }

    /// `--since-checkpoint`: after an intact verification, only later entries are hashed
    /// again, and the entry at the point verified before must be unchanged.
    @Test func verificationResumesAfterACheckpointStillThere() throws {
        let settings = try TestDatabase.settings()
        let daemon = try TestDatabase.daemon(settings, in: try Scratch.directory("hp-pg"), name: "a")
        defer { daemon.close() }
        for i in 0..<5 {
            try daemon.write { _, audit in try audit.append(event: "e", requestID: nil, actor: Samples.alice, at: Double(i), details: .object([("n", .number(Double(i)))])) }
        }
        let first = try daemon.verifyAudit()
        let point = try #require(first.verifiedThrough)
        #expect(point.seq == 5)
        for i in 5..<8 {
            try daemon.write { _, audit in try audit.append(event: "e", requestID: nil, actor: Samples.alice, at: Double(i), details: .object([("n", .number(Double(i)))])) }
        }
        let resumed = try daemon.verifyAudit(since: point)
        #expect(resumed.intact, "\(resumed)")
        #expect(resumed.resumedAfter == 5)
        #expect(resumed.entries == 3)
        #expect(resumed.verifiedThrough?.seq == 8)
        // An entry after the point altered: found.
        try daemon.read { session in try session.execute(#"UPDATE audit SET details = '{"n":60}' WHERE seq = 7"#) }
        #expect(try daemon.verifyAudit(since: point).firstBadSeq == 7)
        try daemon.read { session in try session.execute(#"UPDATE audit SET details = '{"n":6}' WHERE seq = 7"#) }
        // The entry at the point rewritten (hash and checkpoint recomputed by a forger): the
        // point no longer holds what was vouched for.
        try daemon.read { session in
            try session.execute("UPDATE audit SET hash = $1 WHERE seq = 5", [.text(String(repeating: "a", count: 64))])
        }
        let rewritten = try daemon.verifyAudit(since: point)
        #expect(rewritten.firstBadSeq == 5)
        #expect(rewritten.problem?.contains("differs from what an earlier verification vouched for") == true)
    }

    /// A commit on one daemon wakes a waiter on another through LISTEN/NOTIFY, not a poll:
    /// the waiter's timeout is far longer than the test.
    @Test func aCommitOnOneDaemonWakesAWaiterOnAnother() throws {
        let settings = try TestDatabase.settings()
        let directory = try Scratch.directory("hp-pg")
        let reviewerSide = try TestDatabase.daemon(settings, in: directory, name: "reviewers")
        let agentSide = try TestDatabase.daemon(settings, in: directory, name: "agents")
        defer {
            reviewerSide.close()
            agentSide.close()
        }
        let token = agentSide.changeToken
        let woken = Mutex<Bool?>(nil)
        let done = DispatchSemaphore(value: 0)
        let waiter = Thread {
            woken.withLock { $0 = agentSide.waitForChange(since: token, timeout: 60) }
            done.signal()
        }
        waiter.start()
        let started = Date()
        try reviewerSide.write { _, audit in try audit.append(event: "approved", requestID: "r1", actor: Samples.alice, at: 1, details: .null) }
        #expect(done.wait(timeout: .now() + 60) == .success)
        #expect(woken.withLock { $0 } == true)
        #expect(Date().timeIntervalSince(started) < 30, "woken by the notification, not by the timeout")
        // Nothing committed since: a wait with a fresh token times out.
        #expect(agentSide.waitForChange(since: agentSide.changeToken, timeout: 0.05) == false)
    }

    /// TLS with the server's certificate checked (verify-full): connects when the CA signed
    /// it for that host name, and refuses (nothing connects, nothing is written) otherwise.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["HOLDPOINT_TEST_POSTGRES_CA"] != nil))
    func verifyFullConnectsOnlyToTheServerTheCASigned() throws {
        let environment = ProcessInfo.processInfo.environment
        let ca = environment["HOLDPOINT_TEST_POSTGRES_CA"] ?? ""
        let local = try TestDatabase.settings()
        var lookup = environment
        lookup["PGPASSFILE"] = environment["HOLDPOINT_TEST_POSTGRES_PASSFILE"]
        func settings(_ query: String) throws -> PostgresSettings {
            var settings = try PostgresSettings.parse("postgres://holdpoint@localhost:\(local.port)/\(local.database)?\(query)", environment: lookup)
            settings.schema = local.schema
            return settings
        }
        let directory = try Scratch.directory("hp-tls")
        let trusted = try PostgresQueue(
            settings: try settings("sslmode=verify-full&sslrootcert=\(ca)"), keyPath: directory.appendingPathComponent("k").path,
            headPath: directory.appendingPathComponent("h").path)
        let encrypted = try trusted.read { session in try session.row("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") }
        #expect(encrypted?[0] == .boolean(true))
        trusted.close()
        // Another CA: the server's certificate does not verify, and nothing connects.
        let other = directory.appendingPathComponent("other-ca.pem").path
        let made = Process()
        made.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        made.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=someone else", "-keyout", directory.appendingPathComponent("other.key").path, "-out", other]
        made.standardError = FileHandle.nullDevice
        try made.run()
        made.waitUntilExit()
        #expect {
            _ = try PostgresQueue(
                settings: try settings("sslmode=verify-full&sslrootcert=\(other)"), keyPath: directory.appendingPathComponent("k2").path,
                headPath: directory.appendingPathComponent("h2").path)
        } throws: { error in
            (error as? StoreError)?.kind == .unavailable
        }
    }
}

import Foundation
import HoldpointCore
import HoldpointPostgres
import HoldpointTestSupport
import Testing

/// How the shared queue is named and reached: no password on the command line.
@Suite struct PostgresSettingsTests {
    @Test func aURLNamesHostPortUserDatabaseAndTLS() throws {
        let settings = try PostgresSettings.parse("postgres://holdpoint@db.internal:6543/queue?sslrootcert=/etc/ca.pem&schema=team_a", environment: [:])
        #expect(settings.host == "db.internal")
        #expect(settings.port == 6543)
        #expect(settings.user == "holdpoint")
        #expect(settings.database == "queue")
        #expect(settings.tls == .verifyFull)  // across hosts, the certificate is checked by default
        #expect(settings.rootCertificate == "/etc/ca.pem")
        #expect(settings.schema == "team_a")
        #expect(settings.password == nil)
        #expect(try PostgresSettings.parse("postgresql://u@127.0.0.1/q", environment: [:]).tls == .disable)  // loopback
        #expect(try PostgresSettings.parse("postgres://u@127.0.0.1/q?sslmode=require", environment: [:]).tls == .require)
    }

    @Test(arguments: [
        ("postgres://u:secret@db/q", "a password does not belong in the queue URL"),
        ("postgres://db/q", "names no user"),
        ("postgres://u@db/", "names no database"),
        ("postgres://u@db/q?sslmode=prefer", "sslmode=prefer"),
        ("postgres://u@db/q?sslmode=verify-ca", "verify-ca and prefer are not offered"),
        ("postgres://u@db/q?application=x", "unknown queue URL parameter 'application'"),
        ("mysql://u@db/q", "not a postgres:// URL"),
    ])
    func badURLsAreRefusedSayingWhy(url: String, message: String) {
        #expect {
            _ = try PostgresSettings.parse(url, environment: [:])
        } throws: { error in
            guard let error = error as? StoreError else { return false }
            return error.kind == .configuration && error.message.contains(message) && !error.message.contains("secret")
        }
    }

    @Test func thePasswordComesFromTheEnvironmentOrAPasswordFile() throws {
        let directory = try Scratch.directory("hp-pgpass")
        let passfile = directory.appendingPathComponent("pgpass").path
        try """
        # other databases first
        other.host:5432:*:holdpoint:wrong
        db.internal:5432:queue:holdpoint:pa\\:ss\\\\word
        *:*:*:*:fallback

        """.write(toFile: passfile, atomically: true, encoding: .utf8)
        let fromFile = try PostgresSettings.parse("postgres://holdpoint@db.internal/queue", environment: ["PGPASSFILE": passfile])
        #expect(fromFile.password == #"pa:ss\word"#)
        #expect(fromFile.passwordSource == passfile)
        #expect(try PostgresSettings.parse("postgres://someone@elsewhere/x", environment: ["PGPASSFILE": passfile]).password == "fallback")
        let fromEnvironment = try PostgresSettings.parse("postgres://holdpoint@db.internal/queue", environment: ["PGPASSFILE": passfile, "PGPASSWORD": "env"])
        #expect(fromEnvironment.password == "env")
        #expect(!fromEnvironment.description.contains("env"))
    }

    @Test func aDSNFileMayHoldThePasswordIfOnlyItsOwnerCanReadIt() throws {
        let directory = try Scratch.directory("hp-dsn")
        let dsn = directory.appendingPathComponent("queue.dsn").path
        try "# the fleet's queue\npostgres://holdpoint:s3cret@db.internal/queue?sslmode=verify-full\n".write(toFile: dsn, atomically: true, encoding: .utf8)
        #expect(chmod(dsn, 0o644) == 0)
        #expect {
            _ = try PostgresSettings.parse(dsn, environment: [:])
        } throws: { error in (error as? StoreError)?.message.contains("chmod 600") == true }
        #expect(chmod(dsn, 0o600) == 0)
        let settings = try PostgresSettings.parse(dsn, environment: [:])
        #expect(settings.password == "s3cret")
        #expect(settings.passwordSource == dsn)
        #expect(PostgresSettings.names(dsn) && PostgresSettings.names("postgres://u@h/d") && !PostgresSettings.names("/var/lib/holdpoint/queue.sqlite"))
    }
}

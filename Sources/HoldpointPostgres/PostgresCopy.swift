import Foundation
import GRDB
import HoldpointCore
import HoldpointStore

/// `holdpoint queue copy`: moves a SQLite queue into an empty PostgreSQL one with its audit
/// chain intact — the same entries with the same hashes, the same signed checkpoints (the
/// file's key is registered as the signer it was), and every table the rules read — in one
/// transaction, so the database holds all of it or none. The copy is verified afterwards.
public enum PostgresCopy {
    public struct Report: Sendable {
        public var requests: Int
        public var entries: Int
        public var verification: AuditReport
    }

    /// The tables copied, in an order that keeps references valid.
    static let tables = [
        "requests", "votes", "halts", "audit", "audit_checkpoints", "agent_programs", "agent_operations", "plans", "notify_cursors", "escalations",
    ]

    public static func copy(from source: QueueStore, to queue: PostgresQueue) throws(StoreError) -> Report {
        let sourceReport = try source.verifyAudit(publicKeyHex: nil, requireHead: false, since: nil)
        guard sourceReport.intact else {
            throw StoreError(.badInput, "the queue \(source.path) does not verify (\(sourceReport.problem ?? "?")); nothing was copied")
        }
        guard try source.archiveSegments().isEmpty else {
            throw StoreError(.usage, "the queue \(source.path) has archived history; a PostgreSQL queue starts from the first entry: copy a queue that was never archived")
        }
        let rows: [(table: String, columns: [String], values: [[SQLValue]])]
        do {
            let database = try DatabaseQueue(
                path: source.path,
                configuration: {
                    var c = Configuration()
                    c.readonly = true
                    return c
                }())
            rows = try database.read { db in
                try tables.map { table in
                    let fetched = try Row.fetchAll(db, sql: "SELECT * FROM \(table)")
                    let columns = fetched.first.map { Array($0.columnNames) } ?? []
                    return (table, columns, fetched.map { row in row.databaseValues.map(Self.value) })
                }
            }
        } catch {
            throw StoreError(.unavailable, "cannot read \(source.path): \(error)")
        }
        let key = source.signer.publicKeyHex
        let path = source.path
        try queue.read { session in
            try session.transaction {
                guard try session.row("SELECT seq FROM audit_head WHERE one FOR UPDATE")?.int64(0) == 0 else {
                    throw StoreError(.usage, "\(queue.settings.description) already holds a queue; copy only into an empty one")
                }
                for table in rows where !table.values.isEmpty {
                    let placeholders = table.columns.indices.map { "$\($0 + 1)" }.joined(separator: ", ")
                    let sql = "INSERT INTO \(table.table) (\(table.columns.joined(separator: ", "))) VALUES (\(placeholders))"
                    for values in table.values { try session.execute(sql, values) }
                }
                if let last = try session.row("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1") {
                    try session.execute("UPDATE audit_head SET seq = $1, hash = $2 WHERE one", [last[0], last[1]])
                }
                try session.execute(
                    "INSERT INTO daemon_keys (public_key, host, registered_at) VALUES ($1, $2, extract(epoch FROM clock_timestamp())) ON CONFLICT DO NOTHING",
                    [.text(key), .text("copied from \(path)")])
                try session.execute("SELECT pg_notify($1, 'copied')", [.text(PostgresAuditWriter.channel(queue.settings))])
            }
        }
        let count = { (name: String) in rows.first { $0.table == name }?.values.count ?? 0 }
        return Report(requests: count("requests"), entries: count("audit"), verification: try queue.verifyAudit())
    }

    static func value(_ value: DatabaseValue) -> SQLValue {
        switch value.storage {
        case .null: return .null
        case .int64(let n): return .integer(n)
        case .double(let d): return .real(d)
        case .string(let s): return .text(s)
        case .blob(let data): return .text(String(decoding: data, as: UTF8.self))
        }
    }
}

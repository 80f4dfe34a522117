import HoldpointCore
import HoldpointStore

/// Retention for a PostgreSQL queue: decided history moves from the live tables into the
/// `archived_*` tables of the same database, which the database's backups and replicas carry
/// like the rest. The live tables — what every submit, decision and console reads — stay the
/// size of the retention window; `audit verify` and `audit export` read the chain whole.
///
/// The rules are the file's (`QueueStore+Archive`): what leaves is a prefix of the chain, up
/// to the newest signed checkpoint that is older than the cut-off, is not the log's last entry
/// (the next writer chains from it), comes before the first entry of every request still
/// pending or running, and comes before anything a notification sink has yet to deliver. A
/// request leaves with its `submitted` entry, its votes and its plan. Each batch is one
/// transaction at the chain's lock: rows are in the live tables or the archived ones, never
/// both, never neither. The cut-off is taken on the database's clock.
extension PostgresQueueStore: SelfArchiving {
    public static let archiveBatchEntries = 2_000

    public func archive(olderThan age: Double, by actor: Identity) throws(StoreError) -> ArchivedHistory? {
        try archive(olderThan: age, by: actor, batchEntries: Self.archiveBatchEntries)
    }

    func archive(olderThan age: Double, by actor: Identity, batchEntries: Int) throws(StoreError) -> ArchivedHistory? {
        guard let (first, last, cutoff) = try write({ tables, _, now in try Self.archivablePrefix(tables.session, cutoff: now - age).map { ($0.0, $0.1, now - age) } })
        else { return nil }
        var moved = ArchivedHistory(firstSeq: first, lastSeq: first - 1, requests: 0)
        var next = first
        while next <= last {
            let end = min(last, next + Int64(max(1, batchEntries)) - 1)
            guard let requests = try write({ tables, _, _ in try Self.moveBatch(tables.session, from: next, through: end) }) else { break }
            moved.requests += requests
            moved.lastSeq = end
            next = end + 1
        }
        guard moved.lastSeq >= first else { return nil }
        try write { _, audit, now in
            try audit.append(
                event: "archived", requestID: nil, actor: actor, at: now,
                details: .object([
                    ("first_seq", .number(Double(moved.firstSeq))), ("last_seq", .number(Double(moved.lastSeq))),
                    ("requests", .number(Double(moved.requests))), ("into", .string("archived_audit")), ("before", .string(Clock.iso8601(cutoff))),
                ]))
        }
        return moved
    }

    /// The entries that may leave, inside a transaction holding the chain's lock.
    static func archivablePrefix(_ session: PostgresSession, cutoff: Double) throws -> (Int64, Int64)? {
        let first = (try session.row("SELECT coalesce(max(seq), 0) FROM archived_audit")?.int64(0) ?? 0) + 1
        let newest = try session.row("SELECT seq FROM audit_head WHERE one")?.int64(0) ?? 0
        // Nothing a notification sink has yet to deliver leaves: the log is its outbox.
        let undelivered = (try session.row("SELECT min(delivered_seq) FROM notify_cursors")?.int64(0) ?? Int64.max - 1) + 1
        let firstLive =
            try session.row(
                """
                SELECT min(a.seq) FROM requests r JOIN audit a ON a.request_id = r.id AND a.event = 'submitted'
                WHERE r.state IN ('pending', 'running')
                """)?.int64(0) ?? Int64.max
        guard
            let end = try session.row(
                """
                SELECT max(c.seq) FROM audit_checkpoints c JOIN audit a ON a.seq = c.seq
                WHERE a.at_ms < $1 AND c.seq < $2 AND c.seq < $3 AND c.seq < $4
                """, [.integer(Int64(cutoff * 1000)), .integer(newest), .integer(firstLive), .integer(undelivered)])?.int64(0), end >= first
        else { return nil }
        return (first, end)
    }

    /// Moves entries `from…through` and the requests they begin. Nil to stop early: another
    /// daemon archived this stretch first (its retention runs too), or a request that would
    /// move is pending or running again (an old approval being used now).
    static func moveBatch(_ session: PostgresSession, from: Int64, through: Int64) throws -> Int? {
        let range: [SQLValue] = [.integer(from), .integer(through)]
        guard try session.row("SELECT 1 FROM audit WHERE seq = $1", [.integer(from)]) != nil else { return nil }
        let begun = "SELECT request_id FROM audit WHERE seq BETWEEN $1 AND $2 AND event = 'submitted' AND request_id IS NOT NULL"
        if try session.row("SELECT EXISTS (SELECT 1 FROM requests WHERE id IN (\(begun)) AND state IN ('pending', 'running'))", range)?[0] == .boolean(true) {
            return nil
        }
        let requests = try session.row("SELECT count(*) FROM requests WHERE id IN (\(begun))", range)?.int64(0) ?? 0
        // Rows that refer to a request first, the audit entries (which name the requests) last.
        for table in ["votes", "plans"] {
            try session.send("WITH moved AS (DELETE FROM \(table) WHERE request_id IN (\(begun)) RETURNING *) INSERT INTO archived_\(table) SELECT * FROM moved", range)
        }
        try session.send("DELETE FROM escalations WHERE request_id IN (\(begun))", range)
        try session.send("WITH moved AS (DELETE FROM requests WHERE id IN (\(begun)) RETURNING *) INSERT INTO archived_requests SELECT * FROM moved", range)
        try session.send(
            "WITH moved AS (DELETE FROM audit_checkpoints WHERE seq BETWEEN $1 AND $2 RETURNING *) INSERT INTO archived_checkpoints SELECT * FROM moved", range)
        try session.send("WITH moved AS (DELETE FROM audit WHERE seq BETWEEN $1 AND $2 RETURNING *) INSERT INTO archived_audit SELECT * FROM moved", range)
        return Int(requests)
    }
}

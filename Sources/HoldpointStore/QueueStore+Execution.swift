import GRDB
import HoldpointCore

/// Using approvals and running actions: what `holdpoint hook …` and `holdpoint exec` need.
///
/// An approval is for one exact action (its `action_sha256`) and for one use. Consuming it
/// is a compare-and-set inside the same kind of immediate transaction as every other
/// change, so two executors racing for one approval cannot both win.
extension QueueStore {
    /// The request a repeated action should reuse instead of queueing a duplicate: an
    /// approved, unused request for the same agent, environment and action that is still
    /// within its `valid_for` window, or else one still pending. Newest first; nil when
    /// there is none.
    public func reusable(agent: String, environment: String, actionSHA256: String, now: Double = Clock.now()) throws(StoreError) -> StoredRequest? {
        // No expiry pass here: a hook must not pay for everyone's backlog. An overdue pending
        // request is simply not reused (it is expired by the next writes, or a reader).
        try read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Rows.columns) FROM requests
                    WHERE action_sha256 = ? AND agent_id = ? AND environment = ?
                      AND ((state = 'approved' AND consumed_at IS NULL) OR state = 'pending')
                    ORDER BY state = 'approved' DESC, created_at DESC
                    """, arguments: [actionSHA256, agent, environment])
            for row in rows {
                let id: String = row[0]
                let candidate = try Rows.decode(row, votes: Rows.votes(for: [id], db: db)[id] ?? [])
                if candidate.state == .approved && candidate.approvalIsStale(now: now) { continue }
                if candidate.state == .pending, let expiresAt = candidate.expiresAt, expiresAt <= now { continue }
                return candidate
            }
            return nil
        }
    }

    /// Uses approval `id` for the action whose hash is `actionSHA256`, once (`QueueLogic.consume`).
    public func consume(id: String, actionSHA256: String, consumer: String, by: Identity, now: Double = Clock.now()) throws(StoreError) -> ConsumeResult {
        try write { db, audit in
            try QueueLogic.consume(id: id, actionSHA256: actionSHA256, consumer: consumer, by: by, now: now, tables: SQLiteTables(db: db), audit: audit)
        }
    }

    /// Marks an allowed or approved request as running in child `pid`. Returns nil when the
    /// request is in no state to run (it was halted or used meanwhile).
    public func startRun(id: String, pid: Int32, by: Identity, now: Double = Clock.now()) throws(StoreError) -> StoredRequest? {
        try write { db, audit in try QueueLogic.startRun(id: id, pid: pid, by: by, now: now, tables: SQLiteTables(db: db), audit: audit) }
    }

    /// Records how a run ended: `succeeded` for exit status 0, `failed` otherwise.
    @discardableResult
    public func finishRun(id: String, exitCode: Int32?, signal: Int32?, note: String?, by: Identity, now: Double = Clock.now()) throws(StoreError) -> StoredRequest? {
        try write { db, audit in
            try QueueLogic.finishRun(id: id, exitCode: exitCode, signal: signal, note: note, by: by, now: now, tables: SQLiteTables(db: db), audit: audit)
        }
    }
}

import GRDB
import HoldpointCore

/// Paging (`notify:`): the audit log is the outbox. Every event is an audit entry committed
/// with the change it records, so a sink that keeps how far it has delivered (its cursor)
/// can lose nothing: after a crash, an outage or a kill -9 it starts again after its
/// cursor. Delivery is at least once (an event delivered just before a crash is delivered
/// again, with the same delivery id) and in the log's order. Escalations are entries too.
extension QueueStore {
    public typealias NotifyCursor = HoldpointStore.NotifyCursor

    /// Every sink's cursor, by name.
    public func notifyCursors() throws(StoreError) -> [NotifyCursor] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT sink, delivered_seq, delivered, failures, last_error, last_attempt, last_success, next_attempt FROM notify_cursors ORDER BY sink").map {
                NotifyCursor(sink: $0[0], deliveredSeq: $0[1], delivered: $0[2], failures: $0[3], lastError: $0[4], lastAttempt: $0[5], lastSuccess: $0[6], nextAttempt: $0[7])
            }
        }
    }

    /// The cursor of `sink`, created at the log's current end the first time (a new sink is
    /// not paged with history).
    public func notifyCursor(sink: String) throws(StoreError) -> NotifyCursor {
        if let existing = try notifyCursors().first(where: { $0.sink == sink }) { return existing }
        try write { db, _ in
            try db.execute(sql: "INSERT OR IGNORE INTO notify_cursors (sink, delivered_seq) SELECT ?, coalesce(max(seq), 0) FROM audit", arguments: [sink])
        }
        guard let created = try notifyCursors().first(where: { $0.sink == sink }) else {
            throw StoreError(.unavailable, "the cursor of notification sink \(sink) could not be created")
        }
        return created
    }

    /// Records that `sink` has delivered (or had nothing to deliver) through entry `seq`.
    public func notifyDelivered(sink: String, through seq: Int64, events: Int, now: Double = Clock.now()) throws(StoreError) {
        try write { db, _ in
            try db.execute(
                sql: """
                    UPDATE notify_cursors SET delivered_seq = max(delivered_seq, ?), delivered = delivered + ?, failures = 0, last_error = NULL,
                      last_attempt = ?, last_success = CASE WHEN ? > 0 THEN ? ELSE last_success END, next_attempt = 0 WHERE sink = ?
                    """, arguments: [seq, events, now, events, now, sink])
        }
    }

    /// Records a failed delivery and when to try again.
    public func notifyFailed(sink: String, error: String, retryAt: Double, now: Double = Clock.now()) throws(StoreError) {
        try write { db, _ in
            try db.execute(
                sql: "UPDATE notify_cursors SET failures = failures + 1, last_error = ?, last_attempt = ?, next_attempt = ? WHERE sink = ?",
                arguments: [String(error.prefix(500)), now, retryAt, sink])
        }
    }

    /// Escalates pending requests that nobody has decided by their rules' `escalate_after`
    /// share of their window, and warns of those past a `warn_at` share: one `escalated` or
    /// `expiring` entry each, once. Returns how many entries it wrote.
    @discardableResult
    public func escalateDue(now: Double = Clock.now(), limit: Int = 100) throws(StoreError) -> Int {
        // (request, kind, share) whose point has passed and that was not recorded yet.
        let due = try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT d.id, d.kind, d.share FROM (
                      SELECT r.id, 'escalated' AS kind, json_extract(r.approval_rules, '$.escalate_after') AS share, r.created_at, r.expires_at
                      FROM requests r WHERE r.state = 'pending' AND json_extract(r.approval_rules, '$.escalate_after') IS NOT NULL
                      UNION ALL
                      SELECT r.id, 'expiring@' || w.value, w.value, r.created_at, r.expires_at
                      FROM requests r, json_each(r.approval_rules, '$.warn_at') w WHERE r.state = 'pending'
                    ) d
                    WHERE d.expires_at IS NOT NULL AND d.created_at + (d.expires_at - d.created_at) * d.share <= ?
                      AND NOT EXISTS (SELECT 1 FROM escalations e WHERE e.request_id = d.id AND e.kind = d.kind)
                    LIMIT ?
                    """, arguments: [now, limit]
            ).map { QueueLogic.DueEscalation(id: $0[0], kind: $0[1], share: $0[2]) }
        }
        guard !due.isEmpty else { return 0 }
        return try write { db, audit in try QueueLogic.escalate(due, now: now, tables: SQLiteTables(db: db), audit: audit) }
    }
}

/// How far a sink has got, and how its last attempt went.
public struct NotifyCursor: Sendable, Equatable {
    public var sink: String
    public var deliveredSeq: Int64
    public var delivered: Int
    public var failures: Int
    public var lastError: String?
    public var lastAttempt: Double?
    public var lastSuccess: Double?
    public var nextAttempt: Double

    public init(
        sink: String, deliveredSeq: Int64, delivered: Int, failures: Int, lastError: String?, lastAttempt: Double?, lastSuccess: Double?, nextAttempt: Double
    ) {
        self.sink = sink
        self.deliveredSeq = deliveredSeq
        self.delivered = delivered
        self.failures = failures
        self.lastError = lastError
        self.lastAttempt = lastAttempt
        self.lastSuccess = lastSuccess
        self.nextAttempt = nextAttempt
    }
}

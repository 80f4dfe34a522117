import GRDB
import HoldpointCore

/// Paging (`notify:`): the audit log is the outbox. Every event is an audit entry committed
/// with the change it records, so a sink that keeps how far it has delivered (its cursor)
/// can lose nothing: after a crash, an outage or a kill -9 it starts again after its
/// cursor. Delivery is at least once (an event delivered just before a crash is delivered
/// again, with the same delivery id) and in the log's order. Escalations are entries too.
extension QueueStore {
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
    }

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
            try db.execute(sql: """
                UPDATE notify_cursors SET delivered_seq = max(delivered_seq, ?), delivered = delivered + ?, failures = 0, last_error = NULL,
                  last_attempt = ?, last_success = CASE WHEN ? > 0 THEN ? ELSE last_success END, next_attempt = 0 WHERE sink = ?
                """, arguments: [seq, events, now, events, now, sink])
        }
    }

    /// Records a failed delivery and when to try again.
    public func notifyFailed(sink: String, error: String, retryAt: Double, now: Double = Clock.now()) throws(StoreError) {
        try write { db, _ in
            try db.execute(sql: "UPDATE notify_cursors SET failures = failures + 1, last_error = ?, last_attempt = ?, next_attempt = ? WHERE sink = ?",
                           arguments: [String(error.prefix(500)), now, retryAt, sink])
        }
    }

    /// Escalates pending requests that nobody has decided by their rules' `escalate_after`
    /// share of their window: one `escalated` entry each, once. Returns how many.
    @discardableResult
    public func escalateDue(now: Double = Clock.now(), limit: Int = 100) throws(StoreError) -> Int {
        let due = try read { db in
            try String.fetchAll(db, sql: """
                SELECT id FROM requests
                WHERE state = 'pending' AND expires_at IS NOT NULL
                  AND json_extract(approval_rules, '$.escalate_after') IS NOT NULL
                  AND created_at + (expires_at - created_at) * json_extract(approval_rules, '$.escalate_after') <= ?
                  AND id NOT IN (SELECT request_id FROM escalations)
                LIMIT ?
                """, arguments: [now, limit])
        }
        guard !due.isEmpty else { return 0 }
        return try write { db, audit in
            var count = 0
            for id in due {
                // Decided or escalated meanwhile: nothing to do.
                guard try Bool.fetchOne(db, sql: "SELECT state = 'pending' FROM requests WHERE id = ?", arguments: [id]) == true,
                      try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM escalations WHERE request_id = ?)", arguments: [id]) == false else { continue }
                try db.execute(sql: "INSERT INTO escalations (request_id, at) VALUES (?, ?)", arguments: [id, now])
                try audit.append(event: "escalated", requestID: id, actor: Identity(user: "holdpoint", via: "escalation"), at: now,
                                 details: .object([("reason", .string("no decision by the escalation point of its window"))]))
                count += 1
            }
            return count
        }
    }
}

import Foundation
import HoldpointCore
import HoldpointStore

/// The approval queue in PostgreSQL, for several daemons on several hosts: the same rules
/// (`QueueLogic`) as the SQLite file, in transactions that take the chain head's row lock
/// first, with the database's clock as the time (so that daemons agree on deadlines), and a
/// LISTEN/NOTIFY feed that tells each daemon what the others committed.
public final class PostgresQueueStore: QueueBackend {
    public let queue: PostgresQueue

    /// Connects, migrates, and registers this daemon's signing key (`keyPath`).
    public init(settings: PostgresSettings, keyPath: String, headPath: String) throws(StoreError) {
        queue = try PostgresQueue(settings: settings, keyPath: keyPath, headPath: headPath)
    }

    public func close() { queue.close() }

    public var name: String { queue.settings.description }
    public var publicKeyHex: String { queue.signer.publicKeyHex }

    public func signers() throws(StoreError) -> [String] {
        try read { session in try session.rows("SELECT public_key FROM daemon_keys ORDER BY registered_at, public_key").compactMap { $0.string(0) } }
    }

    /// The database's clock, in seconds since 1970.
    static func now(_ session: PostgresSession) throws -> Double {
        guard let now = try session.row("SELECT extract(epoch FROM clock_timestamp())::double precision")?.double(0) else {
            throw PostgresFailure(message: "the database did not say what time it is")
        }
        return now
    }

    /// A write transaction with the rules' tables and the chain's writer, at the database's time.
    func write<T>(_ body: @escaping (PostgresTables, PostgresAuditWriter, Double) throws -> T) throws(StoreError) -> T {
        try queue.write { tables, audit in try body(tables, audit, audit.now) }
    }

    func read<T>(_ body: (PostgresSession) throws -> T) throws(StoreError) -> T {
        try queue.read(body)
    }

    // MARK: - The rules

    public func submit(
        _ request: ActionRequest, classification: Classification, approvals: ApprovalRules, submitter: Identity, timeout: Double?,
        gateway: GatewayRules, planKey: String?
    ) throws(StoreError) -> StoredRequest {
        let prepared = QueueLogic.Prepared(request, classification, approvals)
        return try write { tables, audit, now in
            try QueueLogic.submit(
                request, prepared: prepared, approvals: approvals, submitter: submitter, timeout: timeout, gateway: gateway, planKey: planKey, now: now,
                tables: tables, audit: audit)
        }
    }

    public func decide(id: String, verdict: Verdict, reviewer: Identity, reason: String) throws(StoreError) -> DecideResult {
        try write { tables, audit, now in try QueueLogic.decide(id: id, verdict: verdict, reviewer: reviewer, reason: reason, now: now, tables: tables, audit: audit) }
    }

    @discardableResult
    public func expireDue() throws(StoreError) -> Int {
        var total = 0
        while true {
            let expired = try write { tables, audit, now in try QueueLogic.expireDue(now: now, limit: QueueLogic.expiryBatch, tables: tables, audit: audit) }
            total += expired
            if expired < QueueLogic.expiryBatch { return total }
        }
    }

    @discardableResult
    public func expireIfDue(id: String) throws(StoreError) -> Bool {
        try write { tables, audit, now in try QueueLogic.expireIfDue(id: id, now: now, tables: tables, audit: audit) }
    }

    public func halt(agent: String, reason: String, by: Identity) throws(StoreError) -> Int {
        try write { tables, audit, now in try QueueLogic.halt(agent: agent, reason: reason, by: by, now: now, tables: tables, audit: audit) }
    }

    public func resume(agent: String, by: Identity) throws(StoreError) -> Bool {
        try write { tables, audit, now in try QueueLogic.resume(agent: agent, by: by, now: now, tables: tables, audit: audit) }
    }

    public func consume(id: String, actionSHA256: String, consumer: String, by: Identity) throws(StoreError) -> ConsumeResult {
        try write { tables, audit, now in
            try QueueLogic.consume(id: id, actionSHA256: actionSHA256, consumer: consumer, by: by, now: now, tables: tables, audit: audit)
        }
    }

    public func startRun(id: String, pid: Int32, by: Identity) throws(StoreError) -> StoredRequest? {
        try write { tables, audit, now in try QueueLogic.startRun(id: id, pid: pid, by: by, now: now, tables: tables, audit: audit) }
    }

    @discardableResult
    public func finishRun(id: String, exitCode: Int32?, signal: Int32?, note: String?, by: Identity) throws(StoreError) -> StoredRequest? {
        try write { tables, audit, now in
            try QueueLogic.finishRun(id: id, exitCode: exitCode, signal: signal, note: note, by: by, now: now, tables: tables, audit: audit)
        }
    }

    // MARK: - Reading

    public func request(id: String) throws(StoreError) -> StoredRequest? {
        try read { session in try PostgresRows.fetch(id: id, session: session) }
    }

    public func list(_ filter: RequestFilter) throws(StoreError) -> [StoredRequest] {
        try read { session in try PostgresRows.fetchAll(filter, session: session) }
    }

    public func halt(for agent: String) throws(StoreError) -> AgentHalt? {
        try read { session in try PostgresTables(session: session).activeHalt(agent: agent) }
    }

    public func halts() throws(StoreError) -> [AgentHalt] {
        try read { session in
            try session.rows("SELECT agent, reason, by, at FROM halts ORDER BY at").map {
                AgentHalt(agent: $0.string(0) ?? "", reason: $0.string(1) ?? "", by: $0.string(2) ?? "", at: $0.double(3) ?? 0)
            }
        }
    }

    public func establishedActions() throws(StoreError) -> Set<String> {
        try read { session in
            Set(try session.rows("SELECT DISTINCT agent_id, operation_class FROM agent_operations").map { "\($0.string(0) ?? "")\u{1F}\($0.string(1) ?? "")" })
        }
    }

    public func changeCounter() throws(StoreError) -> Int64 {
        try read { session in try session.row("SELECT seq FROM audit_head WHERE one")?.int64(0) ?? 0 }
    }

    /// The request a repeated action should reuse (see `QueueStore.reusable`).
    public func reusable(agent: String, environment: String, actionSHA256: String) throws(StoreError) -> StoredRequest? {
        try read { session in
            let now = try Self.now(session)
            let rows = try session.rows(
                """
                SELECT \(RequestRow.columns) FROM requests
                WHERE action_sha256 = $1 AND agent_id = $2 AND environment = $3
                  AND ((state = 'approved' AND consumed_at IS NULL) OR state = 'pending')
                ORDER BY state = 'approved' DESC, created_at DESC
                """, [.text(actionSHA256), .text(agent), .text(environment)])
            for row in rows {
                let id = row.string(0) ?? ""
                let candidate = try PostgresRows.decode(row, votes: PostgresRows.votes(for: [id], session: session)[id] ?? [])
                if candidate.state == .approved && candidate.approvalIsStale(now: now) { continue }
                if candidate.state == .pending, let expiresAt = candidate.expiresAt, expiresAt <= now { continue }
                return candidate
            }
            return nil
        }
    }

    /// Blocks until request `id` leaves `pending`: woken by any daemon's commit (LISTEN), with
    /// a read every few seconds as a safety net; at the deadline (by the database's clock) it
    /// records the expiry itself.
    public func waitForDecision(id: String, giveUpAt: Double?) throws(StoreError) -> StoredRequest? {
        while true {
            let token = queue.changeToken
            let (found, now) = try read { session in (try PostgresRows.fetch(id: id, session: session), try Self.now(session)) }
            guard let request = found else { return nil }
            if request.state != .pending { return request }
            if let expiresAt = request.expiresAt, now >= expiresAt {
                if try expireIfDue(id: id) { continue }
            }
            let local = Clock.now()
            if let giveUpAt, local >= giveUpAt { return request }
            let untilDeadline = (request.expiresAt ?? .infinity) - now
            let untilGiveUp = (giveUpAt ?? .infinity) - local
            _ = queue.waitForChange(since: token, timeout: max(0.01, min(5, untilDeadline, untilGiveUp)))
        }
    }

    // MARK: - The audit log

    public func auditEntries(afterSeq: Int64, requestID: String?, limit: Int?, first: Int?) throws(StoreError) -> [AuditEntry] {
        try read { session in
            var sql = "SELECT seq, at_ms, event, request_id, actor, via, details, prev_hash, hash FROM audit_all WHERE seq > $1"
            var arguments: [SQLValue] = [.integer(afterSeq)]
            if let requestID {
                sql += " AND request_id = $2"
                arguments.append(.text(requestID))
            }
            if let limit {
                sql = "SELECT * FROM (\(sql) ORDER BY seq DESC LIMIT \(max(0, limit))) newest ORDER BY seq"
            } else {
                sql += " ORDER BY seq"
                if let first { sql += " LIMIT \(max(0, first))" }
            }
            return try session.rows(sql, arguments).map { row in
                let details = row.string(6) ?? ""
                return AuditEntry(
                    seq: row.int64(0) ?? 0, atMillis: row.int64(1) ?? 0, event: row.string(2) ?? "", requestID: row.string(3), actor: row.string(4) ?? "",
                    via: row.string(5) ?? "", details: (try? JSONReader.parse(details)) ?? .string(details), previousHash: row.string(7) ?? "", hash: row.string(8) ?? "")
            }
        }
    }

    /// The chain (all of it, or after `since`, a checkpoint an earlier intact verification
    /// reached), every checkpoint's signature, the head row, and the tables against the log.
    /// Checkpoints must be signed by a registered daemon key, or, with `publicKeyHex` (one or
    /// more keys, comma-separated), by one of those. `requireHead` is the SQLite queue's:
    /// here the head is a row, always checked.
    public func verifyAudit(publicKeyHex: String?, requireHead: Bool, since: AuditPoint?) throws(StoreError) -> AuditReport {
        try queue.verifyAudit(signers: .named(publicKeyHex), since: since)
    }

    // MARK: - Paging

    public func notifyCursors() throws(StoreError) -> [NotifyCursor] {
        try read { session in
            try session.rows("SELECT sink, delivered_seq, delivered, failures, last_error, last_attempt, last_success, next_attempt FROM notify_cursors ORDER BY sink").map {
                NotifyCursor(
                    sink: $0.string(0) ?? "", deliveredSeq: $0.int64(1) ?? 0, delivered: Int($0.int64(2) ?? 0), failures: Int($0.int64(3) ?? 0),
                    lastError: $0.string(4), lastAttempt: $0.double(5), lastSuccess: $0.double(6), nextAttempt: $0.double(7) ?? 0)
            }
        }
    }

    public func notifyCursor(sink: String) throws(StoreError) -> NotifyCursor {
        if let existing = try notifyCursors().first(where: { $0.sink == sink }) { return existing }
        _ = try read { session in
            try session.execute(
                "INSERT INTO notify_cursors (sink, delivered_seq) SELECT $1, seq FROM audit_head WHERE one ON CONFLICT (sink) DO NOTHING", [.text(sink)])
        }
        guard let created = try notifyCursors().first(where: { $0.sink == sink }) else {
            throw StoreError(.unavailable, "the cursor of notification sink \(sink) could not be created")
        }
        return created
    }

    public func notifyDelivered(sink: String, through seq: Int64, events: Int) throws(StoreError) {
        _ = try read { session in
            try session.execute(
                """
                UPDATE notify_cursors SET delivered_seq = greatest(delivered_seq, $1), delivered = delivered + $2, failures = 0, last_error = NULL,
                  last_attempt = extract(epoch FROM clock_timestamp()),
                  last_success = CASE WHEN $2 > 0 THEN extract(epoch FROM clock_timestamp()) ELSE last_success END, next_attempt = 0 WHERE sink = $3
                """, [.integer(seq), .integer(Int64(events)), .text(sink)])
        }
    }

    /// The lease is a row update at the database's time: granted when nobody holds it, the
    /// owner holds it already, or the holder let it lapse (a daemon that died).
    public func claimDelivery(sink: String, owner: String, seconds: Double) throws(StoreError) -> Bool {
        try read { session in
            try session.execute(
                """
                UPDATE notify_cursors SET lease_owner = $2, lease_until = extract(epoch FROM clock_timestamp()) + $3
                WHERE sink = $1 AND (lease_owner IS NULL OR lease_owner = $2 OR lease_until < extract(epoch FROM clock_timestamp()))
                """, [.text(sink), .text(owner), .real(seconds)]) == 1
        }
    }

    public func releaseDelivery(sink: String, owner: String) throws(StoreError) {
        _ = try read { session in
            try session.execute("UPDATE notify_cursors SET lease_owner = NULL, lease_until = 0 WHERE sink = $1 AND lease_owner = $2", [.text(sink), .text(owner)])
        }
    }

    public func notifyFailed(sink: String, error: String, retryAt: Double) throws(StoreError) {
        _ = try read { session in
            try session.execute(
                "UPDATE notify_cursors SET failures = failures + 1, last_error = $1, last_attempt = extract(epoch FROM clock_timestamp()), next_attempt = $2 WHERE sink = $3",
                [.text(String(error.prefix(500))), .real(retryAt), .text(sink)])
        }
    }

    @discardableResult
    public func escalateDue() throws(StoreError) -> Int {
        let due = try read { session in
            try session.rows(
                """
                SELECT d.id, d.kind, d.share FROM (
                  SELECT r.id, 'escalated' AS kind, (r.approval_rules::jsonb ->> 'escalate_after')::double precision AS share, r.created_at, r.expires_at
                  FROM requests r WHERE r.state = 'pending' AND (r.approval_rules::jsonb ->> 'escalate_after') IS NOT NULL
                  UNION ALL
                  SELECT r.id, 'expiring@' || w.value, w.value::double precision, r.created_at, r.expires_at
                  FROM requests r, jsonb_array_elements_text(r.approval_rules::jsonb -> 'warn_at') w WHERE r.state = 'pending'
                ) d
                WHERE d.expires_at IS NOT NULL AND d.created_at + (d.expires_at - d.created_at) * d.share <= extract(epoch FROM clock_timestamp())
                  AND NOT EXISTS (SELECT 1 FROM escalations e WHERE e.request_id = d.id AND e.kind = d.kind)
                LIMIT 100
                """
            ).map { QueueLogic.DueEscalation(id: $0.string(0) ?? "", kind: $0.string(1) ?? "", share: $0.double(2) ?? 0) }
        }
        guard !due.isEmpty else { return 0 }
        return try write { tables, audit, now in try QueueLogic.escalate(due, now: now, tables: tables, audit: audit) }
    }

    public func onOutsideChange(_ handler: @escaping @Sendable () -> Void) {
        queue.onChange(handler)
    }
}

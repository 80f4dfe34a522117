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

    /// Uses approval `id` for the action whose hash is `actionSHA256`, once. Refused when
    /// the request is not approved, was used already, or was approved for another action
    /// (the stored hash or any approving vote's hash differs): the executor must not run.
    public func consume(id: String, actionSHA256: String, consumer: String, by: Identity, now: Double = Clock.now()) throws(StoreError) -> ConsumeResult {
        try write { db, audit in
            try expireDue(db, audit: audit, now: now)
            guard var stored = try Rows.fetch(id: id, db: db) else { return .notFound }
            func refuse(_ why: String) throws -> ConsumeResult {
                try audit.append(
                    event: "consume_refused", requestID: id, actor: by, at: now,
                    details: .object([("consumer", .string(consumer)), ("action_sha256", .string(actionSHA256)), ("refusal", .string(why))]))
                return .refused(why)
            }
            guard stored.state == .approved else { return try refuse("request \(id) is \(stored.state.rawValue), not approved") }
            if let halt = try activeHalt(db, agent: stored.agentID) {
                return try refuse("agent \(stored.agentID) is halted by \(halt.by) (\(halt.reason)); its approvals cannot be used until it is resumed")
            }
            if let used = stored.consumedAt {
                return try refuse("the approval of \(id) was already used at \(Clock.iso8601(used))\(stored.consumedBy.map { " by \($0)" } ?? ""); an approval is for one use")
            }
            if stored.approvalIsStale(now: now) {
                return try refuse(
                    "the approval of \(id) expired unused at \(Clock.iso8601((stored.closedAt ?? 0) + stored.approvalRules.validFor)) (approvals are valid for \(Int(stored.approvalRules.validFor)) s); ask again"
                )
            }
            // The decision must be in the signed log, not only in the table: an approval
            // written into the tables by SQL alone has no entry, and is never used.
            guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM audit WHERE request_id = ? AND event = 'approved')", arguments: [id]) == true else {
                return try refuse("request \(id) is marked approved, but no approval of it is in the audit log (the tables were changed outside Holdpoint)")
            }
            let approving = stored.votes.filter { $0.verdict == .approve }
            guard stored.actionSHA256 == actionSHA256, !approving.isEmpty, approving.allSatisfy({ $0.actionSHA256 == actionSHA256 }) else {
                return try refuse("request \(id) was approved for a different action (sha256 \(stored.actionSHA256.prefix(12))…), not this one (sha256 \(actionSHA256.prefix(12))…)")
            }
            try db.execute(
                sql: "UPDATE requests SET consumed_at = ?, consumed_by = ? WHERE id = ? AND state = 'approved' AND consumed_at IS NULL",
                arguments: [now, consumer, id])
            guard db.changesCount == 1 else { return try refuse("the approval of \(id) was used by someone else first") }
            stored.consumedAt = now
            stored.consumedBy = consumer
            try audit.append(
                event: "consumed", requestID: id, actor: by, at: now,
                details: .object([("consumer", .string(consumer)), ("action_sha256", .string(actionSHA256))]))
            return .consumed(stored)
        }
    }

    /// Marks an allowed or approved request as running in child `pid`. Returns nil when the
    /// request is in no state to run (it was halted or used meanwhile).
    public func startRun(id: String, pid: Int32, by: Identity, now: Double = Clock.now()) throws(StoreError) -> StoredRequest? {
        try write { db, audit in
            try db.execute(
                sql: "UPDATE requests SET state = 'running', run_pid = ?, run_started_at = ? WHERE id = ? AND state IN ('allowed', 'approved')",
                arguments: [pid, now, id])
            guard db.changesCount == 1 else { return nil }
            try audit.append(event: "running", requestID: id, actor: by, at: now, details: .object([("pid", .number(Double(pid)))]))
            return try Rows.fetch(id: id, db: db)
        }
    }

    /// Records how a run ended: `succeeded` for exit status 0, `failed` otherwise (a
    /// non-zero status, a signal, or a halt, which `note` explains).
    @discardableResult
    public func finishRun(id: String, exitCode: Int32?, signal: Int32?, note: String?, by: Identity, now: Double = Clock.now()) throws(StoreError) -> StoredRequest? {
        try write { db, audit in
            let state: RequestState = exitCode == 0 && signal == nil ? .succeeded : .failed
            try db.execute(
                sql: """
                    UPDATE requests SET state = ?, run_finished_at = ?, run_exit_code = ?, run_signal = ?
                    WHERE id = ? AND state = 'running'
                    """, arguments: [state.rawValue, now, exitCode, signal, id])
            guard db.changesCount == 1, let stored = try Rows.fetch(id: id, db: db) else { return nil }
            var details: [(key: String, value: JSONValue)] = [
                ("exit_code", exitCode.map { .number(Double($0)) } ?? .null),
                ("signal", signal.map { .number(Double($0)) } ?? .null),
                ("duration_ms", .number(((now - (stored.run?.startedAt ?? now)) * 1000).rounded())),
            ]
            if let note { details.append(("note", .string(note))) }
            try audit.append(event: state.rawValue, requestID: id, actor: by, at: now, details: .object(details))
            return stored
        }
    }
}

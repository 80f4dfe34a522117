import GRDB
import HoldpointCore

/// `QueueTables` in the SQLite file, inside one of `QueueStore`'s write transactions.
/// Statements are cached on the connection: the same few run for every hook.
struct SQLiteTables: QueueTables {
    let db: Database

    /// States in which a request was let through or is waiting: what limits and budgets count.
    static let counted = "('allowed','pending','approved','running','succeeded','failed')"

    func request(id: String) throws -> StoredRequest? { try Rows.fetch(id: id, db: db) }

    func verdict(id: String) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT verdict FROM requests WHERE id = ?"), arguments: [id])
    }

    func insert(_ stored: StoredRequest, encoded: EncodedRequest) throws { try Rows.insert(stored, encoded: encoded, db: db) }

    func close(_ stored: StoredRequest) throws { try Rows.close(stored, db: db) }

    func addVote(_ vote: Vote, to id: String) throws {
        try db.execute(
            sql: "INSERT INTO votes (request_id, reviewer, via, verdict, reason, at, action_sha256, groups) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            arguments: [id, vote.reviewer, vote.via, vote.verdict.rawValue, vote.reason, vote.at, vote.actionSHA256, vote.groups.joined(separator: ",")])
    }

    func overdue(now: Double, limit: Int) throws -> [String] {
        try String.fetchAll(db.cachedStatement(sql: "SELECT id FROM requests WHERE state = 'pending' AND expires_at <= ? ORDER BY expires_at LIMIT ?"), arguments: [now, limit])
    }

    func markExpired(id: String) throws {
        try db.execute(sql: "UPDATE requests SET state = 'expired', closed_by = 'expiry', closed_at = expires_at, closed_reason = 'no decision before the deadline' WHERE id = ?", arguments: [id])
    }

    func pending(agent: String?) throws -> [String] {
        if let agent { return try String.fetchAll(db, sql: "SELECT id FROM requests WHERE state = 'pending' AND agent_id = ?", arguments: [agent]) }
        return try String.fetchAll(db, sql: "SELECT id FROM requests WHERE state = 'pending'")
    }

    func markHalted(id: String, by: Identity, at: Double, reason: String) throws {
        try db.execute(
            sql: "UPDATE requests SET state = 'halted', closed_by = ?, closed_via = ?, closed_at = ?, closed_reason = ? WHERE id = ?",
            arguments: [by.user, by.via, at, reason, id])
    }

    func activeHalt(agent: String) throws -> AgentHalt? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT agent, reason, by, at FROM halts WHERE agent IN (?, '*') ORDER BY agent = '*' LIMIT 1"), arguments: [agent]) else {
            return nil
        }
        return AgentHalt(agent: row[0], reason: row[1], by: row[2], at: row[3])
    }

    func putHalt(_ halt: AgentHalt) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO halts (agent, reason, by, at) VALUES (?, ?, ?, ?)", arguments: [halt.agent, halt.reason, halt.by, halt.at])
    }

    func removeHalt(agent: String) throws -> Bool {
        try db.execute(sql: "DELETE FROM halts WHERE agent = ?", arguments: [agent])
        return db.changesCount > 0
    }

    func recentCount(agent: String, since: Double, classes: [String]?) throws -> Int {
        var sql = """
            SELECT count(*) FROM requests WHERE agent_id = ? AND created_at > ? AND state IN \(Self.counted)
            AND json_extract(document, '$.action.operation') IS NOT ?
            """
        var arguments: [any DatabaseValueConvertible] = [agent, since, Plan.operation]
        if let classes {
            sql += " AND operation_class IN (\(classes.map { _ in "?" }.joined(separator: ",")))"
            arguments += classes
        }
        return try Int.fetchOne(db, sql: sql, arguments: StatementArguments(arguments)) ?? 0
    }

    func declaredSince(_ field: String, agent: String, environment: String, since: Double) throws -> Double {
        try Double.fetchOne(
            db,
            sql: """
                SELECT coalesce(sum(json_extract(document, ?)), 0) FROM requests
                WHERE agent_id = ? AND environment = ? AND created_at >= ? AND state IN \(Self.counted)
                AND json_extract(document, '$.action.operation') IS NOT ?
                """, arguments: ["$.impact." + field, agent, environment, since, Plan.operation]) ?? 0
    }

    func hasDone(agent: String, environment: String, operationClass: String) throws -> Bool {
        try Int.fetchOne(
            db.cachedStatement(sql: "SELECT count(*) FROM agent_operations WHERE agent_id = ? AND environment = ? AND operation_class = ?"),
            arguments: [agent, environment, operationClass]) ?? 0 > 0
    }

    func hasRun(agent: String, environment: String, program: String) throws -> Bool {
        try Int.fetchOne(
            db.cachedStatement(sql: "SELECT count(*) FROM agent_programs WHERE agent_id = ? AND environment = ? AND program = ?"),
            arguments: [agent, environment, program]) ?? 0 > 0
    }

    func latestPlan(agent: String, since: Double) throws -> (id: String, steps: [String])? {
        guard let plan = try Row.fetchOne(db.cachedStatement(sql: "SELECT request_id, steps FROM plans WHERE agent_id = ? AND at > ? ORDER BY at DESC LIMIT 1"), arguments: [agent, since])
        else { return nil }
        let stepsText: String = plan[1]
        return (plan[0], (try? JSONReader.parse(Array(stepsText.utf8)).arrayValue?.compactMap(\.stringValue)) ?? [])
    }

    func remember(agent: String, environment: String, operationClass: String?, programs: [String]) throws {
        if let operationClass {
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO agent_operations (agent_id, environment, operation_class) VALUES (?, ?, ?)")
                .execute(arguments: [agent, environment, operationClass])
        }
        for program in programs {
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO agent_programs (agent_id, environment, program) VALUES (?, ?, ?)")
                .execute(arguments: [agent, environment, program])
        }
    }

    func rememberPlan(id: String, agent: String, steps: [String], at: Double) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO plans (request_id, agent_id, at, steps) VALUES (?, ?, ?, ?)",
            arguments: [id, agent, at, JSONWriter.compact(.array(steps.map { .string($0) }))])
    }

    func approvalIsLogged(id: String) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM audit WHERE request_id = ? AND event = 'approved')", arguments: [id]) == true
    }

    func markConsumed(id: String, consumer: String, at: Double) throws -> Bool {
        try db.execute(
            sql: "UPDATE requests SET consumed_at = ?, consumed_by = ? WHERE id = ? AND state = 'approved' AND consumed_at IS NULL",
            arguments: [at, consumer, id])
        return db.changesCount == 1
    }

    func markRunning(id: String, pid: Int32, at: Double) throws -> Bool {
        try db.execute(
            sql: "UPDATE requests SET state = 'running', run_pid = ?, run_started_at = ? WHERE id = ? AND state IN ('allowed', 'approved')",
            arguments: [pid, at, id])
        return db.changesCount == 1
    }

    func markFinished(id: String, state: RequestState, at: Double, exitCode: Int32?, signal: Int32?) throws -> Bool {
        try db.execute(
            sql: "UPDATE requests SET state = ?, run_finished_at = ?, run_exit_code = ?, run_signal = ? WHERE id = ? AND state = 'running'",
            arguments: [state.rawValue, at, exitCode, signal, id])
        return db.changesCount == 1
    }

    func hasEscalation(id: String, kind: String) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM escalations WHERE request_id = ? AND kind = ?)", arguments: [id, kind]) == true
    }

    func addEscalation(id: String, kind: String, at: Double) throws {
        try db.execute(sql: "INSERT INTO escalations (request_id, kind, at) VALUES (?, ?, ?)", arguments: [id, kind, at])
    }
}

extension AuditWriter: AuditAppending {}

import HoldpointCore
import HoldpointStore

/// `QueueTables` in PostgreSQL, inside one of `PostgresQueue`'s write transactions (which
/// hold the chain head's row lock: every writer on every daemon waits there, so what is
/// read here cannot change before the commit).
///
/// Writes whose answer the rules do not read are sent without waiting (`send`); a failure
/// among them fails the next read or the commit, and so the whole transaction.
///
/// One `PostgresTables` serves one transaction, which may carry several writes (a group
/// commit), and remembers two answers for the rest of it: which requests are overdue, and
/// the halts. Nobody else can change either before the commit (the chain's lock), the
/// transaction's time is fixed, and its own changes go through here, so the memory is kept
/// exact: a halt put or removed updates it, and a request inserted already overdue forgets it.
final class PostgresTables: QueueTables {
    let session: PostgresSession
    /// The transaction's time at which `overdue` last found fewer than it was allowed to
    /// return: at that time nothing else is overdue (those it returned were expired since).
    private var noneOverdueAt: Double?
    /// Every halt, once read.
    private var halts: [String: AgentHalt]?

    init(session: PostgresSession) {
        self.session = session
    }

    /// States in which a request was let through or is waiting: what limits and budgets count.
    static let counted = "('allowed','pending','approved','running','succeeded','failed')"

    /// `document`'s `action.operation`, as text.
    static let operation = "(document::jsonb #>> '{action,operation}')"

    func request(id: String) throws -> StoredRequest? { try PostgresRows.fetch(id: id, session: session) }

    func verdict(id: String) throws -> String? {
        try session.row("SELECT verdict FROM requests WHERE id = $1", [.text(id)])?.string(0)
    }

    func insert(_ r: StoredRequest, encoded: EncodedRequest) throws {
        if r.state == .pending, let quiet = noneOverdueAt, let expiresAt = r.expiresAt, expiresAt <= quiet { noneOverdueAt = nil }
        try session.send(
            """
            INSERT INTO requests (id, created_at, agent_id, environment, submitted_by, on_behalf_of, tier, operation_class, state,
                expires_at, action_sha256, verdict, approval_rules, document, closed_by, closed_via, closed_at, closed_reason, consumed_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
            """,
            [
                .text(r.id), .real(r.createdAt), .text(r.agentID), .text(r.environment), .text(r.submittedBy), .optional(r.onBehalfOf),
                .text(r.tier.rawValue), .text(r.operationClass.rawValue), .text(r.state.rawValue), .optional(r.expiresAt), .text(r.actionSHA256),
                .text(encoded.verdict), .text(encoded.approvalRules), .text(encoded.document), .optional(r.closedBy), .optional(r.closedVia),
                .optional(r.closedAt), .optional(r.closedReason), .optional(r.consumedAt),
            ])
    }

    func close(_ r: StoredRequest) throws {
        try session.send(
            "UPDATE requests SET state = $1, closed_by = $2, closed_via = $3, closed_at = $4, closed_reason = $5, consumed_at = $6 WHERE id = $7",
            [.text(r.state.rawValue), .optional(r.closedBy), .optional(r.closedVia), .optional(r.closedAt), .optional(r.closedReason), .optional(r.consumedAt), .text(r.id)])
    }

    func addVote(_ vote: Vote, to id: String) throws {
        try session.send(
            "INSERT INTO votes (request_id, reviewer, via, verdict, reason, at, action_sha256, groups) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            [
                .text(id), .text(vote.reviewer), .text(vote.via), .text(vote.verdict.rawValue), .text(vote.reason), .real(vote.at), .text(vote.actionSHA256),
                .text(vote.groups.joined(separator: ",")),
            ])
    }

    func overdue(now: Double, limit: Int) throws -> [String] {
        if noneOverdueAt == now { return [] }
        let ids = try session.rows("SELECT id FROM requests WHERE state = 'pending' AND expires_at <= $1 ORDER BY expires_at LIMIT $2", [.real(now), .integer(Int64(limit))])
            .compactMap { $0.string(0) }
        noneOverdueAt = ids.count < limit ? now : nil
        return ids
    }

    func markExpired(id: String) throws {
        try session.send(
            "UPDATE requests SET state = 'expired', closed_by = 'expiry', closed_at = expires_at, closed_reason = 'no decision before the deadline' WHERE id = $1", [.text(id)])
    }

    func pending(agent: String?) throws -> [String] {
        if let agent { return try session.rows("SELECT id FROM requests WHERE state = 'pending' AND agent_id = $1", [.text(agent)]).compactMap { $0.string(0) } }
        return try session.rows("SELECT id FROM requests WHERE state = 'pending'").compactMap { $0.string(0) }
    }

    func markHalted(id: String, by: Identity, at: Double, reason: String) throws {
        try session.send(
            "UPDATE requests SET state = 'halted', closed_by = $1, closed_via = $2, closed_at = $3, closed_reason = $4 WHERE id = $5",
            [.text(by.user), .text(by.via), .real(at), .text(reason), .text(id)])
    }

    func activeHalt(agent: String) throws -> AgentHalt? {
        let halts = try allHalts()
        return halts[agent] ?? halts["*"]
    }

    private func allHalts() throws -> [String: AgentHalt] {
        if let halts { return halts }
        var read: [String: AgentHalt] = [:]
        for row in try session.rows("SELECT agent, reason, by, at FROM halts") {
            let agent = row.string(0) ?? ""
            read[agent] = AgentHalt(agent: agent, reason: row.string(1) ?? "", by: row.string(2) ?? "", at: row.double(3) ?? 0)
        }
        halts = read
        return read
    }

    func putHalt(_ halt: AgentHalt) throws {
        halts?[halt.agent] = halt
        try session.send(
            "INSERT INTO halts (agent, reason, by, at) VALUES ($1, $2, $3, $4) ON CONFLICT (agent) DO UPDATE SET reason = excluded.reason, by = excluded.by, at = excluded.at",
            [.text(halt.agent), .text(halt.reason), .text(halt.by), .real(halt.at)])
    }

    func removeHalt(agent: String) throws -> Bool {
        halts?[agent] = nil
        return try session.execute("DELETE FROM halts WHERE agent = $1", [.text(agent)]) > 0
    }

    func recentCount(agent: String, since: Double, classes: [String]?) throws -> Int {
        var sql = "SELECT count(*) FROM requests WHERE agent_id = $1 AND created_at > $2 AND state IN \(Self.counted) AND \(Self.operation) IS DISTINCT FROM $3"
        var arguments: [SQLValue] = [.text(agent), .real(since), .text(Plan.operation)]
        if let classes {
            sql += " AND operation_class IN (\(classes.indices.map { "$\($0 + 4)" }.joined(separator: ",")))"
            arguments += classes.map(SQLValue.text)
        }
        return Int(try session.row(sql, arguments)?.int64(0) ?? 0)
    }

    func declaredSince(_ field: String, agent: String, environment: String, since: Double) throws -> Double {
        try session.row(
            """
            SELECT coalesce(sum((document::jsonb #>> ARRAY['impact', $1])::double precision), 0) FROM requests
            WHERE agent_id = $2 AND environment = $3 AND created_at >= $4 AND state IN \(Self.counted) AND \(Self.operation) IS DISTINCT FROM $5
            """, [.text(field), .text(agent), .text(environment), .real(since), .text(Plan.operation)])?.double(0) ?? 0
    }

    func hasDone(agent: String, environment: String, operationClass: String) throws -> Bool {
        try session.row(
            "SELECT 1 FROM agent_operations WHERE agent_id = $1 AND environment = $2 AND operation_class = $3", [.text(agent), .text(environment), .text(operationClass)]) != nil
    }

    func hasRun(agent: String, environment: String, program: String) throws -> Bool {
        try session.row("SELECT 1 FROM agent_programs WHERE agent_id = $1 AND environment = $2 AND program = $3", [.text(agent), .text(environment), .text(program)]) != nil
    }

    func latestPlan(agent: String, since: Double) throws -> (id: String, steps: [String])? {
        guard let row = try session.row("SELECT request_id, steps FROM plans WHERE agent_id = $1 AND at > $2 ORDER BY at DESC LIMIT 1", [.text(agent), .real(since)]),
            let id = row.string(0)
        else { return nil }
        return (id, (try? JSONReader.parse(row.string(1) ?? "[]").arrayValue?.compactMap(\.stringValue)) ?? [])
    }

    func remember(agent: String, environment: String, operationClass: String?, programs: [String]) throws {
        if let operationClass {
            try session.send(
                "INSERT INTO agent_operations (agent_id, environment, operation_class) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                [.text(agent), .text(environment), .text(operationClass)])
        }
        for program in programs {
            try session.send(
                "INSERT INTO agent_programs (agent_id, environment, program) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", [.text(agent), .text(environment), .text(program)])
        }
    }

    func rememberPlan(id: String, agent: String, steps: [String], at: Double) throws {
        try session.send(
            "INSERT INTO plans (request_id, agent_id, at, steps) VALUES ($1, $2, $3, $4) ON CONFLICT (request_id) DO UPDATE SET agent_id = excluded.agent_id, at = excluded.at, steps = excluded.steps",
            [.text(id), .text(agent), .real(at), .text(JSONWriter.compact(.array(steps.map { .string($0) })))])
    }

    func approvalIsLogged(id: String) throws -> Bool {
        try session.row("SELECT 1 FROM audit WHERE request_id = $1 AND event = 'approved' LIMIT 1", [.text(id)]) != nil
    }

    func markConsumed(id: String, consumer: String, at: Double) throws -> Bool {
        try session.execute(
            "UPDATE requests SET consumed_at = $1, consumed_by = $2 WHERE id = $3 AND state = 'approved' AND consumed_at IS NULL", [.real(at), .text(consumer), .text(id)]) == 1
    }

    func markRunning(id: String, pid: Int32, at: Double) throws -> Bool {
        try session.execute(
            "UPDATE requests SET state = 'running', run_pid = $1, run_started_at = $2 WHERE id = $3 AND state IN ('allowed', 'approved')",
            [.integer(Int64(pid)), .real(at), .text(id)]) == 1
    }

    func markFinished(id: String, state: RequestState, at: Double, exitCode: Int32?, signal: Int32?) throws -> Bool {
        try session.execute(
            "UPDATE requests SET state = $1, run_finished_at = $2, run_exit_code = $3, run_signal = $4 WHERE id = $5 AND state = 'running'",
            [.text(state.rawValue), .real(at), exitCode.map { .integer(Int64($0)) } ?? .null, signal.map { .integer(Int64($0)) } ?? .null, .text(id)]) == 1
    }

    func hasEscalation(id: String, kind: String) throws -> Bool {
        try session.row("SELECT 1 FROM escalations WHERE request_id = $1 AND kind = $2", [.text(id), .text(kind)]) != nil
    }

    func addEscalation(id: String, kind: String, at: Double) throws {
        try session.send("INSERT INTO escalations (request_id, kind, at) VALUES ($1, $2, $3)", [.text(id), .text(kind), .real(at)])
    }
}

extension PostgresAuditWriter: AuditAppending {}

extension SQLValue {
    static func optional(_ text: String?) -> SQLValue { text.map(SQLValue.text) ?? .null }
    static func optional(_ number: Double?) -> SQLValue { number.map(SQLValue.real) ?? .null }
}

/// Requests read from PostgreSQL, as `RequestRow`s.
enum PostgresRows {
    static func fetch(id: String, session: PostgresSession) throws -> StoredRequest? {
        guard let row = try session.row("SELECT \(RequestRow.columns) FROM requests WHERE id = $1", [.text(id)]) else { return nil }
        return try decode(row, votes: votes(for: [id], session: session)[id] ?? [])
    }

    static func fetchAll(_ filter: RequestFilter, session: PostgresSession) throws -> [StoredRequest] {
        var clauses: [String] = []
        var arguments: [SQLValue] = []
        func placeholder(_ value: SQLValue) -> String {
            arguments.append(value)
            return "$\(arguments.count)"
        }
        if !filter.states.isEmpty { clauses.append("state IN (\(filter.states.map { placeholder(.text($0.rawValue)) }.joined(separator: ",")))") }
        if !filter.tiers.isEmpty { clauses.append("tier IN (\(filter.tiers.map { placeholder(.text($0.rawValue)) }.joined(separator: ",")))") }
        if let agent = filter.agent { clauses.append("agent_id = \(placeholder(.text(agent)))") }
        if let after = filter.after { clauses.append("(created_at, id) > (\(placeholder(.real(after.createdAt))), \(placeholder(.text(after.id))))") }
        var sql = "SELECT \(RequestRow.columns) FROM requests"
        if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
        if let limit = filter.limit {
            sql = "SELECT * FROM (\(sql) ORDER BY created_at DESC, id DESC LIMIT \(max(0, limit))) newest ORDER BY created_at, id"
        } else {
            sql += " ORDER BY created_at, id"
            if let first = filter.first { sql += " LIMIT \(max(0, first))" }
        }
        let rows = try session.rows(sql, arguments)
        let allVotes = try votes(for: rows.compactMap { $0.string(0) }, session: session)
        return try rows.map { row in try decode(row, votes: allVotes[row.string(0) ?? ""] ?? []) }
    }

    static func votes(for ids: [String], session: PostgresSession) throws -> [String: [Vote]] {
        guard !ids.isEmpty else { return [:] }
        var out: [String: [Vote]] = [:]
        for start in stride(from: 0, to: ids.count, by: 500) {
            let chunk = Array(ids[start..<min(start + 500, ids.count)])
            let sql =
                "SELECT request_id, reviewer, via, verdict, reason, at, action_sha256, groups FROM votes WHERE request_id IN (\(chunk.indices.map { "$\($0 + 1)" }.joined(separator: ","))) ORDER BY at"
            for row in try session.rows(sql, chunk.map(SQLValue.text)) {
                let vote = Vote(
                    reviewer: row.string(1) ?? "", via: row.string(2) ?? "", verdict: Verdict(rawValue: row.string(3) ?? "") ?? .reject,
                    reason: row.string(4) ?? "", at: row.double(5) ?? 0, actionSHA256: row.string(6) ?? "",
                    groups: (row.string(7) ?? "").split(separator: ",").map(String.init))
                out[row.string(0) ?? "", default: []].append(vote)
            }
        }
        return out
    }

    static func decode(_ row: SQLRow, votes: [Vote]) throws -> StoredRequest {
        try RequestRow(
            id: row.string(0) ?? "", createdAt: row.double(1) ?? 0, agentID: row.string(2) ?? "", environment: row.string(3) ?? "",
            submittedBy: row.string(4) ?? "", onBehalfOf: row.string(5), tier: row.string(6) ?? "", operationClass: row.string(7) ?? "",
            state: row.string(8) ?? "", expiresAt: row.double(9), actionSHA256: row.string(10) ?? "", verdict: row.string(11) ?? "",
            approvalRules: row.string(12) ?? "", document: row.string(13) ?? "", closedBy: row.string(14), closedVia: row.string(15),
            closedAt: row.double(16), closedReason: row.string(17), consumedAt: row.double(18), consumedBy: row.string(19),
            runPID: row.int64(20), runStartedAt: row.double(21), runFinishedAt: row.double(22), runExitCode: row.int64(23), runSignal: row.int64(24)
        ).decode(votes: votes)
    }
}

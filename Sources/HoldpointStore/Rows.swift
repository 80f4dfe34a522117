import GRDB
import HoldpointCore

/// Maps `StoredRequest` to and from table rows. JSON columns hold the document, the verdict
/// and the approval rules, written with Holdpoint's own canonical writer.
enum Rows {
    /// `encoded`: the JSON columns when the caller encoded them before the transaction.
    static func insert(_ r: StoredRequest, encoded: EncodedRequest? = nil, db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO requests (id, created_at, agent_id, environment, submitted_by, on_behalf_of, tier, operation_class, state,
                    expires_at, action_sha256, verdict, approval_rules, document, closed_by, closed_via, closed_at, closed_reason, consumed_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            r.id, r.createdAt, r.agentID, r.environment, r.submittedBy, r.onBehalfOf, r.tier.rawValue, r.operationClass.rawValue,
            r.state.rawValue, r.expiresAt, r.actionSHA256,
            encoded?.verdict ?? JSONWriter.compact(RequestRow.verdictJSON(r)),
            encoded?.approvalRules ?? JSONWriter.compact(RequestRow.rulesJSON(r.approvalRules)),
            encoded?.document ?? JSONWriter.compact(r.document),
            r.closedBy, r.closedVia, r.closedAt, r.closedReason, r.consumedAt,
        ])
    }

    static func close(_ r: StoredRequest, db: Database) throws {
        try db.execute(
            sql: "UPDATE requests SET state = ?, closed_by = ?, closed_via = ?, closed_at = ?, closed_reason = ?, consumed_at = ? WHERE id = ?",
            arguments: [r.state.rawValue, r.closedBy, r.closedVia, r.closedAt, r.closedReason, r.consumedAt, r.id])
    }

    /// The columns `decode` reads (`RequestRow.columns`). Read by position, because GRDB's
    /// lookup by name lowercases the name on every read (a tenth of the console's first
    /// frame with 10,000 pending requests).
    static let columns = RequestRow.columns

    static func fetch(id: String, db: Database) throws -> StoredRequest? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT \(columns) FROM requests WHERE id = ?"), arguments: [id]) else { return nil }
        return try decode(row, votes: votes(for: [id], db: db)[id] ?? [])
    }

    static func fetchAll(_ filter: RequestFilter, db: Database) throws -> [StoredRequest] {
        var clauses: [String] = []
        var arguments: [any DatabaseValueConvertible] = []
        if !filter.states.isEmpty {
            clauses.append("state IN (\(filter.states.map { _ in "?" }.joined(separator: ",")))")
            arguments += filter.states.map(\.rawValue)
        }
        if !filter.tiers.isEmpty {
            clauses.append("tier IN (\(filter.tiers.map { _ in "?" }.joined(separator: ",")))")
            arguments += filter.tiers.map(\.rawValue)
        }
        if let agent = filter.agent {
            clauses.append("agent_id = ?")
            arguments.append(agent)
        }
        if let after = filter.after {
            clauses.append("(created_at, id) > (?, ?)")
            arguments += [after.createdAt, after.id]
        }
        var sql = "SELECT \(columns) FROM requests"
        if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
        if let limit = filter.limit {
            sql = "SELECT * FROM (\(sql) ORDER BY created_at DESC, id DESC LIMIT \(max(0, limit))) ORDER BY created_at, id"
        } else {
            sql += " ORDER BY created_at, id"
            if let first = filter.first { sql += " LIMIT \(max(0, first))" }
        }
        let rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments))
        let allVotes = try votes(for: rows.map { $0[0] }, db: db)
        return try rows.map { row in try decode(row, votes: allVotes[row[0] as String] ?? []) }
    }

    static func votes(for ids: [String], db: Database) throws -> [String: [Vote]] {
        guard !ids.isEmpty else { return [:] }
        var out: [String: [Vote]] = [:]
        // Chunked: SQLite limits the number of bound parameters.
        for chunk in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min($0 + 500, ids.count)]) }) {
            let sql = "SELECT * FROM votes WHERE request_id IN (\(chunk.map { _ in "?" }.joined(separator: ","))) ORDER BY at"
            for row in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(chunk)) {
                let vote = Vote(
                    reviewer: row["reviewer"], via: row["via"], verdict: Verdict(rawValue: row["verdict"]) ?? .reject,
                    reason: row["reason"], at: row["at"], actionSHA256: row["action_sha256"],
                    groups: (row["groups"] as String?).map { $0.split(separator: ",").map(String.init) } ?? [])
                out[row["request_id"], default: []].append(vote)
            }
        }
        return out
    }

    /// A row of `columns`, read by position.
    static func decode(_ row: Row, votes: [Vote]) throws -> StoredRequest {
        try RequestRow(
            id: row[0], createdAt: row[1], agentID: row[2], environment: row[3], submittedBy: row[4], onBehalfOf: row[5], tier: row[6],
            operationClass: row[7], state: row[8], expiresAt: row[9], actionSHA256: row[10], verdict: row[11], approvalRules: row[12],
            document: row[13], closedBy: row[14], closedVia: row[15], closedAt: row[16], closedReason: row[17], consumedAt: row[18],
            consumedBy: row[19], runPID: row[20], runStartedAt: row[21], runFinishedAt: row[22], runExitCode: row[23], runSignal: row[24]
        ).decode(votes: votes)
    }
}

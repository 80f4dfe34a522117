import GRDB
import HoldpointCore

/// Maps `StoredRequest` to and from table rows. JSON columns hold the document, the verdict
/// and the approval rules, written with Holdpoint's own canonical writer.
enum Rows {
    /// The JSON columns of a new request, encoded before the write lock is taken: they
    /// depend only on what was submitted, and encoding them took about a quarter of the
    /// time the lock was held (perf, 50 submitting processes).
    struct EncodedColumns {
        var document: String
        var verdict: String
        var approvalRules: String
    }

    /// `encoded`: the JSON columns when the caller encoded them before the transaction.
    static func insert(_ r: StoredRequest, encoded: EncodedColumns? = nil, db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO requests (id, created_at, agent_id, environment, submitted_by, on_behalf_of, tier, operation_class, state,
                    expires_at, action_sha256, verdict, approval_rules, document, closed_by, closed_via, closed_at, closed_reason, consumed_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            r.id, r.createdAt, r.agentID, r.environment, r.submittedBy, r.onBehalfOf, r.tier.rawValue, r.operationClass.rawValue,
            r.state.rawValue, r.expiresAt, r.actionSHA256,
            encoded?.verdict ?? JSONWriter.compact(verdictJSON(r)),
            encoded?.approvalRules ?? JSONWriter.compact(rulesJSON(r.approvalRules)),
            encoded?.document ?? JSONWriter.compact(r.document),
            r.closedBy, r.closedVia, r.closedAt, r.closedReason, r.consumedAt,
        ])
    }

    static func close(_ r: StoredRequest, db: Database) throws {
        try db.execute(
            sql: "UPDATE requests SET state = ?, closed_by = ?, closed_via = ?, closed_at = ?, closed_reason = ?, consumed_at = ? WHERE id = ?",
            arguments: [r.state.rawValue, r.closedBy, r.closedVia, r.closedAt, r.closedReason, r.consumedAt, r.id])
    }

    /// The columns `decode` reads, in this order: every query that decodes a request
    /// selects these (`SELECT \(Rows.columns) FROM requests …`). Read by position, because
    /// GRDB's lookup by name lowercases the name on every read (a tenth of the console's
    /// first frame with 10,000 pending requests).
    static let columns =
        "id, created_at, agent_id, environment, submitted_by, on_behalf_of, tier, operation_class, state, expires_at, action_sha256, verdict, approval_rules, document, closed_by, closed_via, closed_at, closed_reason, consumed_at, consumed_by, run_pid, run_started_at, run_finished_at, run_exit_code, run_signal"

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

    struct CorruptRow: Error, CustomStringConvertible {
        let id: String
        let what: String
        var description: String { "request \(id): stored \(what) is unreadable" }
    }

    /// A row of `columns`, read by position.
    static func decode(_ row: Row, votes: [Vote]) throws -> StoredRequest {
        let id: String = row[0]
        guard let tier = Tier(rawValue: row[6]), let state = RequestState(rawValue: row[8]),
            let opClass = OperationClass(rawValue: row[7])
        else { throw CorruptRow(id: id, what: "tier, state or class") }
        guard let verdict = try? JSONReader.parse(row[11] as String), let rules = try? JSONReader.parse(row[12] as String),
            let document = try? JSONReader.parse(row[13] as String)
        else { throw CorruptRow(id: id, what: "JSON") }
        let reasons = (verdict["reasons"]?.arrayValue ?? []).map { r in
            Reason(rule: r["rule"]?.stringValue ?? "?", message: r["message"]?.stringValue ?? "", tier: Tier(rawValue: r["tier"]?.stringValue ?? "") ?? .gated)
        }
        let flags = verdict["flags"]
        var run: RunRecord?
        if let pid: Int32 = row[20], let started: Double = row[21] {
            run = RunRecord(pid: pid, startedAt: started, finishedAt: row[22], exitCode: row[23], signal: row[24])
        }
        return StoredRequest(
            id: id, createdAt: row[1], agentID: row[2], environment: row[3],
            submittedBy: row[4], onBehalfOf: row[5], tier: tier, operationClass: opClass,
            state: state, expiresAt: row[9], actionSHA256: row[10], reasons: reasons,
            destructive: flags?["destructive"]?.boolValue ?? false, irreversible: flags?["irreversible"]?.boolValue ?? false,
            dataLoss: flags?["data_loss"]?.boolValue ?? false, approvalRules: decodeRules(rules), document: document, votes: votes,
            closedBy: row[14], closedVia: row[15], closedAt: row[16], closedReason: row[17],
            consumedAt: row[18], consumedBy: row[19], run: run)
    }

    /// The classification part of a stored request, as stored and as audited.
    static func verdictJSON(_ r: StoredRequest) -> JSONValue {
        verdictJSON(
            Classification(
                tier: r.tier, operationClass: r.operationClass, reasons: r.reasons,
                destructive: r.destructive, irreversible: r.irreversible, dataLoss: r.dataLoss),
            actionSHA256: r.actionSHA256)
    }

    /// Beside what the reviewer reads, the verdict keeps what the gateway learns from a
    /// request once it may run: the programs it runs, and for a plan its steps' keys.
    static func verdictJSON(_ c: Classification, actionSHA256: String) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("tier", .string(c.tier.rawValue)),
            ("operation_class", .string(c.operationClass.rawValue)),
            ("reasons", .array(c.reasons.map { .object([("rule", .string($0.rule)), ("message", .string($0.message)), ("tier", .string($0.tier.rawValue))]) })),
            ("flags", .object([("destructive", .bool(c.destructive)), ("irreversible", .bool(c.irreversible)), ("data_loss", .bool(c.dataLoss))])),
            ("action_sha256", .string(actionSHA256)),
        ]
        if !c.programs.isEmpty { members.append(("programs", .array(c.programs.map { .string($0) }))) }
        if let steps = c.planSteps { members.append(("plan_steps", .array(steps.map { .string($0) }))) }
        return .object(members)
    }

    static func rulesJSON(_ rules: ApprovalRules) -> JSONValue {
        .object([
            ("required", .number(Double(rules.required))),
            ("reject_threshold", .number(Double(rules.rejectionsToReject))),
            ("allow_self_approval", .bool(rules.allowSelfApproval)),
            ("reviewers", .array(rules.reviewers.map { .string($0) })),
            ("timeouts", .object(rules.timeouts.sorted { $0.key < $1.key }.map { ($0.key.rawValue, .number($0.value)) })),
            ("valid_for", .number(rules.validFor)),
            ("one_from_each", .array(rules.oneFromEach.map { .string($0) })),
            ("escalate_after", rules.escalateAfter.map(JSONValue.number) ?? .null),
            ("warn_at", .array(rules.warnAt.map(JSONValue.number))),
        ])
    }

    static func decodeRules(_ value: JSONValue) -> ApprovalRules {
        var rules = ApprovalRules()
        rules.required = Int(value["required"]?.numberValue ?? 1)
        rules.rejectionsToReject = Int(value["reject_threshold"]?.numberValue ?? 1)
        rules.allowSelfApproval = value["allow_self_approval"]?.boolValue ?? false
        rules.reviewers = value["reviewers"]?.arrayValue?.compactMap(\.stringValue) ?? []
        // Requests stored before approvals expired keep the default window.
        rules.validFor = value["valid_for"]?.numberValue ?? rules.validFor
        rules.oneFromEach = value["one_from_each"]?.arrayValue?.compactMap(\.stringValue) ?? []
        rules.escalateAfter = value["escalate_after"]?.numberValue
        rules.warnAt = value["warn_at"]?.arrayValue?.compactMap(\.numberValue) ?? []
        for (key, seconds) in value["timeouts"]?.objectValue ?? [] {
            if let tier = Tier(rawValue: key), let n = seconds.numberValue { rules.timeouts[tier] = n }
        }
        return rules
    }
}

import HoldpointCore

/// A request's columns as every store keeps them (the order of `RequestRow.columns`), and
/// how they become a `StoredRequest`. The JSON columns hold the document, the verdict and
/// the approval rules, written with Holdpoint's own canonical writer.
public struct RequestRow: Sendable {
    public var id: String
    public var createdAt: Double
    public var agentID: String
    public var environment: String
    public var submittedBy: String
    public var onBehalfOf: String?
    public var tier: String
    public var operationClass: String
    public var state: String
    public var expiresAt: Double?
    public var actionSHA256: String
    public var verdict: String
    public var approvalRules: String
    public var document: String
    public var closedBy: String?
    public var closedVia: String?
    public var closedAt: Double?
    public var closedReason: String?
    public var consumedAt: Double?
    public var consumedBy: String?
    public var runPID: Int64?
    public var runStartedAt: Double?
    public var runFinishedAt: Double?
    public var runExitCode: Int64?
    public var runSignal: Int64?

    public init(
        id: String, createdAt: Double, agentID: String, environment: String, submittedBy: String, onBehalfOf: String?, tier: String,
        operationClass: String, state: String, expiresAt: Double?, actionSHA256: String, verdict: String, approvalRules: String,
        document: String, closedBy: String?, closedVia: String?, closedAt: Double?, closedReason: String?, consumedAt: Double?,
        consumedBy: String?, runPID: Int64?, runStartedAt: Double?, runFinishedAt: Double?, runExitCode: Int64?, runSignal: Int64?
    ) {
        self.id = id
        self.createdAt = createdAt
        self.agentID = agentID
        self.environment = environment
        self.submittedBy = submittedBy
        self.onBehalfOf = onBehalfOf
        self.tier = tier
        self.operationClass = operationClass
        self.state = state
        self.expiresAt = expiresAt
        self.actionSHA256 = actionSHA256
        self.verdict = verdict
        self.approvalRules = approvalRules
        self.document = document
        self.closedBy = closedBy
        self.closedVia = closedVia
        self.closedAt = closedAt
        self.closedReason = closedReason
        self.consumedAt = consumedAt
        self.consumedBy = consumedBy
        self.runPID = runPID
        self.runStartedAt = runStartedAt
        self.runFinishedAt = runFinishedAt
        self.runExitCode = runExitCode
        self.runSignal = runSignal
    }

    /// The columns, in this order: every query that decodes a request selects these.
    public static let columns =
        "id, created_at, agent_id, environment, submitted_by, on_behalf_of, tier, operation_class, state, expires_at, action_sha256, verdict, approval_rules, document, closed_by, closed_via, closed_at, closed_reason, consumed_at, consumed_by, run_pid, run_started_at, run_finished_at, run_exit_code, run_signal"

    public struct Corrupt: Error, CustomStringConvertible {
        public let id: String
        public let what: String
        public var description: String { "request \(id): stored \(what) is unreadable" }
    }

    public func decode(votes: [Vote]) throws -> StoredRequest {
        guard let tier = Tier(rawValue: tier), let state = RequestState(rawValue: state), let opClass = OperationClass(rawValue: operationClass) else {
            throw Corrupt(id: id, what: "tier, state or class")
        }
        guard let verdict = try? JSONReader.parse(verdict), let rules = try? JSONReader.parse(approvalRules), let document = try? JSONReader.parse(document) else {
            throw Corrupt(id: id, what: "JSON")
        }
        let reasons = (verdict["reasons"]?.arrayValue ?? []).map { r in
            Reason(rule: r["rule"]?.stringValue ?? "?", message: r["message"]?.stringValue ?? "", tier: Tier(rawValue: r["tier"]?.stringValue ?? "") ?? .gated)
        }
        let flags = verdict["flags"]
        var run: RunRecord?
        if let pid = runPID.flatMap({ Int32(exactly: $0) }), let started = runStartedAt {
            run = RunRecord(pid: pid, startedAt: started, finishedAt: runFinishedAt, exitCode: runExitCode.flatMap { Int32(exactly: $0) }, signal: runSignal.flatMap { Int32(exactly: $0) })
        }
        return StoredRequest(
            id: id, createdAt: createdAt, agentID: agentID, environment: environment,
            submittedBy: submittedBy, onBehalfOf: onBehalfOf, tier: tier, operationClass: opClass,
            state: state, expiresAt: expiresAt, actionSHA256: actionSHA256, reasons: reasons,
            destructive: flags?["destructive"]?.boolValue ?? false, irreversible: flags?["irreversible"]?.boolValue ?? false,
            dataLoss: flags?["data_loss"]?.boolValue ?? false, approvalRules: Self.decodeRules(rules), document: document, votes: votes,
            closedBy: closedBy, closedVia: closedVia, closedAt: closedAt, closedReason: closedReason,
            consumedAt: consumedAt, consumedBy: consumedBy, run: run)
    }

    /// The classification part of a stored request, as stored and as audited.
    public static func verdictJSON(_ r: StoredRequest) -> JSONValue {
        verdictJSON(
            Classification(
                tier: r.tier, operationClass: r.operationClass, reasons: r.reasons,
                destructive: r.destructive, irreversible: r.irreversible, dataLoss: r.dataLoss),
            actionSHA256: r.actionSHA256)
    }

    /// Beside what the reviewer reads, the verdict keeps what the gateway learns from a
    /// request once it may run: the programs it runs, and for a plan its steps' keys.
    public static func verdictJSON(_ c: Classification, actionSHA256: String) -> JSONValue {
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

    public static func rulesJSON(_ rules: ApprovalRules) -> JSONValue {
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

    public static func decodeRules(_ value: JSONValue) -> ApprovalRules {
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

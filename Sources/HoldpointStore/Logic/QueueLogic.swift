import HoldpointCore

/// The queue's rules, written once for every store: what a submission becomes, who may
/// vote and when a request is decided, expiry as denial, the kill switch, single-use
/// approvals. Each function runs inside the caller's write transaction (`QueueTables` for
/// the rows, `AuditAppending` for the chain) and records every change with its audit entry,
/// so a change and its record commit together or not at all.
public enum QueueLogic {
    // MARK: - Submitting

    /// A submission's encoded columns and audit texts, worked out from its classification
    /// before the write lock is taken.
    public struct Prepared: Sendable {
        let classification: Classification
        let encoded: EncodedRequest
        let canonicalDocument: String
        let canonicalVerdict: String
        /// The entry recording an immediate outcome (a halt's entry names the halt, which
        /// only the transaction knows).
        let outcome: (event: String, details: String)?

        public init(_ request: ActionRequest, _ classification: Classification, _ approvals: ApprovalRules) {
            self.classification = classification
            let verdict = RequestRow.verdictJSON(classification, actionSHA256: request.actionSHA256)
            encoded = EncodedRequest(
                document: JSONWriter.compact(request.document), verdict: JSONWriter.compact(verdict),
                approvalRules: JSONWriter.compact(RequestRow.rulesJSON(approvals)))
            canonicalDocument = JSONWriter.canonical(request.document)
            canonicalVerdict = JSONWriter.canonical(verdict)
            outcome =
                switch classification.tier {
                case .autonomous, .supervised: ("allowed", JSONWriter.canonical(.object([("tier", .string(classification.tier.rawValue))])))
                case .blocked: ("blocked", JSONWriter.canonical(.object([("rules", .array(classification.reasons.filter { $0.tier == .blocked }.map { .string($0.rule) }))])))
                case .gated: nil
                }
        }
    }

    /// Records a classified request: the gateway's rules (plan, rate limits, first time,
    /// budget) may raise its tier; gated requests wait with a deadline; a halted agent's
    /// requests are recorded as halted. Returns the request as stored.
    public static func submit(
        _ request: ActionRequest, prepared given: Prepared, approvals: ApprovalRules, submitter: Identity, timeout: Double?,
        gateway: GatewayRules, planKey: String?, now: Double, tables: some QueueTables, audit: some AuditAppending
    ) throws -> StoredRequest {
        try expireDue(now: now, limit: expiryBatchInWrite, tables: tables, audit: audit)
        // A plan runs nothing: it counts against no limit or budget and is no first action.
        let isPlan = given.classification.planSteps != nil
        let gateway = isPlan ? .none : gateway
        let limits = gateway.limits.filter { $0.applies(to: request.agentID, given.classification.operationClass) }
        // Rate limits count the queue inside this transaction: two racing requests that
        // would cross a limit cannot both get under it.
        var prepared = given
        if let rules = gateway.plans, let placed = try placeInPlan(request, key: planKey, classification: prepared.classification, rules: rules, tables: tables, now: now) {
            prepared = Prepared(request, placed, approvals)
        }
        if let over = try overLimit(limits, request: request, classification: prepared.classification, tables: tables, now: now) {
            prepared = Prepared(request, over.classification, approvals)
            if over.halt {
                let reason = over.classification.reasons.last?.message ?? "rate limit"
                let actor = Identity(user: "holdpoint", via: "rate limit")
                try tables.putHalt(AgentHalt(agent: request.agentID, reason: reason, by: actor.user, at: now))
                try audit.append(
                    event: "agent_halted", requestID: nil, actor: actor, at: now,
                    details: .object([("agent", .string(request.agentID)), ("reason", .string(reason))]))
            }
        }
        if let tier = gateway.firstTime, let first = try firstTime(request, classification: prepared.classification, tier: tier, tables: tables) {
            prepared = Prepared(request, first, approvals)
        }
        if let budget = gateway.budget, let over = try overBudget(budget, request: request, classification: prepared.classification, tables: tables, now: now) {
            prepared = Prepared(request, over, approvals)
        }
        let classification = prepared.classification
        let id = RequestID.make(now: now)
        let halt = try tables.activeHalt(agent: request.agentID)
        var state: RequestState
        switch classification.tier {
        case .autonomous, .supervised: state = .allowed
        case .blocked: state = .blocked
        case .gated: state = .pending
        }
        if halt != nil { state = .halted }
        var expiresAt: Double?
        if state == .pending {
            // The policy's window, which `timeout` (`submit --timeout`) can only shorten; both
            // counted on the queue's clock (the database's, for PostgreSQL).
            let window = approvals.timeouts[.gated] ?? 15 * 60
            expiresAt = now + min(window, timeout ?? .infinity)
        }
        let stored = StoredRequest(
            id: id, createdAt: now, agentID: request.agentID, environment: request.environment,
            submittedBy: submitter.user, onBehalfOf: request.onBehalfOf, tier: classification.tier,
            operationClass: classification.operationClass, state: state, expiresAt: expiresAt,
            actionSHA256: request.actionSHA256, reasons: classification.reasons,
            destructive: classification.destructive, irreversible: classification.irreversible, dataLoss: classification.dataLoss,
            approvalRules: approvals, document: request.document, votes: [],
            closedBy: halt.map { $0.by }, closedVia: nil, closedAt: halt == nil ? nil : now, closedReason: halt.map { "agent halted: \($0.reason)" },
            consumedAt: nil)
        try tables.insert(stored, encoded: prepared.encoded)
        if state == .allowed { try learn(agent: request.agentID, environment: request.environment, classification, requestID: id, tables: tables, now: now) }
        try audit.append(event: "submitted", requestID: id, actor: submitter, at: now, canonicalDetails: prepared.canonicalDocument)
        try audit.append(event: "classified", requestID: id, actor: submitter, at: now, canonicalDetails: prepared.canonicalVerdict)
        switch state {
        case .allowed, .blocked:
            if let outcome = prepared.outcome { try audit.append(event: outcome.event, requestID: id, actor: submitter, at: now, canonicalDetails: outcome.details) }
        case .halted: try audit.append(event: "halted", requestID: id, actor: submitter, at: now, details: .object([("reason", .string(stored.closedReason ?? ""))]))
        default: break
        }
        return stored
    }

    /// The first limit this request would go over, with the classification it then gets
    /// (its reason names the count and the window), and whether the agent is to be halted.
    /// Counted: the agent's requests of the limit's classes in the window that were let
    /// through or are waiting (blocked, rejected or expired ones did nothing).
    static func overLimit(
        _ limits: [RateLimit], request: ActionRequest, classification: Classification, tables: some QueueTables, now: Double
    ) throws -> (classification: Classification, halt: Bool)? {
        for limit in limits {
            let count = try tables.recentCount(agent: request.agentID, since: now - limit.window, classes: limit.classes.map { $0.map(\.rawValue).sorted() })
            guard count >= limit.max else { continue }
            var over = classification
            let tier: Tier = limit.onExceed == .gated ? .gated : .blocked
            over.tier = max(over.tier, tier)
            over.reasons.append(
                Reason(
                    rule: "rate-limit",
                    message: "\(count) \(limit.counted) by \(request.agentID) in the last \(Durations.format(limit.window)) (limit \(limit.max))\(limit.onExceed == .halt ? ": agent halted" : "")",
                    tier: tier))
            return (over, limit.onExceed == .halt)
        }
        return nil
    }

    /// The classification of a request whose declared impact would take its agent past the
    /// day's budget in its environment (UTC day), with the running total in its reason; nil
    /// when it stays within, declares nothing, or is already at least the budget's tier.
    static func overBudget(_ budget: Budget, request: ActionRequest, classification: Classification, tables: some QueueTables, now: Double) throws -> Classification? {
        guard classification.tier < budget.onExceed else { return nil }
        let dayStart = (now / 86_400).rounded(.down) * 86_400
        var messages: [String] = []
        if let cap = budget.costUSD, let cost = request.impact.costUSD, cost > 0 {
            let before = try tables.declaredSince("cost_usd", agent: request.agentID, environment: request.environment, since: dayStart)
            if before + cost > cap {
                messages.append("$\(JSONWriter.formatNumber(before)) declared today + $\(JSONWriter.formatNumber(cost)) would pass the $\(JSONWriter.formatNumber(cap)) daily cost cap")
            }
        }
        if let cap = budget.resourcesAffected, let count = request.impact.resourcesAffected, count > 0 {
            let before = try tables.declaredSince("resources_affected", agent: request.agentID, environment: request.environment, since: dayStart)
            if before + count > cap {
                messages.append("\(JSONWriter.formatNumber(before)) resources today + \(JSONWriter.formatNumber(count)) would pass the daily cap of \(JSONWriter.formatNumber(cap))")
            }
        }
        guard !messages.isEmpty else { return nil }
        var over = classification
        over.tier = budget.onExceed
        over.reasons.append(Reason(rule: "budget", message: "budget of \(request.agentID) in \(request.environment): " + messages.joined(separator: "; "), tier: budget.onExceed))
        return over
    }

    /// The classification of an agent's first action of its class in this environment, or
    /// with a program it has never run there (FIRST TIME: never approved or run there
    /// before); nil when it is neither, is a read, or is already at least `tier`.
    static func firstTime(_ request: ActionRequest, classification: Classification, tier: Tier, tables: some QueueTables) throws -> Classification? {
        guard classification.operationClass != .read, classification.tier < tier else { return nil }
        if try !tables.hasDone(agent: request.agentID, environment: request.environment, operationClass: classification.operationClass.rawValue) {
            return classification.adding(
                Reason(
                    rule: "first-time",
                    message: "FIRST TIME: \(request.agentID) has never had a \(classification.operationClass.rawValue) approved or run in \(request.environment)",
                    tier: tier))
        }
        var newPrograms: [String] = []
        for program in classification.programs where try !tables.hasRun(agent: request.agentID, environment: request.environment, program: program) {
            newPrograms.append(program)
        }
        guard !newPrograms.isEmpty else { return nil }
        return classification.adding(
            Reason(
                rule: "first-time",
                message: "FIRST TIME: \(request.agentID) has never run \(newPrograms.joined(separator: ", ")) in \(request.environment)",
                tier: tier))
    }

    /// What the gateway learns from a request once it may run (allowed or approved): the
    /// operation class and programs its agent has now done in its environment (what the
    /// first-time check asks, kept even after the request is archived), and, for a plan, the
    /// plan that now holds for the agent.
    static func learn(agent: String, environment: String, _ classification: Classification, requestID: String, tables: some QueueTables, now: Double) throws {
        try tables.remember(
            agent: agent, environment: environment, operationClass: classification.planSteps == nil ? classification.operationClass.rawValue : nil,
            programs: classification.programs)
        if let steps = classification.planSteps { try tables.rememberPlan(id: requestID, agent: agent, steps: steps, at: now) }
    }

    /// The same for a stored request (on approval), from its stored verdict, which keeps the
    /// programs it runs and a plan's steps.
    static func learn(from stored: StoredRequest, tables: some QueueTables, now: Double) throws {
        let verdict = try tables.verdict(id: stored.id).flatMap { try? JSONReader.parse($0) } ?? .null
        let isPlan = stored.document["action"]?["operation"]?.stringValue == Plan.operation
        try tables.remember(
            agent: stored.agentID, environment: stored.environment, operationClass: isPlan ? nil : stored.operationClass.rawValue,
            programs: verdict["programs"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        if let steps = verdict["plan_steps"]?.arrayValue?.compactMap(\.stringValue) {
            try tables.rememberPlan(id: stored.id, agent: stored.agentID, steps: steps, at: now)
        }
    }

    /// Where the action stands against its agent's latest approved plan (within
    /// `rules.validFor`): "in approved plan P, step 3 of 5", or OFF PLAN, which raises an
    /// action that changes anything to `rules.offPlan` (set in production). Nil without a plan.
    static func placeInPlan(
        _ request: ActionRequest, key: String?, classification: Classification, rules: PlanRules, tables: some QueueTables, now: Double
    ) throws -> Classification? {
        guard let plan = try tables.latestPlan(agent: request.agentID, since: now - rules.validFor) else { return nil }
        if let key, let index = plan.steps.firstIndex(of: key) {
            return classification.adding(Reason(rule: "plan", message: "in approved plan \(plan.id), step \(index + 1) of \(plan.steps.count)", tier: .autonomous))
        }
        let raise = classification.operationClass == .read ? nil : rules.offPlan
        return classification.adding(
            Reason(
                rule: "off-plan",
                message: "OFF PLAN: matches no step of \(request.agentID)'s approved plan \(plan.id) (\(plan.steps.count) step\(plan.steps.count == 1 ? "" : "s"))",
                tier: raise ?? classification.tier))
    }
}

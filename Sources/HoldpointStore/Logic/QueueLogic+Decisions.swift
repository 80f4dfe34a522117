import HoldpointCore

extension QueueLogic {
    // MARK: - Deciding

    /// Records one reviewer's vote, exactly once, under the rules the request was submitted
    /// with. A request that is no longer pending (decided, expired, halted) is never changed.
    public static func decide(
        id: String, verdict: Verdict, reviewer: Identity, reason: String, now: Double, tables: some QueueTables, audit: some AuditAppending
    ) throws -> DecideResult {
        try expireDue(now: now, limit: expiryBatchInWrite, tables: tables, audit: audit)
        guard var stored = try tables.request(id: id) else { return .notFound }
        if stored.state == .pending, let expiresAt = stored.expiresAt, expiresAt <= now {
            // Overdue, whether or not this write's batch reached it: a vote now is too late.
            try expire(id, now: now, tables: tables, audit: audit)
            guard let expired = try tables.request(id: id) else { return .notFound }
            return .notPending(expired)
        }
        guard stored.state == .pending else { return .notPending(stored) }
        if let refusal = DecisionRule.admit(
            reviewer: reviewer.user, groups: reviewer.groups, verdict: verdict, reason: reason, submittedBy: stored.submittedBy,
            onBehalfOf: stored.onBehalfOf, earlier: stored.votes, rules: stored.approvalRules)
        {
            // A missing reason is a usage error; every other refusal (self-approval, an
            // outsider, a second vote) is an attempt worth recording.
            if refusal == .reasonRequired { return .refused(refusal, stored) }
            try audit.append(
                event: "decision_refused", requestID: id, actor: reviewer, at: now,
                details: .object([("verdict", .string(verdict.rawValue)), ("refusal", .string(refusal.description))]))
            return .refused(refusal, stored)
        }
        let vote = Vote(
            reviewer: reviewer.user, via: reviewer.via, verdict: verdict, reason: reason, at: now, actionSHA256: stored.actionSHA256,
            groups: reviewer.groups)
        try tables.addVote(vote, to: id)
        stored.votes.append(vote)
        try audit.append(
            event: "vote", requestID: id, actor: reviewer, at: now,
            details: .object([("verdict", .string(verdict.rawValue)), ("reason", .string(reason)), ("action_sha256", .string(stored.actionSHA256))]))
        let outcome = DecisionRule.outcome(of: stored.votes, rules: stored.approvalRules)
        if outcome != .pending {
            stored.state = outcome
            stored.closedBy = reviewer.user
            stored.closedVia = reviewer.via
            stored.closedAt = now
            stored.closedReason = reason
            try tables.close(stored)
            if outcome == .approved { try learn(from: stored, tables: tables, now: now) }
            let approvers = stored.votes.filter { $0.verdict == verdict }.map { JSONValue.string($0.reviewer) }
            try audit.append(
                event: outcome.rawValue, requestID: id, actor: reviewer, at: now,
                details: .object([("reason", .string(reason)), ("by", .array(approvers)), ("action_sha256", .string(stored.actionSHA256))]))
        }
        return .recorded(stored)
    }

    // MARK: - Expiry

    /// How many overdue requests one write expires on its way: enough that a busy queue
    /// keeps up, few enough that no agent's write waits behind a backlog (100k overdue
    /// requests once made the next hook take 8 s).
    public static let expiryBatchInWrite = 32
    /// How many a dedicated expiry pass expires per transaction: other writers get the lock
    /// between batches.
    public static let expiryBatch = 500

    /// Expires up to `limit` overdue requests (the oldest deadlines first). A request that is
    /// itself being decided is expired by `decide` whatever the batch held, so a bounded
    /// batch never lets an overdue request be approved.
    @discardableResult
    public static func expireDue(now: Double, limit: Int, tables: some QueueTables, audit: some AuditAppending) throws -> Int {
        let ids = try tables.overdue(now: now, limit: limit)
        for id in ids { try expire(id, now: now, tables: tables, audit: audit) }
        return ids.count
    }

    /// Expires request `id` if it is pending and overdue. Returns whether it did.
    public static func expireIfDue(id: String, now: Double, tables: some QueueTables, audit: some AuditAppending) throws -> Bool {
        guard let stored = try tables.request(id: id), stored.state == .pending, let expiresAt = stored.expiresAt, expiresAt <= now else { return false }
        try expire(id, now: now, tables: tables, audit: audit)
        return true
    }

    /// No decision before the deadline: a denial.
    static func expire(_ id: String, now: Double, tables: some QueueTables, audit: some AuditAppending) throws {
        try tables.markExpired(id: id)
        try audit.append(
            event: "expired", requestID: id, actor: Identity(user: "holdpoint", via: "deadline"), at: now,
            details: .object([("reason", .string("no decision before the deadline: denied"))]))
    }

    // MARK: - The kill switch

    /// Halts `agent` (or every agent with `*`): its pending requests become `halted`, and
    /// new ones are refused until it is resumed. Returns how many pending requests it stopped.
    public static func halt(agent: String, reason: String, by: Identity, now: Double, tables: some QueueTables, audit: some AuditAppending) throws -> Int {
        try tables.putHalt(AgentHalt(agent: agent, reason: reason, by: by.user, at: now))
        try audit.append(event: "agent_halted", requestID: nil, actor: by, at: now, details: .object([("agent", .string(agent)), ("reason", .string(reason))]))
        let ids = try tables.pending(agent: agent == "*" ? nil : agent)
        for id in ids {
            try tables.markHalted(id: id, by: by, at: now, reason: "agent halted: \(reason)")
            try audit.append(event: "halted", requestID: id, actor: by, at: now, details: .object([("reason", .string(reason))]))
        }
        return ids.count
    }

    /// Lifts a halt. Returns false when `agent` was not halted.
    public static func resume(agent: String, by: Identity, now: Double, tables: some QueueTables, audit: some AuditAppending) throws -> Bool {
        guard try tables.removeHalt(agent: agent) else { return false }
        try audit.append(event: "resumed", requestID: nil, actor: by, at: now, details: .object([("agent", .string(agent))]))
        return true
    }

    // MARK: - Running approved actions

    /// Uses approval `id` for the action whose hash is `actionSHA256`, once. Refused when
    /// the request is not approved, was used already, or was approved for another action
    /// (the stored hash or any approving vote's hash differs): the executor must not run.
    public static func consume(
        id: String, actionSHA256: String, consumer: String, by: Identity, now: Double, tables: some QueueTables, audit: some AuditAppending
    ) throws -> ConsumeResult {
        try expireDue(now: now, limit: expiryBatchInWrite, tables: tables, audit: audit)
        guard var stored = try tables.request(id: id) else { return .notFound }
        func refuse(_ why: String) throws -> ConsumeResult {
            try audit.append(
                event: "consume_refused", requestID: id, actor: by, at: now,
                details: .object([("consumer", .string(consumer)), ("action_sha256", .string(actionSHA256)), ("refusal", .string(why))]))
            return .refused(why)
        }
        guard stored.state == .approved else { return try refuse("request \(id) is \(stored.state.rawValue), not approved") }
        if let halt = try tables.activeHalt(agent: stored.agentID) {
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
        guard try tables.approvalIsLogged(id: id) else {
            return try refuse("request \(id) is marked approved, but no approval of it is in the audit log (the tables were changed outside Holdpoint)")
        }
        let approving = stored.votes.filter { $0.verdict == .approve }
        guard stored.actionSHA256 == actionSHA256, !approving.isEmpty, approving.allSatisfy({ $0.actionSHA256 == actionSHA256 }) else {
            return try refuse("request \(id) was approved for a different action (sha256 \(stored.actionSHA256.prefix(12))…), not this one (sha256 \(actionSHA256.prefix(12))…)")
        }
        guard try tables.markConsumed(id: id, consumer: consumer, at: now) else { return try refuse("the approval of \(id) was used by someone else first") }
        stored.consumedAt = now
        stored.consumedBy = consumer
        try audit.append(
            event: "consumed", requestID: id, actor: by, at: now,
            details: .object([("consumer", .string(consumer)), ("action_sha256", .string(actionSHA256))]))
        return .consumed(stored)
    }

    /// Marks an allowed or approved request as running in child `pid`. Returns nil when the
    /// request is in no state to run (it was halted or used meanwhile).
    public static func startRun(id: String, pid: Int32, by: Identity, now: Double, tables: some QueueTables, audit: some AuditAppending) throws -> StoredRequest? {
        guard try tables.markRunning(id: id, pid: pid, at: now) else { return nil }
        try audit.append(event: "running", requestID: id, actor: by, at: now, details: .object([("pid", .number(Double(pid)))]))
        return try tables.request(id: id)
    }

    /// Records how a run ended: `succeeded` for exit status 0, `failed` otherwise (a
    /// non-zero status, a signal, or a halt, which `note` explains).
    public static func finishRun(
        id: String, exitCode: Int32?, signal: Int32?, note: String?, by: Identity, now: Double, tables: some QueueTables, audit: some AuditAppending
    ) throws -> StoredRequest? {
        let state: RequestState = exitCode == 0 && signal == nil ? .succeeded : .failed
        guard try tables.markFinished(id: id, state: state, at: now, exitCode: exitCode, signal: signal), let stored = try tables.request(id: id) else { return nil }
        var details: [(key: String, value: JSONValue)] = [
            ("exit_code", exitCode.map { .number(Double($0)) } ?? .null),
            ("signal", signal.map { .number(Double($0)) } ?? .null),
            ("duration_ms", .number(((now - (stored.run?.startedAt ?? now)) * 1000).rounded())),
        ]
        if let note { details.append(("note", .string(note))) }
        try audit.append(event: state.rawValue, requestID: id, actor: by, at: now, details: .object(details))
        return stored
    }

    // MARK: - Escalation

    /// A pending request past a point of its window (`escalate_after`, `warn_at`).
    public struct DueEscalation: Sendable {
        public var id: String
        /// `escalated`, or `expiring@SHARE`.
        public var kind: String
        public var share: Double

        public init(id: String, kind: String, share: Double) {
            self.id = id
            self.kind = kind
            self.share = share
        }
    }

    /// Records each due escalation once (`escalated` or `expiring`), skipping requests
    /// decided or recorded meanwhile. Returns how many entries it wrote.
    public static func escalate(_ due: [DueEscalation], now: Double, tables: some QueueTables, audit: some AuditAppending) throws -> Int {
        var count = 0
        for item in due {
            guard try tables.request(id: item.id)?.state == .pending, try !tables.hasEscalation(id: item.id, kind: item.kind) else { continue }
            try tables.addEscalation(id: item.id, kind: item.kind, at: now)
            let percent = "\(Int((item.share * 100).rounded()))%"
            if item.kind == "escalated" {
                try audit.append(
                    event: "escalated", requestID: item.id, actor: Identity(user: "holdpoint", via: "escalation"), at: now,
                    details: .object([("reason", .string("no decision after \(percent) of its window")), ("share", .number(item.share))]))
            } else {
                try audit.append(
                    event: "expiring", requestID: item.id, actor: Identity(user: "holdpoint", via: "deadline"), at: now,
                    details: .object([("reason", .string("\(percent) of its window gone, still undecided")), ("share", .number(item.share))]))
            }
            count += 1
        }
        return count
    }
}

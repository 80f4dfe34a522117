import HoldpointCore

/// A stored request as one JSON value and back, losslessly: how the daemon hands requests to
/// its clients (`holdpoint.rpc/v1`). Not the contract's `--json` output, which the CLI
/// builds from the decoded value exactly as in file mode.
extension StoredRequest {
    public var wireJSON: JSONValue {
        func number(_ value: Double?) -> JSONValue { value.map(JSONValue.number) ?? .null }
        func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        let f = fields
        return .object([
            ("id", .string(f.id)), ("created_at", .number(f.createdAt)), ("agent_id", .string(f.agentID)), ("environment", .string(f.environment)),
            ("submitted_by", .string(f.submittedBy)), ("on_behalf_of", text(f.onBehalfOf)), ("tier", .string(f.tier.rawValue)),
            ("operation_class", .string(f.operationClass.rawValue)), ("state", .string(f.state.rawValue)), ("expires_at", number(f.expiresAt)),
            ("verdict", RequestRow.verdictJSON(self)), ("approval_rules", RequestRow.rulesJSON(f.approvalRules)), ("document", f.document),
            (
                "votes",
                .array(
                    f.votes.map { v in
                        .object([
                            ("reviewer", .string(v.reviewer)), ("via", .string(v.via)), ("verdict", .string(v.verdict.rawValue)),
                            ("reason", .string(v.reason)), ("at", .number(v.at)), ("action_sha256", .string(v.actionSHA256)),
                        ])
                    })
            ),
            ("closed_by", text(f.closedBy)), ("closed_via", text(f.closedVia)), ("closed_at", number(f.closedAt)), ("closed_reason", text(f.closedReason)),
            ("consumed_at", number(f.consumedAt)), ("consumed_by", text(f.consumedBy)),
            (
                "run",
                f.run.map { r in
                    .object([
                        ("pid", .number(Double(r.pid))), ("started_at", .number(r.startedAt)), ("finished_at", number(r.finishedAt)),
                        ("exit_code", number(r.exitCode.map(Double.init))), ("signal", number(r.signal.map(Double.init))),
                    ])
                } ?? .null
            ),
        ])
    }

    /// Decodes `wireJSON`; nil when a field is missing or of the wrong type.
    public init?(wireJSON value: JSONValue) {
        guard let id = value["id"]?.stringValue, let createdAt = value["created_at"]?.numberValue,
            let agentID = value["agent_id"]?.stringValue, let environment = value["environment"]?.stringValue,
            let submittedBy = value["submitted_by"]?.stringValue,
            let tier = value["tier"]?.stringValue.flatMap(Tier.init(rawValue:)),
            let opClass = value["operation_class"]?.stringValue.flatMap(OperationClass.init(rawValue:)),
            let state = value["state"]?.stringValue.flatMap(RequestState.init(rawValue:)),
            let actionSHA256 = value["verdict"]?["action_sha256"]?.stringValue,
            let rules = value["approval_rules"], let document = value["document"]
        else { return nil }
        let verdict = value["verdict"]
        let reasons = (verdict?["reasons"]?.arrayValue ?? []).map { r in
            Reason(rule: r["rule"]?.stringValue ?? "?", message: r["message"]?.stringValue ?? "", tier: Tier(rawValue: r["tier"]?.stringValue ?? "") ?? .gated)
        }
        var votes: [Vote] = []
        for v in value["votes"]?.arrayValue ?? [] {
            guard let reviewer = v["reviewer"]?.stringValue, let verdict = v["verdict"]?.stringValue.flatMap(Verdict.init(rawValue:)),
                let at = v["at"]?.numberValue
            else { return nil }
            votes.append(
                Vote(
                    reviewer: reviewer, via: v["via"]?.stringValue ?? "", verdict: verdict, reason: v["reason"]?.stringValue ?? "",
                    at: at, actionSHA256: v["action_sha256"]?.stringValue ?? ""))
        }
        var run: RunRecord?
        if let r = value["run"], let pid = r["pid"]?.numberValue, let started = r["started_at"]?.numberValue {
            run = RunRecord(
                pid: Int32(pid), startedAt: started, finishedAt: r["finished_at"]?.numberValue,
                exitCode: r["exit_code"]?.numberValue.map { Int32($0) }, signal: r["signal"]?.numberValue.map { Int32($0) })
        }
        let flags = verdict?["flags"]
        self.init(
            id: id, createdAt: createdAt, agentID: agentID, environment: environment, submittedBy: submittedBy,
            onBehalfOf: value["on_behalf_of"]?.stringValue, tier: tier, operationClass: opClass, state: state,
            expiresAt: value["expires_at"]?.numberValue, actionSHA256: actionSHA256, reasons: reasons,
            destructive: flags?["destructive"]?.boolValue ?? false, irreversible: flags?["irreversible"]?.boolValue ?? false,
            dataLoss: flags?["data_loss"]?.boolValue ?? false, approvalRules: RequestRow.decodeRules(rules), document: document, votes: votes,
            closedBy: value["closed_by"]?.stringValue, closedVia: value["closed_via"]?.stringValue, closedAt: value["closed_at"]?.numberValue,
            closedReason: value["closed_reason"]?.stringValue, consumedAt: value["consumed_at"]?.numberValue,
            consumedBy: value["consumed_by"]?.stringValue, run: run)
    }
}

extension AuditEntry {
    /// Decodes `json` (the export's form, which carries every field).
    public init?(json value: JSONValue) {
        guard let seq = value["seq"]?.numberValue, let atMillis = value["at_ms"]?.numberValue, let event = value["event"]?.stringValue,
            let actor = value["actor"]?.stringValue, let via = value["via"]?.stringValue, let details = value["details"],
            let previous = value["prev_hash"]?.stringValue, let hash = value["hash"]?.stringValue
        else { return nil }
        self.init(
            seq: Int64(seq), atMillis: Int64(atMillis), event: event, requestID: value["request_id"]?.stringValue, actor: actor, via: via,
            details: details, previousHash: previous, hash: hash)
    }
}

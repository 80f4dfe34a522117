import Foundation

/// One rule that fired, and the tier it asks for.
public struct Reason: Sendable, Hashable {
    public var rule: String
    public var message: String
    public var tier: Tier

    public init(rule: String, message: String, tier: Tier) {
        self.rule = rule
        self.message = message
        self.tier = tier
    }
}

/// What the policy says about one action.
public struct Classification: Sendable, Equatable {
    /// The most restrictive tier any rule asked for.
    public var tier: Tier
    /// The most severe kind of change the action makes.
    public var operationClass: OperationClass
    /// Every rule that fired, most restrictive first.
    public var reasons: [Reason]
    public var destructive: Bool
    public var irreversible: Bool
    public var dataLoss: Bool
    /// The programs a shell action runs (basenames, in order found): the gateway's
    /// first-time check asks whether the agent ever ran each one.
    public var programs: [String]
    /// For a plan: each step's `planKey`, in order.
    public var planSteps: [String]?

    public init(
        tier: Tier, operationClass: OperationClass, reasons: [Reason], destructive: Bool, irreversible: Bool, dataLoss: Bool,
        programs: [String] = [], planSteps: [String]? = nil
    ) {
        self.tier = tier
        self.operationClass = operationClass
        self.reasons = reasons
        self.destructive = destructive
        self.irreversible = irreversible
        self.dataLoss = dataLoss
        self.programs = programs
        self.planSteps = planSteps
    }

    /// The classification with `reason` added in its place (most restrictive first), its
    /// tier raised to the reason's when that is stricter.
    public func adding(_ reason: Reason) -> Classification {
        var out = self
        let at = out.reasons.firstIndex { $0.tier < reason.tier } ?? out.reasons.count
        out.reasons.insert(reason, at: at)
        out.tier = max(out.tier, reason.tier)
        return out
    }
}

/// Decides an action's tier. Deterministic and pure: the same request and policy always
/// give the same classification, and nothing here touches storage or the terminal.
public struct Classifier: Sendable {
    public let policy: Policy
    /// What the gate guards about itself (its files and admin commands): always blocked.
    public let protection: SelfProtection

    public init(policy: Policy, protection: SelfProtection = .none) {
        self.policy = policy
        self.protection = protection
    }

    public func classify(_ request: ActionRequest) -> Classification {
        if let steps = request.plan { return classify(plan: request, steps: steps) }
        let findings = analyze(request)
        // Normalised when the request was read; normalising again costs nothing then.
        let environment = EnvironmentName.normalize(request.environment)
        let production = EnvironmentName.isProduction(environment, among: policy.productionEnvironments)
        var reasons: [Reason] = []
        reasons.reserveCapacity(findings.count + 4)
        var destructive = request.impact.dataLoss == true
        var irreversible = request.impact.reversible == false
        var dataLoss = request.impact.dataLoss == true
        var operationClass = OperationClass.read
        var programs: [String] = []

        for finding in findings {
            var tier = TierTable.tier(for: finding.effect.operationClass, production: production, mode: request.agentMode, policy: policy)
            if let floor = finding.effect.tier { tier = max(tier, floor) }
            if production, let floor = finding.effect.productionTier { tier = max(tier, floor) }
            // The tier table: destructive or irreversible actions in production always need a human.
            if production, finding.effect.destructive || finding.effect.irreversible { tier = max(tier, .gated) }
            reasons.append(Reason(rule: finding.rule, message: Self.joined(finding.message, " [", finding.effect.operationClass.rawValue, "]"), tier: tier))
            destructive = destructive || finding.effect.destructive
            irreversible = irreversible || finding.effect.irreversible
            dataLoss = dataLoss || finding.effect.dataLoss
            if finding.effect.operationClass.severity > operationClass.severity { operationClass = finding.effect.operationClass }
            if let program = finding.program, !programs.contains(program) { programs.append(program) }
        }

        // The policy's destructive-action patterns look at everything that is not a read.
        for pattern in policy.destructiveActions where policy.scope(of: pattern, coversLowercased: environment, production: production) {
            let hit =
                findings.contains { $0.effect.operationClass != .read && pattern.matcher.matches($0.subject) }
                || (request.operation.map { op in findings.contains { $0.effect.operationClass != .read } && pattern.matcher.matches(op) } ?? false)
            if hit {
                reasons.append(Reason(rule: "destructive-action", message: pattern.message, tier: pattern.action.tier))
                destructive = true
            }
        }

        if let magnitude = policy.changeMagnitude {
            if let limit = magnitude.maxResourcesAffected, let n = request.impact.resourcesAffected, n > limit {
                reasons.append(
                    Reason(
                        rule: "change-magnitude", message: "affects \(JSONWriter.formatNumber(n)) resources; more than \(JSONWriter.formatNumber(limit)) needs approval", tier: magnitude.action.tier))
            }
            if let limit = magnitude.maxCostImpactUSD, let cost = request.impact.costUSD, cost > limit {
                reasons.append(
                    Reason(rule: "change-magnitude", message: "costs \(JSONWriter.formatNumber(cost)) USD; more than \(JSONWriter.formatNumber(limit)) USD needs approval", tier: magnitude.action.tier)
                )
            }
        }

        if let rule = policy.environmentRule(forLowercased: environment, production: production) {
            var present = OperationClassSet()
            for finding in findings { present.insert(finding.effect.operationClass) }
            for opClass in OperationClass.allCases where present.contains(opClass) {
                if rule.blockedOperations.contains(opClass) {
                    reasons.append(Reason(rule: "environment-blocked", message: "\(opClass.rawValue) is never allowed in \(request.environment)", tier: .blocked))
                } else if let allowed = rule.allowedOperations, !allowed.contains(opClass) {
                    reasons.append(Reason(rule: "environment-not-allowed", message: "\(opClass.rawValue) is not among the operations \(request.environment) allows without approval", tier: .gated))
                }
            }
        }

        let writes = findings.contains { $0.effect.operationClass.isWrite }
        if writes, let threshold = policy.confidenceThreshold, let confidence = request.confidence, confidence < threshold {
            reasons.append(Reason(rule: "low-confidence", message: "the agent's confidence \(JSONWriter.formatNumber(confidence)) is below \(JSONWriter.formatNumber(threshold))", tier: .gated))
        }
        if writes, production, request.impact.reversible == false || request.impact.dataLoss == true {
            let what = request.impact.dataLoss == true ? "loses data" : "cannot be reversed"
            reasons.append(Reason(rule: "declared-irreversible", message: "the agent says this \(what)", tier: .gated))
        }

        if reasons.isEmpty {
            // Nothing understood anything: never allow that by default.
            reasons.append(Reason(rule: "no-analysis", message: "nothing in the request could be analysed", tier: production ? .gated : .supervised))
            operationClass = .unknown
        }
        Self.orderStrictestFirst(&reasons)
        return Classification(
            tier: reasons.first?.tier ?? .gated,
            operationClass: operationClass,
            reasons: reasons,
            destructive: destructive,
            irreversible: irreversible,
            dataLoss: dataLoss,
            programs: programs)
    }

    /// A plan is as strict as its strictest step. Its reasons are one per step, the riskiest
    /// first, each naming the step and its strictest rule, so the reviewer reads every step.
    /// A plan that names no command is read by a human in production. A plan runs no
    /// program, so it lists none (the first-time check learns from what runs).
    func classify(plan: ActionRequest, steps: [PlanStep]) -> Classification {
        let production = policy.isProduction(plan.environment)
        guard !steps.isEmpty else {
            return Classification(
                tier: production ? .gated : .supervised, operationClass: .unknown,
                reasons: [Reason(rule: "plan-unchecked", message: "the plan names no command Holdpoint can check; a human reads it", tier: production ? .gated : .supervised)],
                destructive: false, irreversible: false, dataLoss: false, planSteps: [])
        }
        var judged: [(index: Int, classification: Classification, what: String)] = []
        for (index, step) in steps.enumerated() {
            judged.append((index, classify(step.request), step.request.whatText))
        }
        var combined = Classification(
            tier: .autonomous, operationClass: .read, reasons: [], destructive: false, irreversible: false, dataLoss: false,
            planSteps: steps.map { Plan.key(of: $0.request) })
        for entry in judged.sorted(by: { ($0.classification.tier, -$0.index) > ($1.classification.tier, -$1.index) }) {
            let c = entry.classification
            let top = c.reasons.first
            let what = entry.what.count > 120 ? String(entry.what.prefix(119)) + "…" : entry.what
            combined.reasons.append(
                Reason(
                    rule: top?.rule ?? "plan-step",
                    message: "step \(entry.index + 1) of \(steps.count) `\(what)`: \(top?.message ?? "no rule matched")",
                    tier: c.tier))
            combined.tier = max(combined.tier, c.tier)
            if c.operationClass.severity > combined.operationClass.severity { combined.operationClass = c.operationClass }
            combined.destructive = combined.destructive || c.destructive
            combined.irreversible = combined.irreversible || c.irreversible
            combined.dataLoss = combined.dataLoss || c.dataLoss
        }
        return combined
    }

    /// Most restrictive first, in the order found within a tier, each reason once. There
    /// are usually a handful: sorted and de-duplicated in place by comparison. A hostile line
    /// can give tens of thousands: then a stable sort and a set, in linear-logarithmic time.
    static func orderStrictestFirst(_ reasons: inout [Reason]) {
        guard reasons.count > 32 else {
            for i in reasons.indices.dropFirst() {
                var j = i
                while j > 0 && reasons[j - 1].tier < reasons[j].tier {
                    reasons.swapAt(j - 1, j)
                    j -= 1
                }
            }
            var kept = 0
            for i in reasons.indices where !reasons[..<kept].contains(reasons[i]) {
                reasons.swapAt(kept, i)
                kept += 1
            }
            reasons.removeSubrange(kept...)
            return
        }
        var seen = Set<Reason>()
        let unique = reasons.filter { seen.insert($0).inserted }
        reasons = unique.enumerated().sorted { ($0.element.tier, -$0.offset) > ($1.element.tier, -$1.offset) }.map(\.element)
    }

    /// The texts one after another, copied once into a string of the right size: string
    /// interpolation grew the result piece by piece, for every finding of every action.
    static func joined(_ a: String, _ b: String, _ c: String, _ d: String) -> String {
        let length = a.utf8.count + b.utf8.count + c.utf8.count + d.utf8.count
        return String(unsafeUninitializedCapacity: length) { buffer in
            var offset = 0
            buffer.copyUTF8(of: a, at: &offset)
            buffer.copyUTF8(of: b, at: &offset)
            buffer.copyUTF8(of: c, at: &offset)
            buffer.copyUTF8(of: d, at: &offset)
            return offset
        }
    }

    /// Everything the analysers can say about the request's action.
    func analyze(_ request: ActionRequest) -> [Finding] {
        var findings: [Finding] = []
        let shell = ShellAnalyzer(rules: policy.rules, protection: protection, cwd: request.workingDirectory)
        switch request.kind {
        case .shell:
            // Assigned, not appended: appending copied every finding into a second array.
            if let command = request.command, !command.isEmpty {
                findings = shell.analyze(command)
            } else if let operation = request.operation {
                findings = shell.analyze(operation)
            }
        case .sql:
            let text = request.command ?? request.operation ?? ""
            findings = SQLAnalyzer.analyze(text)
        case .api, .mcp, .other, .file:
            if let operation = request.operation, !operation.isEmpty {
                findings.append(OperationClassifier.classify(operation, verbs: policy.rules.operationVerbs, kind: request.kind))
            }
            if let command = request.command, !command.isEmpty {
                findings += shell.analyze(command)
            }
        }
        if request.kind == .file {
            findings += FileTargetRules.findings(request, protection: protection)
        }
        return findings
    }
}

/// A set of operation classes as bits: the classifier asks which classes an action's
/// findings touch once per action, and a hashed `Set` cost more than the question.
struct OperationClassSet {
    private var bits: UInt32 = 0

    mutating func insert(_ opClass: OperationClass) { bits |= 1 << Self.bit(opClass) }
    func contains(_ opClass: OperationClass) -> Bool { bits & (1 << Self.bit(opClass)) != 0 }

    private static func bit(_ opClass: OperationClass) -> UInt32 {
        switch opClass {
        case .read: 0
        case .minorUpdate: 1
        case .patch: 2
        case .create: 3
        case .delete: 4
        case .iam: 5
        case .bulkModify: 6
        case .createEnvironment: 7
        case .deleteEnvironment: 8
        case .unknown: 9
        }
    }
}

/// The tier an operation class gets before any policy rule, per profile, environment and
/// agent mode. This is the reference design's two tables as code; `tiers:` in a policy
/// overrides single cells.
public enum TierTable {
    public static func tier(for opClass: OperationClass, production: Bool, mode: AgentMode, policy: Policy) -> Tier {
        if !policy.tierOverrides.isEmpty, let override = policy.tierOverrides[production]?[mode]?[opClass] { return override }
        return builtin(opClass, production: production, mode: mode, profile: policy.profile)
    }

    public static func builtin(_ opClass: OperationClass, production: Bool, mode: AgentMode, profile: PolicyProfile) -> Tier {
        guard production else {
            // Outside production: reversible work is supervised; IAM and whole-environment deletes still need a human.
            switch opClass {
            case .read: return .autonomous
            case .iam, .deleteEnvironment: return .gated
            default: return .supervised
            }
        }
        switch (profile, mode) {
        case (.default, .supervised):
            switch opClass {
            case .read: return .autonomous
            case .minorUpdate, .patch: return .supervised
            default: return .gated
            }
        case (.default, .autonomous):
            // An autonomous agent's every production write is at least gated.
            return opClass == .read ? .autonomous : .gated
        case (.strict, .supervised):
            // The permission table's "AI agent, supervised" column.
            switch opClass {
            case .read: return .autonomous
            case .minorUpdate, .patch: return .supervised
            case .create, .unknown: return .gated
            case .delete, .iam, .bulkModify, .createEnvironment, .deleteEnvironment: return .blocked
            }
        case (.strict, .autonomous):
            // The permission table's "AI agent, autonomous" column: reads only.
            return opClass == .read ? .autonomous : .blocked
        }
    }
}

/// Classifies API, MCP and other operations by the verb in their name.
enum OperationClassifier {
    private static let permissionWords: Set<String> = [
        "policy", "policies", "role", "roles", "permission", "permissions", "acl", "iam", "grant", "grants", "credential", "credentials", "accesskey", "password",
    ]

    static func classify(_ operation: String, verbs: [String: OperationClass], kind: ActionKind) -> Finding {
        // `cloudformation:DeleteStack`, `mcp__github__delete_repository`, `storage.buckets.delete`.
        var service = ""
        var name = operation
        if let range = operation.range(of: "__", options: .backwards) {
            service = String(operation[..<range.lowerBound])
            name = String(operation[range.upperBound...])
        } else if let colon = operation.lastIndex(where: { $0 == ":" || $0 == "/" }) {
            service = String(operation[..<colon])
            name = String(operation[operation.index(after: colon)...])
        }
        var words = WordPattern.words(of: name)
        if words.count > 1, words[0] == "batch" || words[0] == "bulk" {
            words[0] += words[1]
        }
        if words.isEmpty || (kind != .file && words.count == 1 && words[0] == name.lowercased() && verbs[words[0]] == nil) {
            // `storage.buckets.delete`: the verb is the last dotted part.
            words = WordPattern.words(of: operation).reversed()
        }
        var opClass: OperationClass?
        var verb = ""
        for word in words {
            if let c = verbs[word] {
                opClass = c
                verb = word
                break
            }
        }
        let serviceWords = Set(WordPattern.words(of: service))
        let allWords = Set(WordPattern.words(of: operation))
        guard var resolved = opClass else {
            if kind == .file {
                return Finding(rule: "file-write", message: "changes files", effect: RuleEffect(operationClass: .patch), subject: operation)
            }
            return .unknown("operation-unknown", "no known verb in the operation name '\(operation)'", subject: operation)
        }
        if resolved.isWrite {
            if serviceWords.contains("iam") || serviceWords.contains("sts") || !allWords.isDisjoint(with: permissionWords) {
                resolved = .iam
            } else if allWords.contains("environment") || allWords.contains("environments") {
                if resolved == .create { resolved = .createEnvironment }
                if resolved == .delete { resolved = .deleteEnvironment }
            } else if verb.hasPrefix("batch") || verb.hasPrefix("bulk") || verb.hasPrefix("mass") {
                resolved = resolved == .read ? .read : .bulkModify
            }
        }
        return Finding(rule: "operation-\(resolved.rawValue)", message: "operation verb '\(verb)'", effect: RuleEffect(operationClass: resolved), subject: operation)
    }
}

import Dispatch
import Foundation
import Synchronization
import Yams

/// Where the built-in defaults (the default policy and the rule packs) come from.
///
/// They are written in YAML (`Sources/HoldpointCore/Resources`) and compiled into the
/// binary (`CompiledBuiltins`), so the binary needs no data beside it and an agent's call
/// parses no YAML. `HOLDPOINT_DATA_DIR` points at a folder of the same YAML to use instead
/// (a site's own packs, or the package's `Resources` folder while editing them); a folder
/// without `default-policy.yaml` is an error (exit 78), never a fall-back to allowing things.
public enum BuiltinData {
    /// The data folder `HOLDPOINT_DATA_DIR` names, or nil for the compiled built-ins.
    public static func overrideDirectory(environment: [String: String]?) throws(ConfigError) -> URL? {
        let value: String?
        if let environment { value = environment["HOLDPOINT_DATA_DIR"] } else { value = getenv("HOLDPOINT_DATA_DIR").map { String(cString: $0) } }
        guard let override = value, !override.isEmpty else { return nil }
        let url = URL(fileURLWithPath: override)
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("default-policy.yaml").path) { return url }
        let nested = url.appendingPathComponent("Resources")
        if FileManager.default.fileExists(atPath: nested.appendingPathComponent("default-policy.yaml").path) { return nested }
        throw ConfigError(issues: [ConfigIssue(file: override, line: 1, column: 1, message: "HOLDPOINT_DATA_DIR holds no default-policy.yaml")])
    }

    static let defaultPolicyName = "(built-in) default-policy.yaml"

    /// The compiled built-ins.
    static func compiled() throws(ConfigError) -> Policy {
        do {
            return try CompiledBuiltins.defaultPolicy(rules: RuleSet(sources: CompiledBuiltins.sources()))
        } catch {
            throw ConfigError(issues: [ConfigIssue(file: defaultPolicyName, line: 1, column: 1, message: "\(error)")])
        }
    }
}

/// Loads the effective policy: built-in defaults, then a policy file on top.
public enum PolicyLoader {
    static let topLevelKeys: Set<String> = [
        "profile", "agent_constraints", "approvals", "redact", "limits", "anomaly", "budgets", "confidence_threshold", "production_environments", "tiers", "rule_packs", "plans", "examples",
        "retention", "notify",
    ]

    /// The built-in policy with `file` (if any) layered on top. Every problem in any layer
    /// is reported together. The built-ins are the compiled ones unless `dataDirectory` or
    /// `HOLDPOINT_DATA_DIR` in `environment` (by default, the process's) names a folder of YAML.
    public static func load(policyFile: String?, dataDirectory: URL? = nil, environment: [String: String]? = nil) throws(ConfigError) -> Policy {
        var policy: Policy
        var directory = dataDirectory
        if directory == nil { directory = try BuiltinData.overrideDirectory(environment: environment) }
        if let directory {
            policy = Policy(rules: RuleSet(packs: try loadPacks(directory.appendingPathComponent("rule-packs"))))
            try apply(file: directory.appendingPathComponent("default-policy.yaml").path, to: &policy, displayName: BuiltinData.defaultPolicyName)
        } else {
            policy = try BuiltinData.compiled()
        }
        if let policyFile {
            try apply(file: policyFile, to: &policy, displayName: policyFile)
        }
        return policy
    }

    static func loadPacks(_ directory: URL) throws(ConfigError) -> [RulePack] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".yaml") }.sorted()
        } catch {
            throw ConfigError(issues: [ConfigIssue(file: directory.path, line: 1, column: 1, message: "cannot list rule packs: \(error.localizedDescription)")])
        }
        // readonly goes last: its fallbacks must not shadow a pack's more specific ones.
        let ordered = names.filter { $0 != "readonly.yaml" } + names.filter { $0 == "readonly.yaml" }
        // Packs are independent, so they are parsed side by side on every core (only a data
        // directory is parsed at all: the built-ins are compiled in). Results keep the file
        // order, so packs and errors come out the same on every run.
        let paths = ordered.map { directory.appendingPathComponent($0).path }
        let results = Mutex([Result<RulePack, ConfigError>?](repeating: nil, count: paths.count))
        DispatchQueue.concurrentPerform(iterations: paths.count) { index in
            let path = paths[index]
            let result: Result<RulePack, ConfigError>
            if let text = readText(path) {
                result = RuleLoader.loadPack(text: text, file: path)
            } else {
                result = .failure(ConfigError(issues: [ConfigIssue(file: path, line: 1, column: 1, message: "cannot read the rule pack")]))
            }
            results.withLock { $0[index] = result }
        }
        var packs: [RulePack] = []
        var issues: [ConfigIssue] = []
        for result in results.withLock({ $0 }) {
            switch result {
            case .success(let pack): packs.append(pack)
            case .failure(let error): issues.append(contentsOf: error.issues)
            case nil: break
            }
        }
        if !issues.isEmpty { throw ConfigError(issues: issues) }
        return packs
    }

    static func readText(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(validating: data, as: UTF8.self)
    }

    static func apply(file: String, to policy: inout Policy, displayName: String) throws(ConfigError) {
        guard FileManager.default.fileExists(atPath: file) else {
            throw ConfigError(issues: [ConfigIssue(file: displayName, line: 1, column: 1, message: "no such file")])
        }
        guard let text = readText(file) else {
            throw ConfigError(issues: [ConfigIssue(file: displayName, line: 1, column: 1, message: "cannot read the file as UTF-8 text")])
        }
        try apply(text: text, to: &policy, displayName: displayName)
    }

    /// Layers one policy document onto `policy`.
    public static func apply(text: String, to policy: inout Policy, displayName: String) throws(ConfigError) {
        let walker = YAMLWalker(file: displayName)
        guard let root = walker.compose(text) else {
            if walker.issues.isEmpty { return }  // an empty file changes nothing
            throw ConfigError(issues: walker.issues)
        }
        var updated = policy
        var retentionNode: Node?
        for (key, _, value) in walker.mapping(root, "policy", allowed: topLevelKeys) ?? [] {
            switch key {
            case "profile":
                if let name = walker.string(value, "profile") {
                    if let profile = PolicyProfile(rawValue: name) {
                        updated.profile = profile
                    } else {
                        walker.fail(value, "profile: expected default or strict, got '\(name)'")
                    }
                }
            case "agent_constraints": applyAgentConstraints(value, to: &updated, walker: walker)
            case "approvals": applyApprovals(value, to: &updated.approvals, walker: walker)
            case "redact": applyRedact(value, to: &updated, walker: walker)
            case "limits": updated.limits = limits(value, walker: walker)
            case "budgets":
                var budget = Budget()
                for (key, _, setting) in walker.mapping(value, "budgets", allowed: ["cost_usd", "resources_affected", "on_exceed"]) ?? [] {
                    switch key {
                    case "cost_usd": budget.costUSD = walker.double(setting, "budgets.cost_usd", minimum: 0)
                    case "resources_affected": budget.resourcesAffected = walker.double(setting, "budgets.resources_affected", minimum: 0)
                    default:
                        let text = walker.string(setting, "budgets.on_exceed") ?? ""
                        if text == "gated" || text == "blocked", let tier = Tier(rawValue: text) {
                            budget.onExceed = tier
                        } else {
                            walker.fail(setting, "budgets.on_exceed: expected gated or blocked, got '\(text)'")
                        }
                    }
                }
                updated.budget = budget
            case "anomaly":
                for (key, _, setting) in walker.mapping(value, "anomaly", allowed: ["first_time"]) ?? [] where key == "first_time" {
                    let text = walker.string(setting, "anomaly.first_time") ?? ""
                    switch text {
                    case "off": updated.firstTime = nil
                    case "gated": updated.firstTime = .gated
                    case "blocked": updated.firstTime = .blocked
                    default: walker.fail(setting, "anomaly.first_time: expected gated, blocked or off, got '\(text)'")
                    }
                }
            case "plans":
                for (key, _, setting) in walker.mapping(value, "plans", allowed: ["valid_for", "off_plan"]) ?? [] {
                    switch key {
                    case "valid_for":
                        if let seconds = walker.duration(setting, "plans.valid_for") { updated.plans.validFor = seconds }
                    default:
                        let text = walker.string(setting, "plans.off_plan") ?? ""
                        switch text {
                        case "off": updated.plans.offPlan = nil
                        case "gated", "blocked": updated.plans.offPlan = Tier(rawValue: text)
                        default: walker.fail(setting, "plans.off_plan: expected gated, blocked or off, got '\(text)'")
                        }
                    }
                }
            case "notify": updated.notify = notifySinks(value, walker: walker)
            case "retention":
                retentionNode = value
                updated.retention = retention(value, walker: walker)
            case "examples": updated.examples += PolicyExamples.read(value, walker: walker)
            case "confidence_threshold": updated.confidenceThreshold = walker.double(value, "confidence_threshold", minimum: 0, maximum: 1)
            case "production_environments":
                updated.productionEnvironments = Set((walker.stringList(value, "production_environments") ?? []).map { $0.lowercased() })
                updated.productionEnvironments.insert("production")
            case "tiers": applyTiers(value, to: &updated, walker: walker)
            case "rule_packs": applyRulePacks(value, to: &updated, walker: walker)
            default: break
            }
        }
        // Checked once every key is read: limits may come after retention.
        if let retentionNode, let retention = updated.retention, retention.archiveAfter < RetentionRules.shortestWindow(for: updated) {
            walker.fail(
                retentionNode,
                "retention.archive_after: \(Durations.format(retention.archiveAfter)) is shorter than \(Durations.format(RetentionRules.shortestWindow(for: updated))), the longest window the gateway counts in the live queue (a day, limits' per, plans.valid_for, approvals.valid_for)"
            )
        }
        if !walker.issues.isEmpty { throw ConfigError(issues: walker.issues) }
        updated.sources.append(displayName)
        policy = updated
    }

    /// A share of a request's window: "50%" (or 0.5), strictly between 0 and 1.
    private static func share(_ node: Node, _ context: String, walker: YAMLWalker) -> Double? {
        walker.string(node, context).flatMap { share(text: $0, node: node, context, walker: walker) }
    }

    private static func share(text: String, node: Node, _ context: String, walker: YAMLWalker) -> Double? {
        let number = text.hasSuffix("%") ? Double(text.dropLast()).map { $0 / 100 } : Double(text)
        if let number, number > 0, number < 1 { return number }
        walker.fail(node, "\(context): expected a share of the request's window between 0% and 100%, such as 50%, got '\(text)'")
        return nil
    }

    private static func notifySinks(_ node: Node, walker: YAMLWalker) -> [NotifySink] {
        var sinks: [NotifySink] = []
        for (index, item) in (walker.list(node, "notify") ?? []).enumerated() {
            let context = "notify[\(index)]"
            var name: String?
            var url: String?
            var urlFile: String?
            var command: [String]?
            var syslog: String?
            var format = NotifySink.Format.generic
            var events = NotifyEvent.defaults
            var secretFile: String?
            var routingKeyFile: String?
            var timeout = 10.0
            let keys: Set<String> = ["name", "webhook", "webhook_file", "command", "syslog", "format", "events", "secret_file", "routing_key_file", "timeout"]
            for (key, _, value) in walker.mapping(item, context, allowed: keys) ?? [] {
                switch key {
                case "name": name = walker.string(value, "\(context).name")
                case "webhook":
                    url = walker.string(value, "\(context).webhook")
                    if let text = url, !(text.hasPrefix("https://") || text.hasPrefix("http://")) {
                        walker.fail(value, "\(context).webhook: expected an http:// or https:// URL, got '\(text)'")
                    }
                case "webhook_file": urlFile = absolutePath(value, "\(context).webhook_file", walker: walker)
                case "command": command = walker.stringList(value, "\(context).command")
                case "syslog": syslog = absolutePath(value, "\(context).syslog", walker: walker)
                case "format":
                    let text = walker.string(value, "\(context).format") ?? ""
                    if let known = NotifySink.Format(rawValue: text) {
                        format = known
                    } else {
                        walker.fail(value, "\(context).format: expected one of \(NotifySink.Format.allCases.map(\.rawValue).joined(separator: ", ")), got '\(text)'")
                    }
                case "events":
                    var chosen: Set<NotifyEvent> = []
                    for text in walker.stringList(value, "\(context).events") ?? [] {
                        if let event = NotifyEvent(rawValue: text) {
                            chosen.insert(event)
                        } else {
                            walker.fail(value, "\(context).events: unknown event '\(text)' (expected \(NotifyEvent.allCases.map(\.rawValue).joined(separator: ", ")))")
                        }
                    }
                    events = chosen
                case "secret_file": secretFile = absolutePath(value, "\(context).secret_file", walker: walker)
                case "routing_key_file": routingKeyFile = absolutePath(value, "\(context).routing_key_file", walker: walker)
                default: timeout = walker.duration(value, "\(context).timeout") ?? timeout
                }
            }
            let targets = [url != nil || urlFile != nil, command != nil, syslog != nil].filter { $0 }.count
            guard let name, !name.isEmpty else {
                walker.fail(item, "\(context): every sink needs a name")
                continue
            }
            guard targets == 1, !(url != nil && urlFile != nil) else {
                walker.fail(item, "\(context) (\(name)): name exactly one of webhook, webhook_file, command, syslog")
                continue
            }
            if sinks.contains(where: { $0.name == name }) { walker.fail(item, "\(context): a second sink named '\(name)'") }
            if command?.isEmpty == true { walker.fail(item, "\(context) (\(name)): command needs a program") }
            if format == .pagerduty && routingKeyFile == nil { walker.fail(item, "\(context) (\(name)): format pagerduty needs routing_key_file (the integration key, kept out of the policy)") }
            let target: NotifySink.Target = if let command { .command(command) } else if let syslog { .syslog(socket: syslog) } else { .webhook(url: url, urlFile: urlFile, format: format) }
            sinks.append(NotifySink(name: name, target: target, events: events, secretFile: secretFile, routingKeyFile: routingKeyFile, timeout: timeout))
        }
        return sinks
    }

    private static func absolutePath(_ node: Node, _ context: String, walker: YAMLWalker) -> String? {
        guard let path = walker.string(node, context) else { return nil }
        guard path.hasPrefix("/") else {
            walker.fail(node, "\(context): expected an absolute path, got '\(path)'")
            return nil
        }
        return path
    }

    private static func retention(_ node: Node, walker: YAMLWalker) -> RetentionRules? {
        var rules = RetentionRules(archiveAfter: 0)
        var archiveAfter: Double?
        for (key, keyNode, setting) in walker.mapping(node, "retention", allowed: ["archive_after", "directory", "every"]) ?? [] {
            switch key {
            case "archive_after": archiveAfter = walker.duration(setting, "retention.archive_after")
            case "every": if let seconds = walker.duration(setting, "retention.every") { rules.every = seconds }
            default:
                if let path = walker.string(setting, "retention.directory") {
                    if path.hasPrefix("/") { rules.directory = path } else { walker.fail(keyNode, "retention.directory: expected an absolute path, got '\(path)'") }
                }
            }
        }
        guard let archiveAfter else {
            walker.fail(node, "retention: archive_after is required (for example archive_after: 30d)")
            return nil
        }
        rules.archiveAfter = archiveAfter
        return rules
    }

    private static func policyAction(_ node: Node, _ context: String, walker: YAMLWalker) -> PolicyAction? {
        guard let text = walker.string(node, context) else { return nil }
        guard let action = PolicyAction(rawValue: text) else {
            let known = PolicyAction.allCases.map(\.rawValue).joined(separator: ", ")
            walker.fail(node, "\(context): unknown policy '\(text)' (expected one of: \(known))")
            return nil
        }
        return action
    }

    private static func applyAgentConstraints(_ node: Node, to policy: inout Policy, walker: YAMLWalker) {
        let keys: Set<String> = ["destructive_actions", "change_magnitude", "environment_rules"]
        for (key, _, value) in walker.mapping(node, "agent_constraints", allowed: keys) ?? [] {
            switch key {
            case "destructive_actions":
                for (i, item) in (walker.list(value, "agent_constraints.destructive_actions") ?? []).enumerated() {
                    let context = "agent_constraints.destructive_actions[\(i)]"
                    guard let fields = walker.mapping(item, context, allowed: ["pattern", "scope", "policy", "message"]) else { continue }
                    var pattern: String?
                    var patternNode: Node?
                    var scope: [String] = []
                    var action: PolicyAction?
                    var message = "destructive action"
                    for (k, _, v) in fields {
                        switch k {
                        case "pattern":
                            pattern = walker.string(v, "\(context).pattern")
                            patternNode = v
                        case "scope": scope = walker.stringList(v, "\(context).scope") ?? []
                        case "policy": action = policyAction(v, "\(context).policy", walker: walker)
                        default: message = walker.string(v, "\(context).message") ?? message
                        }
                    }
                    guard let pattern, let action else {
                        if pattern == nil { walker.fail(item, "\(context): 'pattern' is required") }
                        if action == nil && fields.contains(where: { $0.key == "policy" }) == false { walker.fail(item, "\(context): 'policy' is required") }
                        continue
                    }
                    do {
                        let entry = try DestructivePattern(pattern: pattern, scope: scope, action: action, message: message)
                        let duplicate = policy.destructiveActions.contains { $0.pattern == pattern && $0.scope == scope && $0.action == action }
                        if !duplicate { policy.destructiveActions.append(entry) }
                    } catch {
                        walker.fail(patternNode, "\(context).pattern: not a valid regular expression: \(error)")
                    }
                }
            case "change_magnitude":
                guard let fields = walker.mapping(value, "agent_constraints.change_magnitude", allowed: ["max_resources_affected", "max_cost_impact_usd", "policy"]) else { continue }
                var magnitude = policy.changeMagnitude ?? ChangeMagnitude(action: .requireApprovalIfExceeded)
                for (k, _, v) in fields {
                    switch k {
                    case "max_resources_affected": magnitude.maxResourcesAffected = walker.double(v, "change_magnitude.max_resources_affected", minimum: 0)
                    case "max_cost_impact_usd": magnitude.maxCostImpactUSD = walker.double(v, "change_magnitude.max_cost_impact_usd", minimum: 0)
                    default: magnitude.action = policyAction(v, "change_magnitude.policy", walker: walker) ?? magnitude.action
                    }
                }
                policy.changeMagnitude = magnitude
            default:
                for (envName, _, envNode) in walker.mapping(value, "agent_constraints.environment_rules") ?? [] {
                    let context = "environment_rules.\(envName)"
                    guard let fields = walker.mapping(envNode, context, allowed: ["allowed_operations", "blocked_operations"]) else { continue }
                    var rule = policy.environmentRules[envName.lowercased()] ?? EnvironmentRule(allowedOperations: nil, blockedOperations: [])
                    for (k, _, v) in fields {
                        var classes = Set<OperationClass>()
                        for item in walker.list(v, "\(context).\(k)") ?? [] {
                            if let c = walker.operationClass(item, "\(context).\(k)") { classes.insert(c) }
                        }
                        if k == "allowed_operations" { rule.allowedOperations = classes } else { rule.blockedOperations = classes }
                    }
                    policy.environmentRules[envName.lowercased()] = rule
                }
            }
        }
    }

    /// `limits: [{agent, class, max, per, on_exceed}, …]`
    private static func limits(_ node: Node, walker: YAMLWalker) -> [RateLimit] {
        guard case .sequence(let items) = node else {
            walker.fail(node, "limits: expected a list of limits")
            return []
        }
        var out: [RateLimit] = []
        for (index, item) in items.enumerated() {
            let context = "limits[\(index)]"
            var agent = "*"
            var classes: Set<OperationClass>?
            var max: Int?
            var window: Double?
            var onExceed = RateLimit.Exceed.gated
            for (key, _, value) in walker.mapping(item, context, allowed: ["agent", "class", "max", "per", "on_exceed"]) ?? [] {
                switch key {
                case "agent": agent = walker.string(value, "\(context).agent") ?? agent
                case "class":
                    let names = walker.stringList(value, "\(context).class") ?? []
                    if names != ["*"] {
                        var set = Set<OperationClass>()
                        for name in names {
                            if let c = OperationClass(rawValue: name) {
                                set.insert(c)
                            } else {
                                walker.fail(value, "\(context).class: unknown operation class '\(name)' (expected \(OperationClass.allCases.map(\.rawValue).joined(separator: ", ")) or *)")
                            }
                        }
                        classes = set
                    }
                case "max": max = walker.int(value, "\(context).max", minimum: 0)
                case "per": window = walker.duration(value, "\(context).per")
                default:
                    let text = walker.string(value, "\(context).on_exceed") ?? ""
                    if let e = RateLimit.Exceed(rawValue: text) {
                        onExceed = e
                    } else {
                        walker.fail(value, "\(context).on_exceed: expected gated, blocked or halt, got '\(text)'")
                    }
                }
            }
            guard let max, let window else {
                walker.fail(item, "\(context): needs max and per (e.g. max: 3, per: 1h)")
                continue
            }
            out.append(RateLimit(agent: agent, classes: classes, max: max, window: window, onExceed: onExceed))
        }
        return out
    }

    /// `redact: {patterns: [regex, …]}`: added to the built-in secret patterns.
    private static func applyRedact(_ node: Node, to policy: inout Policy, walker: YAMLWalker) {
        for (key, _, value) in walker.mapping(node, "redact", allowed: ["patterns"]) ?? [] where key == "patterns" {
            guard let texts = walker.stringList(value, "redact.patterns") else { continue }
            var extra: [(name: String, pattern: Regex<AnyRegexOutput>)] = []
            for (index, text) in texts.enumerated() {
                do {
                    extra.append((name: "policy-\(index + 1)", pattern: try Redactor.compile(text)))
                    policy.redactPatterns.append(text)
                } catch {
                    walker.fail(value, "redact.patterns[\(index)]: '\(text)' is not a regular expression: \(error)")
                }
            }
            policy.redactor = Redactor(extra: extra)
        }
    }

    /// `approvals.rules: [{class: [...], rule: [...], required, reviewers, one_from_each}]`
    private static func approvalRules(_ node: Node, walker: YAMLWalker) -> [ApprovalRule] {
        guard let items = walker.list(node, "approvals.rules") else { return [] }
        var out: [ApprovalRule] = []
        for (index, item) in items.enumerated() {
            let context = "approvals.rules[\(index)]"
            var rule = ApprovalRule()
            for (key, _, value) in walker.mapping(item, context, allowed: ["class", "rule", "required", "reviewers", "one_from_each"]) ?? [] {
                switch key {
                case "class":
                    for name in walker.stringList(value, "\(context).class") ?? [] {
                        if let c = OperationClass(rawValue: name) {
                            rule.classes.insert(c)
                        } else {
                            walker.fail(value, "\(context).class: unknown operation class '\(name)'")
                        }
                    }
                case "rule": rule.ruleIDs = Set(walker.stringList(value, "\(context).rule") ?? [])
                case "required": rule.required = walker.int(value, "\(context).required", minimum: 1)
                case "reviewers": rule.reviewers = walker.stringList(value, "\(context).reviewers")
                default: rule.oneFromEach = walker.stringList(value, "\(context).one_from_each") ?? []
                }
            }
            if rule.classes.isEmpty && rule.ruleIDs.isEmpty { walker.fail(item, "\(context): name a class or a rule it applies to") }
            out.append(rule)
        }
        return out
    }

    private static func applyApprovals(_ node: Node, to approvals: inout ApprovalRules, walker: YAMLWalker) {
        let keys: Set<String> = [
            "required", "reject_threshold", "allow_self_approval", "timeouts", "reviewers", "valid_for",
            "min_read_time", "attention_check_after", "attention_check_within", "one_from_each", "rules", "escalate_after", "warn_at",
        ]
        for (key, _, value) in walker.mapping(node, "approvals", allowed: keys) ?? [] {
            switch key {
            case "required": approvals.required = walker.int(value, "approvals.required", minimum: 1) ?? approvals.required
            case "reject_threshold": approvals.rejectionsToReject = walker.int(value, "approvals.reject_threshold", minimum: 1) ?? approvals.rejectionsToReject
            case "allow_self_approval": approvals.allowSelfApproval = walker.bool(value, "approvals.allow_self_approval") ?? approvals.allowSelfApproval
            case "reviewers": approvals.reviewers = walker.stringList(value, "approvals.reviewers") ?? approvals.reviewers
            case "valid_for": approvals.validFor = walker.duration(value, "approvals.valid_for") ?? approvals.validFor
            case "min_read_time": approvals.minReadTime = walker.duration(value, "approvals.min_read_time", allowZero: true) ?? approvals.minReadTime
            case "attention_check_after": approvals.attentionCheckAfter = walker.int(value, "approvals.attention_check_after", minimum: 0) ?? approvals.attentionCheckAfter
            case "attention_check_within": approvals.attentionCheckWithin = walker.duration(value, "approvals.attention_check_within") ?? approvals.attentionCheckWithin
            case "one_from_each": approvals.oneFromEach = walker.stringList(value, "approvals.one_from_each") ?? approvals.oneFromEach
            case "escalate_after": approvals.escalateAfter = share(value, "approvals.escalate_after", walker: walker)
            case "warn_at":
                approvals.warnAt = (walker.stringList(value, "approvals.warn_at") ?? []).compactMap { text in
                    share(text: text, node: value, "approvals.warn_at", walker: walker)
                }
            case "rules": approvals.rules = approvalRules(value, walker: walker)
            default:
                for (tierName, tierNode, durationNode) in walker.mapping(value, "approvals.timeouts") ?? [] {
                    guard let tier = Tier(rawValue: tierName) else {
                        walker.fail(tierNode, "approvals.timeouts: unknown tier '\(tierName)' (expected gated)")
                        continue
                    }
                    if let seconds = walker.duration(durationNode, "approvals.timeouts.\(tierName)") { approvals.timeouts[tier] = seconds }
                }
            }
        }
    }

    /// `tiers: {production|non_production: {supervised|autonomous: {class: tier}}}`
    private static func applyTiers(_ node: Node, to policy: inout Policy, walker: YAMLWalker) {
        for (scopeName, _, scopeNode) in walker.mapping(node, "tiers", allowed: ["production", "non_production"]) ?? [] {
            let production = scopeName == "production"
            for (modeName, modeNode, classes) in walker.mapping(scopeNode, "tiers.\(scopeName)") ?? [] {
                guard let mode = AgentMode(rawValue: modeName) else {
                    walker.fail(modeNode, "tiers.\(scopeName): unknown agent mode '\(modeName)' (expected supervised or autonomous)")
                    continue
                }
                for (className, classNode, tierNode) in walker.mapping(classes, "tiers.\(scopeName).\(modeName)") ?? [] {
                    guard let opClass = OperationClass(rawValue: className) else {
                        walker.fail(classNode, "tiers.\(scopeName).\(modeName): unknown operation class '\(className)'")
                        continue
                    }
                    if let tier = walker.tier(tierNode, "tiers.\(scopeName).\(modeName).\(className)") {
                        policy.tierOverrides[production, default: [:]][mode, default: [:]][opClass] = tier
                    }
                }
            }
        }
    }

    /// `rule_packs: {disable: [names], rules: [...]}`: packs can be switched off and rules added.
    private static func applyRulePacks(_ node: Node, to policy: inout Policy, walker: YAMLWalker) {
        var packs = policy.rules.packs
        for (key, _, value) in walker.mapping(node, "rule_packs", allowed: ["disable", "rules"]) ?? [] {
            if key == "disable" {
                let names = walker.stringList(value, "rule_packs.disable") ?? []
                for name in names where !packs.contains(where: { $0.name == name }) {
                    walker.fail(value, "rule_packs.disable: no rule pack named '\(name)' (have: \(packs.map(\.name).joined(separator: ", ")))")
                }
                packs.removeAll { names.contains($0.name) }
            } else {
                var rules: [CommandRule] = []
                for item in walker.list(value, "rule_packs.rules") ?? [] {
                    if let rule = RuleLoader.loadRule(item, pack: "policy", walker: walker) { rules.append(rule) }
                }
                // Policy rules come first, so their fallbacks take precedence.
                packs.insert(RulePack(name: "policy", description: "rules from the policy file", rules: rules, sqlClients: [], operationVerbs: [:]), at: 0)
            }
        }
        policy.rules = RuleSet(packs: packs)
    }
}

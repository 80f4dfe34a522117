import Yams

/// Example commands with the tier each must get: what a policy author writes down to see
/// the policy's coverage (`holdpoint policy test FILE…`, and a policy file's own
/// `examples:`, which `holdpoint policy lint` checks). The idea of Codex's exec-policy
/// `match` / `not_match` lists, with tiers.
///
/// ```yaml
/// - {command: "terraform destroy -auto-approve", tier: blocked}
/// - {command: "kubectl get pods", env: production, mode: autonomous, at_most: supervised}
/// - {command: "psql -c 'DROP TABLE users'", at_least: gated}
/// ```
/// `env` defaults to production and `mode` to autonomous: the strictest reading.
public struct PolicyExample: Sendable, Equatable {
    public enum Expectation: Sendable, Equatable {
        case exactly(Tier)
        case atLeast(Tier)
        case atMost(Tier)

        public func holds(for tier: Tier) -> Bool {
            switch self {
            case .exactly(let expected): tier == expected
            case .atLeast(let floor): tier >= floor
            case .atMost(let ceiling): tier <= ceiling
            }
        }

        public var description: String {
            switch self {
            case .exactly(let tier): tier.rawValue
            case .atLeast(let tier): "at least \(tier.rawValue)"
            case .atMost(let tier): "at most \(tier.rawValue)"
            }
        }
    }

    public var command: String
    public var environment: String
    public var mode: AgentMode
    public var expectation: Expectation
    /// Where it is written, for messages.
    public var file: String
    public var line: Int

    public init(command: String, environment: String = "production", mode: AgentMode = .autonomous, expectation: Expectation, file: String = "", line: Int = 0) {
        self.command = command
        self.environment = environment
        self.mode = mode
        self.expectation = expectation
        self.file = file
        self.line = line
    }

    /// The example as an action request.
    public func request() throws(RequestError) -> ActionRequest {
        try ActionRequest.shellCommand(command, environment: environment, agentID: "policy-example", mode: mode)
    }
}

/// One example that the policy does not meet.
public struct PolicyExampleMismatch: Sendable {
    public var example: PolicyExample
    public var got: Classification

    public var description: String {
        let rules = got.reasons.prefix(3).map { "\($0.rule)" }.joined(separator: ", ")
        return
            "\(example.file):\(example.line): `\(SafeText.escape(example.command))` [\(example.environment), \(example.mode.rawValue)]: expected \(example.expectation.description), got \(got.tier.rawValue)\(rules.isEmpty ? "" : " (\(rules))")"
    }
}

public enum PolicyExamples {
    /// The examples in an examples file: a list at the top, or a mapping whose `examples`
    /// is one.
    public static func parse(text: String, file: String) throws(ConfigError) -> [PolicyExample] {
        let walker = YAMLWalker(file: file)
        guard let root = walker.compose(text) else {
            if walker.issues.isEmpty { return [] }
            throw ConfigError(issues: walker.issues)
        }
        var examples: [PolicyExample] = []
        if case .mapping = root {
            for (key, _, value) in walker.mapping(root, "examples file", allowed: ["examples"]) ?? [] where key == "examples" {
                examples = read(value, walker: walker)
            }
        } else {
            examples = read(root, walker: walker)
        }
        if !walker.issues.isEmpty { throw ConfigError(issues: walker.issues) }
        return examples
    }

    /// A list of examples (the value of a policy's `examples:`).
    static func read(_ node: Node, walker: YAMLWalker) -> [PolicyExample] {
        var out: [PolicyExample] = []
        for (index, item) in (walker.list(node, "examples") ?? []).enumerated() {
            let context = "examples[\(index)]"
            guard let fields = walker.mapping(item, context, allowed: ["command", "env", "mode", "tier", "at_least", "at_most"]) else { continue }
            var command: String?
            var environment = "production"
            var mode = AgentMode.autonomous
            var expectation: PolicyExample.Expectation?
            for (key, _, value) in fields {
                switch key {
                case "command": command = walker.string(value, "\(context).command")
                case "env": environment = walker.string(value, "\(context).env") ?? environment
                case "mode":
                    let text = walker.string(value, "\(context).mode") ?? ""
                    if let parsed = AgentMode(rawValue: text) { mode = parsed } else { walker.fail(value, "\(context).mode: expected supervised or autonomous, got '\(text)'") }
                default:
                    guard expectation == nil else {
                        walker.fail(value, "\(context): give one of tier, at_least, at_most")
                        continue
                    }
                    guard let tier = walker.tier(value, "\(context).\(key)") else { continue }
                    expectation = key == "tier" ? .exactly(tier) : key == "at_least" ? .atLeast(tier) : .atMost(tier)
                }
            }
            guard let command, !command.isEmpty else {
                walker.fail(item, "\(context): command is required")
                continue
            }
            guard let expectation else {
                walker.fail(item, "\(context): give the expected tier (tier, at_least or at_most)")
                continue
            }
            out.append(
                PolicyExample(
                    command: command, environment: environment, mode: mode, expectation: expectation,
                    file: walker.file, line: (item.mark?.line ?? 0)))
        }
        return out
    }

    /// The examples the policy does not meet, in order.
    public static func mismatches(_ examples: [PolicyExample], policy: Policy, protection: SelfProtection = .none) -> [PolicyExampleMismatch] {
        let classifier = Classifier(policy: policy, protection: protection)
        var out: [PolicyExampleMismatch] = []
        for example in examples {
            guard let request = try? example.request() else { continue }
            let verdict = classifier.classify(request)
            if !example.expectation.holds(for: verdict.tier) { out.append(PolicyExampleMismatch(example: example, got: verdict)) }
        }
        return out
    }
}

/// The words a policy uses to say what happens when a rule matches.
public enum PolicyAction: String, Sendable, CaseIterable {
    /// Never runs: recorded, and shown to reviewers for awareness.
    case block = "BLOCK"
    /// Cannot run on its own: routed to a human (gated).
    case blockAndEscalate = "BLOCK_AND_ESCALATE"
    /// Gated: a human must approve.
    case requireApproval = "REQUIRE_APPROVAL"
    /// Gated, but only when a threshold is exceeded (change magnitude).
    case requireApprovalIfExceeded = "REQUIRE_APPROVAL_IF_EXCEEDED"
    /// Blocked when a threshold is exceeded.
    case blockIfExceeded = "BLOCK_IF_EXCEEDED"
    /// Runs, logged for spot-checks (supervised).
    case log = "LOG"

    public var tier: Tier {
        switch self {
        case .block, .blockIfExceeded: return .blocked
        case .blockAndEscalate, .requireApproval, .requireApprovalIfExceeded: return .gated
        case .log: return .supervised
        }
    }
}

/// A destructive-action pattern: a regular expression over what an action does.
public struct DestructivePattern: Sendable {
    public var pattern: String
    /// Environments it applies to; empty means every environment.
    public var scope: [String] {
        didSet { lowercasedScope = scope.map { $0.lowercased() } }
    }
    /// `scope` lower-cased once, not at every classification.
    private(set) var lowercasedScope: [String]
    public var action: PolicyAction
    public var message: String
    let matcher: WordPattern

    /// Fails when `pattern` is not a valid regular expression.
    init(pattern: String, scope: [String], action: PolicyAction, message: String) throws {
        self.pattern = pattern
        self.scope = scope
        self.lowercasedScope = scope.map { $0.lowercased() }
        self.action = action
        self.message = message
        self.matcher = try WordPattern(pattern)
    }
}

public struct ChangeMagnitude: Sendable, Equatable {
    public var maxResourcesAffected: Double?
    public var maxCostImpactUSD: Double?
    public var action: PolicyAction
}

public struct EnvironmentRule: Sendable, Equatable {
    /// Classes that run without approval here; anything else is at least gated. nil = no list.
    public var allowedOperations: Set<OperationClass>?
    /// Classes that never run here.
    public var blockedOperations: Set<OperationClass>
}

/// Which permission model applies to agents in production-like environments.
public enum PolicyProfile: String, Sendable, CaseIterable {
    /// The reference design's tier table: destructive, irreversible or high-cost actions are gated.
    case `default`
    /// The reference design's permission table, verbatim: agents may not delete or touch IAM at all.
    case strict
}

/// How approvals work: how many, by whom, and how long a request may wait.
public struct ApprovalRules: Sendable, Equatable {
    /// Distinct approvals needed (k of n).
    public var required: Int = 1
    /// Rejections that reject the request (a deny threshold; 1 = any one reviewer can veto).
    public var rejectionsToReject: Int = 1
    public var allowSelfApproval = false
    /// Deadline per tier in seconds. Expiry is always a denial.
    public var timeouts: [Tier: Double] = [.gated: 15 * 60]
    /// OS users (`alice`) and groups (`@sre`) allowed to decide. Empty: anyone who can reach
    /// the queue (file mode only: `holdpoint serve` refuses to start without reviewers).
    public var reviewers: [String] = []
    /// How long an approval may wait to be used. An approval not used within this is stale:
    /// the hook or `exec` must ask again (an approval is for now, not for later).
    public var validFor: Double = 15 * 60
    /// The console's fatigue guards. An irreversible action cannot be approved until its
    /// detail has been on screen this long (0: off).
    public var minReadTime: Double = 2
    /// After this many approvals within `attentionCheckWithin` seconds the console asks
    /// the reviewer to confirm they are still reading (0: off).
    public var attentionCheckAfter: Int = 10
    public var attentionCheckWithin: Double = 5 * 60
    /// An approval from each of these (logins or `@group`s) is needed, besides `required`
    /// distinct approvals (`one_from_each`, e.g. security and SRE for IAM changes).
    public var oneFromEach: [String] = []
    /// `escalate_after`: the part of a gated request's window (0.5 for 50%) after which,
    /// undecided, it is escalated (notified as `escalated`, shown ESCALATED); nil: never.
    public var escalateAfter: Double?
    /// `warn_at`: shares of a gated request's window (0.8 for 80%) at which, undecided, it
    /// is notified as `expiring`.
    public var warnAt: [Double] = []
    /// Per class or rule: its own k, reviewers and groups (`approvals.rules`).
    public var rules: [ApprovalRule] = []

    public init() {}

    /// The rules for a request classified as `classification`: these, with every matching
    /// entry of `rules` applied (the stricter k, the rule's reviewers, its groups added).
    public func applying(to classification: Classification) -> ApprovalRules {
        var out = self
        out.rules = []
        for rule in rules where rule.matches(classification) {
            if let k = rule.required { out.required = max(out.required, k) }
            if let reviewers = rule.reviewers { out.reviewers = reviewers }
            for entry in rule.oneFromEach where !out.oneFromEach.contains(entry) { out.oneFromEach.append(entry) }
        }
        out.required = max(out.required, out.oneFromEach.count)
        return out
    }

    /// Whether `user`, a member of `groups`, is one of the reviewers.
    public func isReviewer(_ user: String, groups: [String] = []) -> Bool {
        reviewers.isEmpty || reviewers.contains(user) || groups.contains { reviewers.contains("@" + $0) }
    }
}

/// One entry of `approvals.rules`: for requests of `classes` or that fired one of `ruleIDs`.
public struct ApprovalRule: Sendable, Equatable {
    public var classes: Set<OperationClass>
    public var ruleIDs: Set<String>
    public var required: Int?
    public var reviewers: [String]?
    public var oneFromEach: [String]

    public init(classes: Set<OperationClass> = [], ruleIDs: Set<String> = [], required: Int? = nil, reviewers: [String]? = nil, oneFromEach: [String] = []) {
        self.classes = classes
        self.ruleIDs = ruleIDs
        self.required = required
        self.reviewers = reviewers
        self.oneFromEach = oneFromEach
    }

    public func matches(_ classification: Classification) -> Bool {
        classes.contains(classification.operationClass) || classification.reasons.contains { ruleIDs.contains($0.rule) }
    }
}

/// The effective policy: built-in defaults with the policy file layered on top.
public struct Policy: Sendable {
    public var profile: PolicyProfile = .default
    public var destructiveActions: [DestructivePattern] = []
    public var changeMagnitude: ChangeMagnitude?
    public var environmentRules: [String: EnvironmentRule] = [:]
    /// The environment names treated as production when a policy names none.
    public static let defaultProductionEnvironments: Set<String> = ["production", "prod", "prd", "live"]

    /// Environment names treated as production (case-insensitive).
    public var productionEnvironments: Set<String> = Policy.defaultProductionEnvironments
    /// Below this agent confidence, any write is gated.
    public var confidenceThreshold: Double? = 0.6
    /// Tier overrides: [production-like?][mode][class] → tier.
    public var tierOverrides: [Bool: [AgentMode: [OperationClass: Tier]]] = [:]
    public var approvals = ApprovalRules()
    /// What is taken out of requests before they are stored or shown: the built-in secret
    /// patterns and the policy's `redact.patterns`.
    public var redactor = Redactor()
    /// The policy's own `redact.patterns`, as written (for `policy explain`).
    public var redactPatterns: [String] = []
    /// Gateway rate limits (`limits:`), checked when a request is recorded.
    public var limits: [RateLimit] = []
    /// `anomaly.first_time`: the least tier of an agent's first action of a class in
    /// production (default gated); nil: off.
    public var firstTime: Tier? = .gated
    /// `budgets:`: daily caps on declared cost and resources per agent and environment.
    public var budget: Budget?
    /// `plans:`: how long an approved plan holds, and what an action off it gets.
    public var plans = PlanRules()
    /// `examples:`: commands with the tier each must get, checked by `policy lint`.
    public var examples: [PolicyExample] = []
    /// `notify:`: where reviewers are paged (webhooks, commands, syslog).
    public var notify: [NotifySink] = []
    /// `retention:`: how long decided history stays in the live queue before `serve`
    /// archives it; nil (the default): kept until `holdpoint queue archive` moves it.
    public var retention: RetentionRules?
    public var rules: RuleSet
    /// Where each layer came from, for `policy explain`.
    public var sources: [String] = []

    public init(rules: RuleSet) { self.rules = rules }

    /// Whether `environment` is, or is almost, one of `productionEnvironments`
    /// (`EnvironmentName`).
    public func isProduction(_ environment: String) -> Bool {
        EnvironmentName.isProduction(EnvironmentName.normalize(environment), among: productionEnvironments)
    }

    /// The environment rule for `environment`; production aliases share production's rule.
    public func environmentRule(for environment: String) -> EnvironmentRule? {
        environmentRule(forLowercased: environment.lowercased())
    }

    /// `production`: whether `lower` is one of `productionEnvironments`, when the caller
    /// already knows (a classification asks once).
    func environmentRule(forLowercased lower: String, production: Bool? = nil) -> EnvironmentRule? {
        if let rule = environmentRules[lower] { return rule }
        if production ?? EnvironmentName.isProduction(lower, among: productionEnvironments) { return environmentRules["production"] }
        return nil
    }

    /// Whether a destructive pattern's scope covers the (lower-cased) environment `lower`;
    /// `production`: whether `lower` is one of `productionEnvironments`, which a
    /// classification has already asked.
    func scope(of pattern: DestructivePattern, coversLowercased lower: String, production: Bool) -> Bool {
        if pattern.scope.isEmpty { return true }
        for (name, lowercased) in zip(pattern.scope, pattern.lowercasedScope) {
            if name == "all" || name == "*" || lowercased == lower || (production && lowercased == "production") { return true }
        }
        return false
    }
}

/// A regular expression matched against the words of an action, case-insensitively
/// and only on whole words: `delete` matches `delete-stack` and `DeleteStack` but not
/// `deleted.txt`. A pattern that is a plain alternation of words (`delete|drop|…`), like
/// the reference design's, is matched with a set lookup instead of a regex engine.
public struct WordPattern: Sendable {
    private let words: Set<String>?
    /// Bit n is set when some word in `words` is n bytes long (up to 63): a word of any
    /// other length is passed over without being looked up.
    private let wordLengths: UInt64
    private let regex: RegexBox?

    public init(_ pattern: String) throws {
        let isWordList =
            !pattern.isEmpty
            && pattern.utf8.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == UInt8(ascii: "|")
            }
        if isWordList {
            let list = Set(pattern.lowercased().split(separator: "|").map(String.init))
            words = list
            wordLengths = list.reduce(0) { bits, word in word.utf8.count < 64 ? bits | 1 << word.utf8.count : bits }
            regex = nil
        } else {
            words = nil
            wordLengths = 0
            regex = try RegexBox("(?i)\(Self.wordStart)(?:\(pattern))\(Self.endsInWord(pattern) ? "(?![A-Za-z0-9])" : "")")
        }
    }

    /// A match does not start inside a word: it starts the text, follows a character that
    /// is not a letter or digit (consumed), or itself starts with such a character. Written
    /// this way because Swift's `Regex` has no lookbehind.
    static let wordStart = "(?:^|[^A-Za-z0-9]|(?=[^A-Za-z0-9]))"

    /// Whether the pattern's last character (before closing parentheses) is a letter or
    /// digit, so that a match must not run on into a word: `rm -r` does not match `rm -rf`,
    /// while `rm -rf /srv/` matches `rm -rf /srv/app`.
    static func endsInWord(_ pattern: String) -> Bool {
        guard let last = pattern.utf8.reversed().first(where: { $0 != UInt8(ascii: ")") }) else { return false }
        return (last >= 0x30 && last <= 0x39) || (last >= 0x41 && last <= 0x5A) || (last >= 0x61 && last <= 0x7A)
    }

    public func matches(_ text: String) -> Bool {
        if let words {
            return WordPattern.anyWord(of: text, lengths: wordLengths) { words.contains($0) }
        }
        guard let regex else { return false }
        // The text as written (`rm -rf /srv/` finds `rm -rf /srv/app`), then as its words
        // (`delete stack` finds `DeleteStack` and `delete-stack`).
        return regex.matches(text) || regex.matches(WordPattern.spaced(text))
    }

    /// Whether any word of `text` (lower-cased, split at non-alphanumerics and camelCase
    /// humps) satisfies `test`; stops at the first that does, and builds no array: it runs
    /// for every finding of every action.
    /// With `lengths` (see `wordLengths`), only words of those lengths are tested. Words are
    /// read in place and made into strings only when tested.
    static func anyWord(of text: String, lengths: UInt64 = ~0, _ test: (String) -> Bool) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            var start = 0
            var previousLower = false
            /// Tests the word `bytes[start..<end]` (letters and digits only), lower-cased.
            func tested(_ end: Int) -> Bool {
                let count = end - start
                guard count > 0 else { return false }
                if count < 64, lengths & (1 << UInt64(count)) == 0 { return false }
                let word = String(unsafeUninitializedCapacity: count) { buffer in
                    for k in 0..<count {
                        let b = bytes[start + k]
                        buffer[k] = b >= 0x41 && b <= 0x5A ? b + 32 : b
                    }
                    return count
                }
                return test(word)
            }
            for i in bytes.indices {
                let b = bytes[i]
                let isUpper = b >= 0x41 && b <= 0x5A
                let isLower = (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39)
                if isUpper || isLower {
                    if isUpper && previousLower && i > start {
                        if tested(i) { return true }
                        start = i
                    }
                    previousLower = isLower
                } else {
                    if tested(i) { return true }
                    start = i + 1
                    previousLower = false
                }
            }
            return tested(bytes.count)
        }
    }

    /// Lower-cased words, split at non-alphanumerics and camelCase humps.
    static func words(of text: String) -> [String] {
        var out: [String] = []
        _ = anyWord(of: text) { word in
            out.append(word)
            return false
        }
        return out
    }

    static func spaced(_ text: String) -> String { words(of: text).joined(separator: " ") }
}

/// `Regex` is not declared `Sendable` on every toolchain; it is immutable once built.
struct RegexBox: @unchecked Sendable {
    let regex: Regex<AnyRegexOutput>

    init(_ pattern: String) throws { regex = try Regex(pattern) }

    func matches(_ text: String) -> Bool { text.contains(regex) }
}

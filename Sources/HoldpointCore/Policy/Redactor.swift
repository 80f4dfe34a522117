/// Takes secrets out of what agents submit before anything is stored or shown: cloud keys,
/// tokens, private keys, JWTs, bearer headers, passwords and credentials in URLs, plus the
/// policy's own `redact.patterns`. A secret becomes `‹redacted:NAME›`.
///
/// The action hash is computed over the real action before redaction
/// (`ActionRequest.redacted(by:)` keeps it), so an approval still binds to exactly what runs.
public struct Redactor: Sendable {
    /// `@unchecked`: `Regex<AnyRegexOutput>` is not marked `Sendable`, but a compiled
    /// expression is never changed after it is built here, and matching only reads it.
    public struct Pattern: @unchecked Sendable {
        public var name: String
        /// Lower-case texts one of which must occur (case-insensitively) before the pattern
        /// is tried at all: most commands hold no secret, and a substring test costs far less
        /// than a regular expression. Empty: always tried (the policy's own patterns).
        var hints: [String]
        /// When the expression has a capture group, only the group is replaced (the value
        /// of `password=…`), so the reviewer still sees which option carried a secret.
        var regex: Regex<AnyRegexOutput>
    }

    public private(set) var patterns: [Pattern]

    /// The built-in patterns, and `extra` (`(name, expression)`) after them.
    public init(extra: [(name: String, pattern: Regex<AnyRegexOutput>)] = []) {
        patterns = Self.builtIn + extra.map { Pattern(name: $0.name, hints: [], regex: $0.pattern) }
    }

    /// Compiles a policy's pattern, or says why it cannot.
    public static func compile(_ expression: String) throws -> Regex<AnyRegexOutput> {
        try Regex(expression)
    }

    static let builtIn: [Pattern] = {
        let table: [(String, [String], String)] = [
            ("private-key", ["-----begin"], #"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)"#),
            ("aws-key", ["akia", "asia"], #"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"#),
            ("aws-secret", ["aws_secret", "secret_access_key", "secretaccesskey"], #"(?i)(?:aws_secret_access_key|secret_?access_?key)\W{0,3}[=:]\s*['"]?([A-Za-z0-9/+=]{30,})"#),
            ("github-token", ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"], #"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})"#),
            ("gitlab-token", ["glpat-"], #"\bglpat-[A-Za-z0-9_\-]{20,}"#),
            ("slack-token", ["xox"], #"\bxox[abposr]-[A-Za-z0-9-]{10,}"#),
            ("api-key", ["sk-", "sk_", "rk_", "rk-"], #"\b(?:[sr]k[-_](?:live|test|proj|ant)[-_][A-Za-z0-9_\-]{10,}|sk-[A-Za-z0-9]{32,})"#),
            ("jwt", ["eyj"], #"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"#),
            ("bearer", ["bearer"], #"(?i)\bbearer\s+([A-Za-z0-9._~+/=-]{8,})"#),
            ("password", ["pass", "pwd", "secret", "token"], #"(?i)(?:--?(?:password|passwd|secret|token|api-key)[= ]|\b(?:password|passwd|pwd|secret|token|api_key|apikey)=)['"]?([^\s'"&]+)"#),
            ("url-credentials", ["://"], #"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:([^@\s/]+)@"#),
        ]
        return table.compactMap { name, hints, expression in
            // These are fixed texts, tested; a pattern the engine rejected would be dropped,
            // and the tests would say so.
            guard let regex = try? Regex(expression) else { return nil }
            return Pattern(name: name, hints: hints, regex: regex)
        }
    }()

    /// `text` with every secret replaced; unchanged when it holds none.
    public func redact(_ text: String) -> String {
        guard !text.isEmpty else { return text }
        var lower: String?
        var out = text
        for pattern in patterns {
            if !pattern.hints.isEmpty {
                let haystack = lower ?? out.lowercased()
                lower = haystack
                guard pattern.hints.contains(where: { haystack.contains($0) }) else { continue }
            }
            let replaced = replace(pattern, in: out)
            if replaced != out {
                out = replaced
                lower = nil
            }
        }
        return out
    }

    private func replace(_ pattern: Pattern, in text: String) -> String {
        let marker = "‹redacted:\(pattern.name)›"
        var result = ""
        var last = text.startIndex
        for match in text.matches(of: pattern.regex) {
            // The secret is the first capture group when there is one, else the whole match.
            let range = match.output.count > 1 ? (match.output[1].range ?? match.range) : match.range
            guard range.lowerBound >= last else { continue }
            result += text[last..<range.lowerBound]
            result += marker
            last = range.upperBound
        }
        guard last != text.startIndex || !result.isEmpty else { return text }
        result += text[last...]
        return result
    }

    /// Every string in `value`, redacted (keys are the schema's, left alone).
    public func redact(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let s): return .string(redact(s))
        case .array(let items): return .array(items.map(redact))
        case .object(let members): return .object(members.map { (key: $0.key, value: redact($0.value)) })
        default: return value
        }
    }
}

extension ActionRequest {
    /// This request with every secret redacted from what will be stored and shown. The
    /// action hash stays that of the real action: an approval binds to what runs.
    public func redacted(by redactor: Redactor) -> ActionRequest {
        let document = redactor.redact(self.document)
        guard document != self.document else { return self }
        var copy = self
        copy.realActionSHA256 = actionSHA256
        copy.document = document
        copy.command = command.map(redactor.redact)
        copy.operation = operation.map(redactor.redact)
        copy.targets = targets.map(redactor.redact)
        copy.content = content.map(redactor.redact)
        copy.summary = summary.map(redactor.redact)
        copy.reasoning = reasoning.map(redactor.redact)
        return copy
    }
}

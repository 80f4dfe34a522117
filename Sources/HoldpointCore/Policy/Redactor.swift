import Synchronization

/// Takes secrets out of what agents submit before anything is stored or shown: cloud keys,
/// tokens, private keys, JWTs, bearer headers, passwords and credentials in URLs, plus the
/// policy's own `redact.patterns`. A secret becomes `‹redacted:NAME›`.
///
/// The action hash is computed over the real action before redaction
/// (`ActionRequest.redacted(by:)` keeps it), so an approval still binds to exactly what runs.
public struct Redactor: Sendable {
    public struct Pattern: Sendable {
        public var name: String
        /// Lower-case texts one of which must occur (case-insensitively) before the pattern
        /// is tried at all: most commands hold no secret, and a substring test costs far less
        /// than a regular expression. Empty: always tried (the policy's own patterns).
        var hints: [[UInt8]]
        /// When the expression has a capture group, only the group is replaced (the value
        /// of `password=…`), so the reviewer still sees which option carried a secret.
        let expression: CompiledOnce
    }

    /// A regular expression compiled the first time it is needed: compiling the built-in
    /// ones at every start cost a hook about 4 ms, and most hooks never need one.
    final class CompiledOnce: Sendable {
        /// `@unchecked`: `Regex` is not marked `Sendable`, but a compiled expression is never
        /// changed after it is built, and matching only reads it.
        private struct Slot: @unchecked Sendable { let regex: Regex<AnyRegexOutput>? }
        private let source: String
        private let compiled: Mutex<Slot?>

        init(_ source: String) {
            self.source = source
            compiled = Mutex(nil)
        }

        init(compiled regex: Regex<AnyRegexOutput>) {
            source = ""
            compiled = Mutex(Slot(regex: regex))
        }

        /// The expression, or nil when it does not compile (the built-ins are tested).
        var regex: Regex<AnyRegexOutput>? {
            compiled.withLock { slot -> Slot in
                if let done = slot { return done }
                let made = Slot(regex: try? Regex(source))
                slot = made
                return made
            }.regex
        }
    }

    public private(set) var patterns: [Pattern]

    /// The built-in patterns, and `extra` (`(name, expression)`) after them.
    public init(extra: [(name: String, pattern: Regex<AnyRegexOutput>)] = []) {
        patterns = Self.builtIn + extra.map { Pattern(name: $0.name, hints: [], expression: CompiledOnce(compiled: $0.pattern)) }
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
        return table.map { name, hints, expression in Pattern(name: name, hints: hints.map { Array($0.utf8) }, expression: CompiledOnce(expression)) }
    }()

    /// `text` with every secret replaced; unchanged when it holds none.
    public func redact(_ text: String) -> String {
        guard !text.isEmpty else { return text }
        var lower: [UInt8]?
        var out = text
        for pattern in patterns {
            if !pattern.hints.isEmpty {
                let haystack = lower ?? Self.asciiLowercased(out)
                lower = haystack
                guard pattern.hints.contains(where: { Self.find($0, in: haystack) }) else { continue }
            }
            let replaced = replace(pattern, in: out)
            if replaced != out {
                out = replaced
                lower = nil
            }
        }
        return out
    }

    /// The UTF-8 bytes of `text`, ASCII letters lower-cased (the hints are ASCII).
    private static func asciiLowercased(_ text: String) -> [UInt8] {
        text.utf8.map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }
    }

    /// Whether `needle` occurs in `haystack` (a plain scan: hints are a few bytes long).
    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Bool {
        guard let first = needle.first, needle.count <= haystack.count else { return false }
        var i = 0
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first {
                var j = 1
                while j < needle.count && haystack[i + j] == needle[j] { j += 1 }
                if j == needle.count { return true }
            }
            i += 1
        }
        return false
    }

    private func replace(_ pattern: Pattern, in text: String) -> String {
        guard let regex = pattern.expression.regex else { return text }
        let marker = "‹redacted:\(pattern.name)›"
        var result = ""
        var last = text.startIndex
        for match in text.matches(of: regex) {
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

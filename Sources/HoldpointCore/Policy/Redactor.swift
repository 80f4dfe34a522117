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
        /// Lower-case texts every match contains (case-insensitively), one of them near its
        /// start (see `Anchor`). Empty: the expression is run over the whole text (the
        /// policy's own patterns).
        var hints: [[UInt8]]
        /// Where a match can begin, relative to a hint: the expression is only tried there.
        var anchor: Anchor
        /// When the expression has a capture group, only the group is replaced (the value
        /// of `password=…`), so the reviewer still sees which option carried a secret.
        let expression: CompiledOnce
    }

    /// Where a built-in pattern's match begins, relative to a hint found in the text.
    ///
    /// Run over a whole text, a regular expression is tried at every position, and Swift's
    /// engine costs thousands of instructions a byte once a hint occurs anywhere: a line of
    /// 40,000 `token=N` took a second. Tried only where a match can begin (a byte in `starts`,
    /// at most `lead` bytes before a hint, or at the start of a URL's scheme before `://`),
    /// the work follows the secrets, not the length of the text.
    ///
    /// A match begins where the text before it does not run on into it: not right after a
    /// letter or digit (nor, for a JWT, after `_` or `-`, which its parts are made of). That
    /// is also what keeps the work linear: a failed try reads on through such a run, and a
    /// place inside the run is never tried again. It replaces the expressions' `\b`, which in
    /// Swift is a Unicode word boundary and let `auth.password=…`, `DB_PASSWORD=…` and
    /// `a:token=…` through (a `.`, `_`, `:` or `'` joins words there).
    struct Anchor: Sendable {
        /// How many bytes before a hint a match may begin (`--password`: 2).
        var lead = 0
        /// Instead of `lead`: the start of the URL scheme that runs up to `://` (`git+ssh://`).
        var scheme = false
        /// The bytes (lower-cased) a match can begin with.
        var starts: [UInt8]
        /// Whether a byte before a place makes it the middle of a word, not a beginning.
        private var continues = [Bool](repeating: false, count: 256)

        init(lead: Int = 0, scheme: Bool = false, starts: String, notAfter: String = Anchor.lettersAndDigits) {
            self.lead = lead
            self.scheme = scheme
            self.starts = Array(starts.utf8)
            for byte in notAfter.utf8 { continues[Int(byte)] = true }
        }

        static let lettersAndDigits = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

        /// Whether a match may begin at `position` of `bytes` (lower-cased or not: the tables
        /// hold both cases where it matters).
        func mayBegin(at position: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Bool {
            starts.contains(bytes[position]) && (position == 0 || !continues[Int(bytes[position - 1])])
        }
    }

    /// A regular expression compiled the first time it is needed: compiling the built-in
    /// ones at every start cost a hook about 4 ms, and most hooks never need one.
    final class CompiledOnce: Sendable {
        /// `@unchecked`: `Regex` is not marked `Sendable`, but a compiled expression is never
        /// changed after it is built, and matching only reads it.
        private struct Slot: @unchecked Sendable { let regex: Regex<AnyRegexOutput>? }
        /// The expression's text ("" when it was given compiled).
        let source: String
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
        patterns = Self.builtIn + extra.map { Pattern(name: $0.name, hints: [], anchor: Anchor(starts: ""), expression: CompiledOnce(compiled: $0.pattern)) }
    }

    /// Compiles a policy's pattern, or says why it cannot.
    public static func compile(_ expression: String) throws -> Regex<AnyRegexOutput> {
        try Regex(expression)
    }

    static let builtIn: [Pattern] = {
        let table: [(String, [String], Anchor, String)] = [
            ("private-key", ["-----begin"], Anchor(starts: "-", notAfter: ""), #"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)"#),
            ("aws-key", ["akia", "asia"], Anchor(starts: "a"), #"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"#),
            ("aws-secret", ["secret"], Anchor(lead: 4, starts: "as", notAfter: ""), #"(?i)(?:aws_secret_access_key|secret_?access_?key)\W{0,3}[=:]\s*['"]?([A-Za-z0-9/+=]{30,})"#),
            ("github-token", ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"], Anchor(starts: "g"), #"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})"#),
            ("gitlab-token", ["glpat-"], Anchor(starts: "g"), #"\bglpat-[A-Za-z0-9_\-]{20,}"#),
            ("slack-token", ["xox"], Anchor(starts: "x"), #"\bxox[abposr]-[A-Za-z0-9-]{10,}"#),
            ("api-key", ["sk-", "sk_", "rk_", "rk-"], Anchor(starts: "sr"), #"\b(?:[sr]k[-_](?:live|test|proj|ant)[-_][A-Za-z0-9_\-]{10,}|sk-[A-Za-z0-9]{32,})"#),
            ("jwt", ["eyj"], Anchor(starts: "e", notAfter: Anchor.lettersAndDigits + "_-"), #"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"#),
            ("bearer", ["bearer"], Anchor(starts: "b"), #"(?i)\bbearer\s+([A-Za-z0-9._~+/=-]{8,})"#),
            (
                "password", ["pass", "pwd", "secret", "token", "api-key", "api_key", "apikey"], Anchor(lead: 2, starts: "-psta"),
                #"(?i)(?:--?(?:password|passwd|secret|token|api-key)[= ]|\b(?:password|passwd|pwd|secret|token|api_key|apikey)=)['"]?([^\s'"&]+)"#
            ),
            ("url-credentials", ["://"], Anchor(scheme: true, starts: "abcdefghijklmnopqrstuvwxyz"), #"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:([^@\s/]+)@"#),
        ]
        return table.map { name, hints, anchor, expression in
            Pattern(name: name, hints: hints.map { Array($0.utf8) }, anchor: anchor, expression: CompiledOnce(expression))
        }
    }()

    /// `text` with every secret replaced; unchanged when it holds none.
    public func redact(_ text: String) -> String {
        guard !text.isEmpty else { return text }
        var lower: [UInt8]?
        var out = text
        var attempts = Self.maximumAttempts
        for pattern in patterns {
            let replaced: String
            if pattern.hints.isEmpty {
                replaced = replaceEverywhere(pattern, in: out)
            } else {
                let haystack = lower ?? Self.asciiLowercased(out)
                lower = haystack
                let starts = Self.matchStarts(of: pattern, in: haystack)
                // Most commands hold no secret: no hint, no expression.
                guard !starts.isEmpty else { continue }
                replaced = replace(pattern, in: out, tryingAt: starts, attempts: &attempts)
            }
            if replaced != out {
                out = replaced
                lower = nil
            }
        }
        return out
    }

    /// How many places of one text the built-in expressions are tried at. Each try costs
    /// microseconds in Swift's engine, and a text of the request limit can hold 300,000
    /// places a secret could begin (`eyJeyJ…`, `bearer bearer …`); past this many, the rest
    /// of the text is withheld (`‹redacted:unchecked›`) rather than stored or shown unchecked.
    /// Thousands of secrets in one request is no request a reviewer reads.
    static let maximumAttempts = 4_096

    /// The UTF-8 bytes of `text`, ASCII letters lower-cased (the hints are ASCII).
    private static func asciiLowercased(_ text: String) -> [UInt8] {
        text.utf8.map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }
    }

    /// The byte offsets, in order, at which a match of `pattern` can begin: near each
    /// occurrence of one of its hints, on a byte a match begins with.
    static func matchStarts(of pattern: Pattern, in haystack: [UInt8]) -> [Int] {
        let anchor = pattern.anchor
        var starts: [Int] = []
        haystack.withUnsafeBufferPointer { bytes in
            for hint in pattern.hints {
                hint.withUnsafeBufferPointer { pin in
                    var from = 0
                    while let at = bytes.firstOccurrence(of: pin, from: from) {
                        if anchor.scheme {
                            // The first place in the scheme a match may begin: tried from
                            // there, a URL fails or matches whatever later letter it is tried at.
                            var first = at
                            while first > 0, isSchemeByte(bytes[first - 1]) { first -= 1 }
                            if let begin = (first..<at).first(where: { anchor.mayBegin(at: $0, in: bytes) }) { starts.append(begin) }
                        } else {
                            for position in max(0, at - anchor.lead)...at where anchor.mayBegin(at: position, in: bytes) {
                                starts.append(position)
                            }
                        }
                        from = at + 1
                    }
                }
            }
        }
        // Hints overlap (`pass` in `password`) and several may be found: each start once.
        starts.sort()
        var unique: [Int] = []
        unique.reserveCapacity(starts.count)
        for start in starts where start != unique.last { unique.append(start) }
        return unique
    }

    /// `[a-z0-9+.-]`: what a URL's scheme is made of (lower-cased).
    private static func isSchemeByte(_ byte: UInt8) -> Bool {
        (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
    }

    /// `text` with the matches of `pattern` that begin at `offsets` (UTF-8 offsets, in order)
    /// replaced, left to right and never overlapping, as a search of the whole text finds them.
    private func replace(_ pattern: Pattern, in text: String, tryingAt offsets: [Int], attempts: inout Int) -> String {
        guard let regex = pattern.expression.regex else { return text }
        var rewrite = Rewrite(text, name: pattern.name)
        var searchFrom = text.startIndex  // matches do not overlap
        var index = text.startIndex
        var offset = 0
        for start in offsets {
            // Offsets are of ASCII bytes (`starts`), so each is a scalar boundary.
            index = text.utf8.index(index, offsetBy: start - offset)
            offset = start
            guard index >= searchFrom else { continue }
            // Out of tries: what is left is withheld, not shown unchecked.
            guard attempts > 0 else { return rewrite.withheld(from: index) }
            attempts -= 1
            guard let match = text[index...].prefixMatch(of: regex) else { continue }
            searchFrom = match.range.upperBound
            rewrite.replace(match)
        }
        return rewrite.finished
    }

    /// The policy's own patterns, which carry no hints: searched for over the whole text.
    private func replaceEverywhere(_ pattern: Pattern, in text: String) -> String {
        guard let regex = pattern.expression.regex else { return text }
        var rewrite = Rewrite(text, name: pattern.name)
        for match in text.matches(of: regex) { rewrite.replace(match) }
        return rewrite.finished
    }

    /// A text rebuilt left to right with one pattern's secrets replaced by its marker.
    private struct Rewrite {
        let text: String
        let marker: String
        var result = ""
        /// The text before this is in `result`.
        var copied: String.Index

        init(_ text: String, name: String) {
            self.text = text
            marker = "‹redacted:\(name)›"
            copied = text.startIndex
        }

        /// Replaces the secret of `match`: its first capture group when it has one (the value
        /// of `password=…`, so the reviewer still sees which option carried it), else all of it.
        mutating func replace(_ match: Regex<AnyRegexOutput>.Match) {
            let range = match.output.count > 1 ? (match.output[1].range ?? match.range) : match.range
            guard range.lowerBound >= copied else { return }
            result += text[copied..<range.lowerBound]
            result += marker
            copied = range.upperBound
        }

        /// What is done so far, and the rest of the text from `index` withheld.
        func withheld(from index: String.Index) -> String {
            result + text[copied..<index] + "‹redacted:unchecked›"
        }

        var finished: String {
            copied == text.startIndex && result.isEmpty ? text : result + text[copied...]
        }
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

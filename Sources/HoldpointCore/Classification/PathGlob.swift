/// A path the shell expands before the program runs (`~/.ssh/*`, `/etc/shado?`,
/// `/e*/[s]hadow`, `~/.{ssh,aws}/*`), asked whether it could name one of the credential
/// files: `cat ~/.ssh/*` reads the private keys as surely as `cat ~/.ssh/id_rsa`.
///
/// Matched as the shell would, one path segment at a time: `*` and `?` stay within a
/// segment and do not match a leading dot, `[…]` is a set of characters, `{a,b}` gives
/// alternatives. A pattern made only of wildcards and dots names nothing in particular
/// (`cat *`, `cat */*`, `'.*'`): only segments that hold a literal character can name a
/// credential, and only a pattern with a `/` is taken for a path (a bare one is checked
/// against whole file names: `*.tfstate`).
enum PathGlob {
    /// Off for a line with more patterns than `budget` (ShellAnalyzer): checking one costs
    /// microseconds, and a line of the 1 MiB limit could hold tens of thousands.
    @TaskLocal static var isEnabled = true
    static let budget = 64

    /// A word the credential check would expand as a pattern: it could be a path (it has a
    /// `/` or a `.`) and has a character the shell expands.
    static func isPathPattern(_ text: String) -> Bool {
        var pathLike = false
        var meta = false
        for byte in text.utf8 {
            if byte == UInt8(ascii: "/") || byte == UInt8(ascii: ".") { pathLike = true }
            if byte == UInt8(ascii: "*") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "{") { meta = true }
            if pathLike && meta { return true }
        }
        return false
    }

    /// Whether the word holds a character the shell expands in a path.
    /// (Over the word's buffer when it has one: byte by byte through the view, this scan
    /// of every line and path-like word was 3% of a classification.)
    static func hasMeta(_ text: Substring) -> Bool {
        text.utf8.withContiguousStorageIfAvailable { hasMeta(in: $0) } ?? hasMeta(in: text.utf8)
    }

    private static func hasMeta<Bytes: Sequence<UInt8>>(in bytes: Bytes) -> Bool {
        bytes.contains { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "[") || $0 == UInt8(ascii: "{") }
    }

    /// Whether some file the pattern could expand to is a credential (SensitivePaths).
    static func mayNameCredential(_ pattern: Substring) -> Bool {
        let bytes = Array(pattern.utf8)
        // Code and prose, not a path: a one-liner's text has spaces, parentheses, quotes.
        if bytes.contains(where: { notInPaths.contains($0) }) { return false }
        // Longer than any path the kernel opens, or deeper than any real tree: taken to name
        // one (checking it would cost more than it could be worth; no real path is missed).
        if bytes.count > maximumLength { return true }
        let alternatives = bytes.contains(UInt8(ascii: "{")) ? expandBraces(String(pattern)).map { Array($0.utf8) } : [bytes]
        for alternative in alternatives {
            // An xargs or find placeholder stands for any name.
            let segments = alternative.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true).map { $0.elementsEqual("{}".utf8) ? Array("*".utf8) : Array($0) }
            guard let last = segments.last else { continue }
            if segments.count > maximumSegments { return true }
            if hasLiteral(last), targets.names.contains(where: { matches(last, $0) }) { return true }
            // Without a `/` a word is a pattern of some other kind far more often than a path
            // (`'.*'` is a regular expression): only whole file names are looked for.
            guard alternative.contains(UInt8(ascii: "/")) else { continue }
            if targets.endings.contains(where: { endsWith(segments, $0) }) { return true }
            if targets.parts.contains(where: { contains(segments, $0) }) { return true }
        }
        return false
    }

    /// PATH_MAX, and a depth no real tree reaches.
    static let maximumLength = 4_096
    static let maximumSegments = 64
    static let notInPaths: ByteSet = {
        var set = ByteSet()
        for byte in " \t\n();\"'`".utf8 { set.insert(byte) }
        return set
    }()

    // MARK: - What is looked for

    private struct Targets {
        /// Path endings, as segments (`/.aws/credentials` is `.aws`, `credentials`).
        var endings: [[[UInt8]]] = []
        /// Path parts, as segments; the last one a prefix when the part does not end in `/`
        /// (`/.ssh/id_` is `.ssh` and a name starting `id_`), and a segment required after
        /// it when it does (`/run/secrets/`).
        var parts: [(segments: [[UInt8]], lastIsPrefix: Bool)] = []
        /// Whole file names (`id_rsa`, `terraform.tfstate`).
        var names: [[UInt8]] = []
    }

    private static let targets: Targets = {
        var targets = Targets()
        func segments(_ text: String) -> [[UInt8]] { text.split(separator: "/").map { Array($0.utf8) } }
        targets.endings = SensitivePaths.credentialEndings.map(segments)
        targets.parts = SensitivePaths.credentialParts.map { part in
            part.hasSuffix("/") ? (segments(part) + [[]], false) : (segments(part), true)
        }
        targets.names = SensitivePaths.credentialNames.map { Array($0.utf8) }
        return targets
    }()

    /// The pattern's last segments match the ending's, and hold a literal character.
    private static func endsWith(_ segments: [[UInt8]], _ ending: [[UInt8]]) -> Bool {
        guard segments.count >= ending.count else { return false }
        let tail = segments.suffix(ending.count)
        guard tail.contains(where: hasLiteral) else { return false }
        return zip(tail, ending).allSatisfy { matches($0, $1) }
    }

    /// Some run of the pattern's segments matches the part's.
    private static func contains(_ segments: [[UInt8]], _ part: (segments: [[UInt8]], lastIsPrefix: Bool)) -> Bool {
        let count = part.segments.count
        guard segments.count >= count else { return false }
        for start in 0...(segments.count - count) {
            let run = segments[start..<(start + count)]
            guard run.contains(where: hasLiteral) else { continue }
            let matched = zip(run, part.segments).enumerated().allSatisfy { index, pair in
                let (pattern, target) = pair
                if index == count - 1 {
                    // `/run/secrets/` ends in an empty segment: any name after it.
                    if target.isEmpty { return true }
                    if part.lastIsPrefix { return matches(pattern, target + Array("x".utf8)) || matches(pattern, target) }
                }
                return matches(pattern, target)
            }
            if matched { return true }
        }
        return false
    }

    private static func hasLiteral(_ segment: [UInt8]) -> Bool {
        var inSet = false
        for byte in segment {
            switch byte {
            case UInt8(ascii: "["): inSet = true
            case UInt8(ascii: "]"): inSet = false
            // A dot names nothing alone: `.*` is every hidden file.
            case UInt8(ascii: "*"), UInt8(ascii: "?"), UInt8(ascii: "."): continue
            default: if !inSet { return true }
            }
        }
        return false
    }

    // MARK: - One segment

    /// `pattern` matches the whole of `name`: `*`, `?`, `[set]`, `[!set]`, `[a-z]`; a
    /// leading dot only matched by a dot.
    static func matches(_ pattern: [UInt8], _ name: [UInt8]) -> Bool {
        if name.first == UInt8(ascii: "."), pattern.first != UInt8(ascii: ".") { return false }
        return match(pattern[...], name[...])
    }

    private static func match(_ pattern: ArraySlice<UInt8>, _ name: ArraySlice<UInt8>) -> Bool {
        var p = pattern.startIndex
        var n = name.startIndex
        // The last `*` seen, and where in the name it was tried from: backtracking is
        // linear in the name for each star, so a hostile pattern stays cheap.
        var star: (pattern: Int, name: Int)?
        while n < name.endIndex {
            if p < pattern.endIndex {
                let byte = pattern[p]
                if byte == UInt8(ascii: "*") {
                    star = (p, n)
                    p += 1
                    continue
                }
                if byte == UInt8(ascii: "?") {
                    p += 1
                    n += 1
                    continue
                }
                if byte == UInt8(ascii: "["), let (inSet, next) = set(pattern, at: p, byte: name[n]) {
                    if inSet {
                        p = next
                        n += 1
                        continue
                    }
                } else if byte == name[n] {
                    p += 1
                    n += 1
                    continue
                }
            }
            guard let last = star else { return false }
            star = (last.pattern, last.name + 1)
            p = last.pattern + 1
            n = last.name + 1
        }
        while p < pattern.endIndex, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.endIndex
    }

    /// Whether `byte` is in the set that opens at `start`, and where the pattern goes on;
    /// nil when the `[` opens no set (no closing `]`).
    private static func set(_ pattern: ArraySlice<UInt8>, at start: Int, byte: UInt8) -> (Bool, Int)? {
        var i = start + 1
        var negated = false
        if i < pattern.endIndex, pattern[i] == UInt8(ascii: "!") || pattern[i] == UInt8(ascii: "^") {
            negated = true
            i += 1
        }
        var found = false
        var first = true
        while i < pattern.endIndex {
            let c = pattern[i]
            if c == UInt8(ascii: "]"), !first { return (found != negated, i + 1) }
            first = false
            if i + 2 < pattern.endIndex, pattern[i + 1] == UInt8(ascii: "-"), pattern[i + 2] != UInt8(ascii: "]") {
                if byte >= c && byte <= pattern[i + 2] { found = true }
                i += 3
            } else {
                if byte == c { found = true }
                i += 1
            }
        }
        return nil
    }

    // MARK: - Braces

    /// `~/.{ssh,aws}/*` is `~/.ssh/*` and `~/.aws/*`; at most `limit` alternatives (a
    /// pattern that expands to more is judged by the first ones).
    static func expandBraces(_ text: String, limit: Int = 64) -> [String] {
        var results: [String] = []
        var pending = [text]
        while let current = pending.popLast() {
            guard results.count + pending.count < limit, let (open, close, options) = firstBraceGroup(current) else {
                results.append(current)
                continue
            }
            let prefix = current[..<open]
            let suffix = current[current.index(after: close)...]
            for option in options.reversed() { pending.append(String(prefix) + String(option) + String(suffix)) }
        }
        return Array(results.prefix(limit))
    }

    /// The first `{a,b}` group with a comma at its own level.
    private static func firstBraceGroup(_ text: String) -> (String.Index, String.Index, [Substring])? {
        var index = text.startIndex
        while let open = text[index...].firstIndex(of: "{") {
            var depth = 0
            var commas: [String.Index] = []
            var i = open
            while i < text.endIndex {
                let c = text[i]
                if c == "{" { depth += 1 }
                if c == "}" {
                    depth -= 1
                    if depth == 0 { break }
                }
                if c == ",", depth == 1 { commas.append(i) }
                i = text.index(after: i)
            }
            guard i < text.endIndex else { return nil }
            if !commas.isEmpty {
                var options: [Substring] = []
                var start = text.index(after: open)
                for comma in commas {
                    options.append(text[start..<comma])
                    start = text.index(after: comma)
                }
                options.append(text[start..<i])
                return (open, i, options)
            }
            index = text.index(after: open)
        }
        return nil
    }
}

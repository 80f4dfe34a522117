/// A shell-style pattern with `|` alternatives: `delete-*|terminate-*`, `/etc*`, `ns|namespace`.
///
/// Patterns in rule packs are globs rather than regular expressions on purpose: they are
/// what operators already read fluently, and they match in a few nanoseconds, which keeps
/// a whole classification within the microsecond budget.
///
/// A class, immutable once made: rules are matched by reading their globs in place, and as
/// a struct a glob was copied (two retains and two releases) at every match attempt.
public final class Glob: Sendable, Equatable, CustomStringConvertible {
    /// Every alternative's pattern units, one after another: a header (the alternative's
    /// length, plus `wildcardFlag` when it holds `*` or `?`), then its units, each a byte
    /// (0…255), `anyRun` (`*`) or `anyOne` (`?`). One array, not one per alternative: the
    /// built-in rules make some 500 globs at every start-up, and matching one alternative
    /// without a wildcard is a length check and a byte comparison.
    private let units: [Int32]
    /// Some alternative is only `*`s: every text matches (`subcommand: ["*", "delete-*"]`).
    private let matchesEverything: Bool
    /// The bytes a matching text can start with; all of them when an alternative starts
    /// with a wildcard. Rules list dozens of globs (`/bin*`, `/boot*`, …) and most texts are
    /// turned away by this one test.
    private let firstBytes: ByteSet
    public let caseInsensitive: Bool
    public let description: String

    static let anyRun: Int32 = -1
    static let anyOne: Int32 = -2
    /// Above any length an alternative can have: a billion bytes.
    private static let wildcardFlag: Int32 = 0x4000_0000

    /// `\*`, `\?` and `\|` stand for the characters themselves, so a rule can name the
    /// literal argument `/*` (what `rm -rf /*` passes when the glob did not expand).
    public init(_ pattern: String, caseInsensitive: Bool = false) {
        self.description = pattern
        self.caseInsensitive = caseInsensitive
        var units: [Int32] = [0]
        units.reserveCapacity(pattern.utf8.count + 2)
        var header = 0
        var escaped = false
        func close() {
            units[header] = Int32(truncatingIfNeeded: units.count - header - 1) | (units[header] & Glob.wildcardFlag)
        }
        for byte in pattern.utf8 {
            let b = caseInsensitive ? Glob.lower(byte) : byte
            if escaped {
                units.append(Int32(b))
                escaped = false
                continue
            }
            switch b {
            case UInt8(ascii: "\\"): escaped = true
            case UInt8(ascii: "|"):
                close()
                header = units.count
                units.append(0)
            case UInt8(ascii: "*"):
                units.append(Glob.anyRun)
                units[header] |= Glob.wildcardFlag
            case UInt8(ascii: "?"):
                units.append(Glob.anyOne)
                units[header] |= Glob.wildcardFlag
            default: units.append(Int32(b))
            }
        }
        close()
        self.units = units
        var matchesEverything = false
        var firstBytes = ByteSet()
        var start = 0
        while start < units.count {
            let length = Int(units[start] & ~Glob.wildcardFlag)
            let alternative = units[(start + 1)..<(start + 1 + length)]
            if !alternative.isEmpty && alternative.allSatisfy({ $0 == Glob.anyRun }) { matchesEverything = true }
            if let first = alternative.first {
                if first < 0 {
                    firstBytes = .all
                } else {
                    firstBytes.insert(UInt8(first))
                    // Case-insensitive patterns are lower-cased; texts are lowered as they are compared.
                    if caseInsensitive, first >= 0x61, first <= 0x7A { firstBytes.insert(UInt8(first) - 32) }
                }
            }
            start += 1 + length
        }
        self.matchesEverything = matchesEverything
        self.firstBytes = firstBytes
    }

    /// The texts this glob matches, when it matches only fixed texts (no `*` or `?`, case
    /// sensitive); otherwise nil. Lets rules be indexed by the word they need.
    var literalAlternatives: [String]? {
        guard !caseInsensitive else { return nil }
        var texts: [String] = []
        var header = 0
        while header < units.count {
            if units[header] & Glob.wildcardFlag != 0 { return nil }
            let length = Int(units[header])
            texts.append(String(decoding: units[(header + 1)..<(header + 1 + length)].map { UInt8(truncatingIfNeeded: $0) }, as: UTF8.self))
            header += 1 + length
        }
        return texts
    }

    /// Two globs are equal when they are the same pattern (what else they hold is derived).
    public static func == (lhs: Glob, rhs: Glob) -> Bool {
        lhs.units == rhs.units && lhs.caseInsensitive == rhs.caseInsensitive && lhs.description == rhs.description
    }

    @inline(__always)
    static func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b + 32 : b }

    public func matches(_ text: String) -> Bool {
        if matchesEverything { return true }
        // An empty text can only match an empty alternative: left to the full comparison.
        if let first = text.utf8.first, !firstBytes.contains(first) { return false }
        // The closures capture only what they use: capturing `self` copied the glob.
        let caseInsensitive = self.caseInsensitive
        return units.withUnsafeBufferPointer { units in
            var text = text
            return text.withUTF8 { bytes in Glob.matches(units, bytes, caseInsensitive) }
        }
    }

    private static func matches(_ units: UnsafeBufferPointer<Int32>, _ bytes: UnsafeBufferPointer<UInt8>, _ caseInsensitive: Bool) -> Bool {
        var header = 0
        while header < units.count {
            let length = Int(units[header] & ~wildcardFlag)
            let alternative = UnsafeBufferPointer(rebasing: units[(header + 1)..<(header + 1 + length)])
            if units[header] & wildcardFlag != 0 {
                if wildcardMatch(alternative, bytes, caseInsensitive) { return true }
            } else if length == bytes.count, equal(alternative, bytes, caseInsensitive) {
                return true
            }
            header += 1 + length
        }
        return false
    }

    @inline(__always)
    static func equal(_ pattern: UnsafeBufferPointer<Int32>, _ text: UnsafeBufferPointer<UInt8>, _ caseInsensitive: Bool) -> Bool {
        for j in 0..<text.count where pattern[j] != Int32(caseInsensitive ? lower(text[j]) : text[j]) {
            return false
        }
        return true
    }

    /// Iterative `*`/`?` matching with a single backtracking point: linear in practice.
    static func wildcardMatch(_ pattern: UnsafeBufferPointer<Int32>, _ text: UnsafeBufferPointer<UInt8>, _ caseInsensitive: Bool) -> Bool {
        var p = 0
        var t = 0
        var star = -1
        var mark = 0
        while t < text.count {
            let byte = Int32(caseInsensitive ? lower(text[t]) : text[t])
            if p < pattern.count && (pattern[p] == anyOne || pattern[p] == byte) {
                p += 1
                t += 1
            } else if p < pattern.count && pattern[p] == anyRun {
                star = p
                mark = t
                p += 1
            } else if star >= 0 {
                p = star + 1
                mark += 1
                t = mark
            } else {
                return false
            }
        }
        while p < pattern.count && pattern[p] == anyRun { p += 1 }
        return p == pattern.count
    }
}

extension Array where Element == Glob {
    /// Whether any of the globs matches `text`.
    public func anyMatches(_ text: String) -> Bool {
        // Through a buffer pointer: iterating the array copied each glob reference (a retain
        // and a release) for every rule tried.
        withUnsafeBufferPointer { globs in
            for i in globs.indices where globs[i].matches(text) { return true }
            return false
        }
    }
}

/// A shell-style pattern with `|` alternatives: `delete-*|terminate-*`, `/etc*`, `ns|namespace`.
///
/// Patterns in rule packs are globs rather than regular expressions on purpose: they are
/// what operators already read fluently, and they match in a few nanoseconds, which keeps
/// a whole classification within the microsecond budget.
public struct Glob: Sendable, Equatable, CustomStringConvertible {
    /// Every alternative's pattern units, one after another, each alternative ended by
    /// `endOfAlternative`: a byte (0…255), `anyRun` (`*`) or `anyOne` (`?`). One array, not
    /// one per alternative: the built-in rules make some 500 globs at every start-up.
    private let units: [Int16]
    /// Whether any alternative has a wildcard; without one, matching is comparing bytes.
    private let hasWildcard: Bool
    public let caseInsensitive: Bool
    public let description: String

    static let anyRun: Int16 = -1
    static let anyOne: Int16 = -2
    static let endOfAlternative: Int16 = -3

    /// `\*`, `\?` and `\|` stand for the characters themselves, so a rule can name the
    /// literal argument `/*` (what `rm -rf /*` passes when the glob did not expand).
    public init(_ pattern: String, caseInsensitive: Bool = false) {
        self.description = pattern
        self.caseInsensitive = caseInsensitive
        var units: [Int16] = []
        units.reserveCapacity(pattern.utf8.count + 1)
        var escaped = false
        var hasWildcard = false
        for byte in pattern.utf8 {
            let b = caseInsensitive ? Glob.lower(byte) : byte
            if escaped {
                units.append(Int16(b))
                escaped = false
                continue
            }
            switch b {
            case UInt8(ascii: "\\"): escaped = true
            case UInt8(ascii: "|"): units.append(Glob.endOfAlternative)
            case UInt8(ascii: "*"): units.append(Glob.anyRun); hasWildcard = true
            case UInt8(ascii: "?"): units.append(Glob.anyOne); hasWildcard = true
            default: units.append(Int16(b))
            }
        }
        units.append(Glob.endOfAlternative)
        self.units = units
        self.hasWildcard = hasWildcard
    }

    @inline(__always)
    static func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b + 32 : b }

    public func matches(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            units.withUnsafeBufferPointer { units in
                var start = 0
                while start < units.count {
                    var end = start
                    while units[end] != Glob.endOfAlternative { end += 1 }
                    let alternative = UnsafeBufferPointer(rebasing: units[start..<end])
                    if hasWildcard ? Glob.wildcardMatch(alternative, bytes, caseInsensitive) : Glob.equal(alternative, bytes, caseInsensitive) {
                        return true
                    }
                    start = end + 1
                }
                return false
            }
        }
    }

    @inline(__always)
    static func equal(_ pattern: UnsafeBufferPointer<Int16>, _ text: UnsafeBufferPointer<UInt8>, _ caseInsensitive: Bool) -> Bool {
        guard pattern.count == text.count else { return false }
        for j in 0..<text.count where pattern[j] != Int16(caseInsensitive ? lower(text[j]) : text[j]) {
            return false
        }
        return true
    }

    /// Iterative `*`/`?` matching with a single backtracking point: linear in practice.
    static func wildcardMatch(_ pattern: UnsafeBufferPointer<Int16>, _ text: UnsafeBufferPointer<UInt8>, _ caseInsensitive: Bool) -> Bool {
        var p = 0
        var t = 0
        var star = -1
        var mark = 0
        while t < text.count {
            let byte = Int16(caseInsensitive ? lower(text[t]) : text[t])
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

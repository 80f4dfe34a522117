/// A shell-style pattern with `|` alternatives: `delete-*|terminate-*`, `/etc*`, `ns|namespace`.
///
/// Patterns in rule packs are globs rather than regular expressions on purpose: they are
/// what operators already read fluently, and they match in a few nanoseconds, which keeps
/// a whole classification within the microsecond budget.
public struct Glob: Sendable, Equatable, CustomStringConvertible {
    /// Each alternative as pattern units: a byte (0…255), `anyRun` (`*`) or `anyOne` (`?`).
    private let alternatives: [[Int16]]
    private let hasWildcard: [Bool]
    public let caseInsensitive: Bool
    public let description: String

    static let anyRun: Int16 = -1
    static let anyOne: Int16 = -2

    /// `\*`, `\?` and `\|` stand for the characters themselves, so a rule can name the
    /// literal argument `/*` (what `rm -rf /*` passes when the glob did not expand).
    public init(_ pattern: String, caseInsensitive: Bool = false) {
        self.description = pattern
        self.caseInsensitive = caseInsensitive
        var alternatives: [[Int16]] = [[]]
        var escaped = false
        for byte in pattern.utf8 {
            let b = caseInsensitive ? Glob.lower(byte) : byte
            if escaped {
                alternatives[alternatives.count - 1].append(Int16(b))
                escaped = false
                continue
            }
            switch b {
            case UInt8(ascii: "\\"): escaped = true
            case UInt8(ascii: "|"): alternatives.append([])
            case UInt8(ascii: "*"): alternatives[alternatives.count - 1].append(Glob.anyRun)
            case UInt8(ascii: "?"): alternatives[alternatives.count - 1].append(Glob.anyOne)
            default: alternatives[alternatives.count - 1].append(Int16(b))
            }
        }
        self.alternatives = alternatives
        self.hasWildcard = alternatives.map { $0.contains { $0 < 0 } }
    }

    @inline(__always)
    static func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b + 32 : b }

    public func matches(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            for (i, alternative) in alternatives.enumerated() {
                if hasWildcard[i] {
                    if Glob.wildcardMatch(alternative, bytes, caseInsensitive) { return true }
                } else if alternative.count == bytes.count {
                    var equal = true
                    for j in 0..<bytes.count where alternative[j] != Int16(caseInsensitive ? Glob.lower(bytes[j]) : bytes[j]) {
                        equal = false
                        break
                    }
                    if equal { return true }
                }
            }
            return false
        }
    }

    /// Iterative `*`/`?` matching with a single backtracking point: linear in practice.
    static func wildcardMatch(_ pattern: [Int16], _ text: UnsafeBufferPointer<UInt8>, _ caseInsensitive: Bool) -> Bool {
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

import Foundation
import HoldpointCore

/// Output helpers: text to stdout, diagnostics to stderr, color only for a terminal that
/// wants it (`NO_COLOR` unset, `TERM` not dumb). Agent text goes through `SafeText` first.
enum Terminal {
    // The throwing writes: `write(_:)` traps on an error, and a reader that went away
    // (`holdpoint list | head -1` where SIGPIPE is ignored) is no reason to crash.
    static func error(_ message: String) {
        try? FileHandle.standardError.write(contentsOf: Data(("holdpoint: " + message + "\n").utf8))
    }

    static func print(_ text: String, terminator: String = "\n") {
        try? FileHandle.standardOutput.write(contentsOf: Data((text + terminator).utf8))
    }

    static let colorEnabled: Bool = {
        if Environment.value("NO_COLOR") != nil { return false }
        if Environment.value("TERM") == "dumb" { return false }
        return isatty(STDOUT_FILENO) == 1
    }()

    static func styled(_ text: String, _ code: String) -> String {
        colorEnabled ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    static func tierLabel(_ tier: Tier) -> String {
        switch tier {
        case .autonomous: return styled("autonomous", "32")
        case .supervised: return styled("supervised", "36")
        case .gated: return styled("gated", "1;33")
        case .blocked: return styled("blocked", "1;31")
        }
    }

    /// `text` cut to `width` characters, the last of them `…` when anything was cut.
    static func shorten(_ text: String, _ width: Int) -> String {
        text.count <= width ? text : String(text.prefix(max(0, width - 1))) + "…"
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    /// `text` right-aligned in `width` columns (numbers in a column).
    static func padLeft(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }

    /// Every rule that fired, one per line: tier, rule id and message in aligned columns
    /// (`check` and `submit` print the same table).
    static func ruleLines(_ reasons: [Reason], indent: String = "    ") -> [String] {
        let width = min(32, reasons.map(\.rule.count).max() ?? 0)
        return reasons.map { "\(indent)\(pad($0.tier.rawValue, 10)) \(pad($0.rule, width))  \(SafeText.escape($0.message))" }
    }

    /// Reads standard input up to `limit` bytes; one byte more means the input is too large.
    static func readStandardInput(limit: Int) throws -> [UInt8] {
        var bytes: [UInt8] = []
        let handle = FileHandle.standardInput
        while bytes.count <= limit {
            guard let chunk = try handle.read(upToCount: 65536), !chunk.isEmpty else { break }
            bytes.append(contentsOf: chunk)
        }
        return bytes
    }
}

import Foundation
import Yams

/// One problem in a configuration file, located to the line and column.
public struct ConfigIssue: Error, Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int
    public let message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String { "\(file):\(line):\(column): \(message)" }
}

/// Every problem found in a configuration file. Loading never stops at the first one,
/// so `policy lint` can list them all in one pass.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public let issues: [ConfigIssue]

    public init(issues: [ConfigIssue]) { self.issues = issues }

    public var description: String { issues.map(\.description).joined(separator: "\n") }
}

/// Walks a composed YAML tree, reading typed values and recording a located issue for
/// every value of the wrong shape instead of throwing at the first.
public final class YAMLWalker {
    public let file: String
    public private(set) var issues: [ConfigIssue] = []

    public init(file: String) { self.file = file }

    /// Parses YAML text to a node tree; a syntax error becomes a located issue.
    public func compose(_ text: String) -> Node? {
        do {
            // The basic resolver: every scalar stays a string (the walker types it), and no
            // per-scalar regular expressions run, which made loading ~10x slower. The
            // encoding is given because its default reads the whole process environment
            // on every parse.
            return try Yams.compose(yaml: text, .basic, .default, .utf8)
        } catch let error as YamlError {
            switch error {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
                issues.append(ConfigIssue(file: file, line: mark.line, column: mark.column, message: "YAML syntax: \(problem)"))
            case .duplicatedKeysInMapping(let duplicates, let context):
                issues.append(ConfigIssue(file: file, line: context.mark.line, column: context.mark.column, message: "duplicate key: \(duplicates.joined(separator: ", "))"))
            default:
                issues.append(ConfigIssue(file: file, line: 1, column: 1, message: "YAML: \(error)"))
            }
            return nil
        } catch {
            issues.append(ConfigIssue(file: file, line: 1, column: 1, message: "YAML: \(error)"))
            return nil
        }
    }

    public func fail(_ node: Node?, _ message: String) {
        let mark = node?.mark
        issues.append(ConfigIssue(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, message: message))
    }

    /// The pairs of a mapping with string keys; records an issue for a non-mapping or any key
    /// outside `allowed` (a misspelt key in a safety policy must not be silently ignored).
    public func mapping(_ node: Node, _ context: String, allowed: Set<String>? = nil) -> [(key: String, keyNode: Node, value: Node)]? {
        guard case .mapping(let mapping) = node else {
            fail(node, "\(context): expected a mapping (key: value), got \(describe(node))")
            return nil
        }
        var pairs: [(key: String, keyNode: Node, value: Node)] = []
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode else {
                fail(keyNode, "\(context): keys must be plain strings")
                continue
            }
            if let allowed, !allowed.contains(scalar.string) {
                let known = allowed.sorted().joined(separator: ", ")
                fail(keyNode, "\(context): unknown key '\(scalar.string)' (expected one of: \(known))")
                continue
            }
            pairs.append((scalar.string, keyNode, value))
        }
        return pairs
    }

    func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let s): return "'\(s.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    public func string(_ node: Node, _ context: String) -> String? {
        guard case .scalar(let scalar) = node else {
            fail(node, "\(context): expected a string, got \(describe(node))")
            return nil
        }
        return scalar.string
    }

    func double(_ node: Node, _ context: String, minimum: Double? = nil, maximum: Double? = nil) -> Double? {
        guard case .scalar(let scalar) = node, let value = Double(scalar.string.replacingOccurrences(of: "_", with: "")), value.isFinite else {
            fail(node, "\(context): expected a number, got \(describe(node))")
            return nil
        }
        if let minimum, value < minimum {
            fail(node, "\(context): expected a number >= \(JSONWriter.formatNumber(minimum)), got \(scalar.string)")
            return nil
        }
        if let maximum, value > maximum {
            fail(node, "\(context): expected a number <= \(JSONWriter.formatNumber(maximum)), got \(scalar.string)")
            return nil
        }
        return value
    }

    func int(_ node: Node, _ context: String, minimum: Int? = nil) -> Int? {
        guard case .scalar(let scalar) = node, let value = Int(scalar.string) else {
            fail(node, "\(context): expected a whole number, got \(describe(node))")
            return nil
        }
        if let minimum, value < minimum {
            fail(node, "\(context): expected a whole number >= \(minimum), got \(value)")
            return nil
        }
        return value
    }

    public func bool(_ node: Node, _ context: String) -> Bool? {
        guard case .scalar(let scalar) = node else {
            fail(node, "\(context): expected true or false, got \(describe(node))")
            return nil
        }
        switch scalar.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            fail(node, "\(context): expected true or false, got '\(scalar.string)'")
            return nil
        }
    }

    /// A list of strings; a single string is accepted as a list of one.
    func stringList(_ node: Node, _ context: String) -> [String]? {
        switch node {
        case .scalar(let scalar):
            return [scalar.string]
        case .sequence(let sequence):
            var out: [String] = []
            for element in sequence {
                if let s = string(element, context) { out.append(s) }
            }
            return out
        default:
            fail(node, "\(context): expected a list of strings, got \(describe(node))")
            return nil
        }
    }

    func list(_ node: Node, _ context: String) -> [Node]? {
        guard case .sequence(let sequence) = node else {
            fail(node, "\(context): expected a list, got \(describe(node))")
            return nil
        }
        return Array(sequence)
    }

    /// A duration: `90` or `90s`, `15m`, `2h`, `1d`. Returns seconds.
    /// A duration such as 90s, 15m, 2h or 1d; with `allowZero`, 0 (or 0s) turns a guard off.
    func duration(_ node: Node, _ context: String, allowZero: Bool = false) -> Double? {
        guard let text = string(node, context) else { return nil }
        if allowZero, text == "0" { return 0 }
        if let seconds = Durations.parse(text), seconds > 0 || (allowZero && seconds == 0) { return seconds }
        fail(node, "\(context): expected a \(allowZero ? "" : "positive ")duration such as \(allowZero ? "0, " : "")90s, 15m, 2h or 1d, got '\(text)'")
        return nil
    }

    func tier(_ node: Node, _ context: String) -> Tier? {
        guard let text = string(node, context) else { return nil }
        guard let tier = Tier(rawValue: text) else {
            fail(node, "\(context): expected one of autonomous, supervised, gated, blocked, got '\(text)'")
            return nil
        }
        return tier
    }

    func operationClass(_ node: Node, _ context: String) -> OperationClass? {
        guard let text = string(node, context) else { return nil }
        guard let value = OperationClass(rawValue: text) else {
            let known = OperationClass.allCases.map(\.rawValue).joined(separator: ", ")
            fail(node, "\(context): unknown operation class '\(text)' (expected one of: \(known))")
            return nil
        }
        return value
    }
}

/// Human durations as the policy and the CLI write them.
public enum Durations {
    public static func parse(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let last = trimmed.last else { return nil }
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        if let unit = units[last] {
            guard let value = Double(trimmed.dropLast()), value.isFinite, value >= 0 else { return nil }
            return value * unit
        }
        guard let value = Double(trimmed), value.isFinite, value >= 0 else { return nil }
        return value
    }

    public static func format(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s % 86400 == 0 && s >= 86400 { return "\(s / 86400)d" }
        if s % 3600 == 0 && s >= 3600 { return "\(s / 3600)h" }
        if s % 60 == 0 && s >= 60 { return "\(s / 60)m" }
        return "\(s)s"
    }
}

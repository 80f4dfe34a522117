import Foundation

/// Environment names as Holdpoint compares them. An agent (or a prompt injection) that
/// writes `"Production "` or `"prod\u{200B}"` must not get a laxer verdict than
/// `production`: names are normalised once, when a request is read, and a name that is
/// *almost* a production name counts as production.
public enum EnvironmentName {
    /// Trimmed, NFKC-normalised, case-folded, without invisible characters (zero-width
    /// spaces and joiners, bidirectional controls, soft hyphens: Unicode's format category).
    public static func normalize(_ raw: String) -> String {
        // Nearly every name is short lower-case ASCII already: then nothing is copied.
        if raw.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E }) { return raw }
        let composed = raw.precomposedStringWithCompatibilityMapping
        var scalars = String.UnicodeScalarView()
        for scalar in composed.unicodeScalars where scalar.properties.generalCategory != .format && scalar.properties.generalCategory != .control {
            scalars.append(scalar)
        }
        return String(scalars).trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    /// Whether the normalised `name` is one of `production`, or almost: a production name
    /// followed by a separator or digit (`prod-eu`, `production_2`, `prd1`), or, for names of
    /// four letters or more, one edit away (`prodution`).
    public static func isProduction(_ name: String, among production: Set<String>) -> Bool {
        if production.contains(name) { return true }
        for known in production {
            if name.utf8.starts(with: known.utf8), let next = name.utf8.dropFirst(known.utf8.count).first,
                next == 0x2D || next == 0x5F || next == 0x2E || next == 0x20 || next == 0x2F || (next >= 0x30 && next <= 0x39)
            {
                return true
            }
            if known.utf8.count >= 4, abs(known.utf8.count - name.utf8.count) <= 1, editDistance(name, known, atMost: 1) <= 1 { return true }
        }
        return false
    }

    /// Levenshtein distance, given up past `atMost` (then `atMost + 1`).
    static func editDistance(_ a: String, _ b: String, atMost limit: Int) -> Int {
        let x = Array(a.unicodeScalars)
        let y = Array(b.unicodeScalars)
        var previous = Array(0...y.count)
        for i in 1...max(x.count, 1) where !x.isEmpty {
            var current = [i] + Array(repeating: 0, count: y.count)
            var best = current[0]
            for j in 1...max(y.count, 1) where !y.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
                best = min(best, current[j])
            }
            if best > limit { return limit + 1 }
            previous = current
        }
        return x.isEmpty ? y.count : previous[y.count]
    }
}

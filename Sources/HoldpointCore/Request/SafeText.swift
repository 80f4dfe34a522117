/// Makes agent-supplied text safe to show on a terminal.
///
/// Text from agents is hostile: an ANSI or OSC escape sequence could clear the
/// reviewer's screen or rewrite what they see; a bidi override can make `rm -rf /`
/// read as something else; zero-width characters hide in names. Every such character
/// is shown as a visible escape (`\e`, `\x07`, `<U+202E>`), never written raw.
public enum SafeText {
    public static func escape(_ text: String, keepNewlines: Bool = false) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if let replacement = replacement(for: scalar, keepNewlines: keepNewlines) {
                out += replacement
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Whether `text` would be changed by `escape`: a cheap check for the common case.
    public static func isClean(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { replacement(for: $0, keepNewlines: false) == nil }
    }

    static func replacement(for scalar: Unicode.Scalar, keepNewlines: Bool) -> String? {
        let v = scalar.value
        switch v {
        case 0x0A: return keepNewlines ? nil : "\\n"
        case 0x09: return "\\t"
        case 0x0D: return "\\r"
        case 0x1B: return "\\e"
        case 0x00..<0x20, 0x7F: return "\\x" + hex2(v)
        case 0x80...0x9F: return "<U+\(hex4(v))>"  // C1 controls, CSI (0x9B) among them
        case 0x200B...0x200F, 0x2028...0x202E, 0x2060...0x2064, 0x2066...0x2069, 0x061C, 0xFEFF, 0x180E, 0x00AD, 0xFFF9...0xFFFB, 0xE0000...0xE007F:
            return "<U+\(hex4(v))>"
        case 0xD800...0xDFFF, 0xFFFE, 0xFFFF: return "<U+\(hex4(v))>"
        default: return nil
        }
    }

    private static func hex2(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return s.count < 2 ? "0" + s : s
    }

    private static func hex4(_ v: UInt32) -> String {
        let s = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - s.count)) + s
    }
}

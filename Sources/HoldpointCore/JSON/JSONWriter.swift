/// Serialises `JSONValue`s: compact, pretty, or canonical.
///
/// The canonical form is what `action_sha256` hashes (see docs/queue-and-audit.md, "Action hash"):
/// object members sorted by their UTF-16 code units, no insignificant whitespace,
/// numbers written the way ECMAScript's `Number.prototype.toString` writes them,
/// strings escaped minimally (only `"`, `\` and C0 controls). That is RFC 8785
/// (JCS), so any language with a JCS library can recompute the hash.
public enum JSONWriter {
    public static func compact(_ value: JSONValue) -> String {
        var out = ""
        write(value, into: &out, sorted: false, indent: nil, level: 0)
        return out
    }

    public static func canonical(_ value: JSONValue) -> String {
        var out = ""
        write(value, into: &out, sorted: true, indent: nil, level: 0)
        return out
    }

    public static func pretty(_ value: JSONValue) -> String {
        var out = ""
        write(value, into: &out, sorted: false, indent: "  ", level: 0)
        return out
    }

    private static func write(_ value: JSONValue, into out: inout String, sorted: Bool, indent: String?, level: Int) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += formatNumber(n)
        case .string(let s): writeString(s, into: &out)
        case .array(let elements):
            if elements.isEmpty {
                out += "[]"
                return
            }
            out += "["
            for (i, element) in elements.enumerated() {
                if i > 0 { out += "," }
                newline(into: &out, indent: indent, level: level + 1)
                write(element, into: &out, sorted: sorted, indent: indent, level: level + 1)
            }
            newline(into: &out, indent: indent, level: level)
            out += "]"
        case .object(let members):
            if members.isEmpty {
                out += "{}"
                return
            }
            let ordered = sorted ? members.sorted { Array($0.key.utf16).lexicographicallyPrecedes(Array($1.key.utf16)) } : members
            out += "{"
            for (i, member) in ordered.enumerated() {
                if i > 0 { out += "," }
                newline(into: &out, indent: indent, level: level + 1)
                writeString(member.key, into: &out)
                out += indent == nil ? ":" : ": "
                write(member.value, into: &out, sorted: sorted, indent: indent, level: level + 1)
            }
            newline(into: &out, indent: indent, level: level)
            out += "}"
        }
    }

    private static func newline(into out: inout String, indent: String?, level: Int) {
        guard let indent else { return }
        out += "\n"
        out += String(repeating: indent, count: level)
    }

    /// Appends `s` as a JSON string literal (minimal escaping, as the canonical form needs).
    public static func appendString(_ s: String, to out: inout String) { writeString(s, into: &out) }

    /// Appends `s` as a JSON string literal to a byte buffer: the same bytes as
    /// `appendString`, without building a `String` (used where hashing speed matters).
    public static func appendString(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { appendString(utf8: UnsafeRawBufferPointer($0), to: &out) }
    }

    /// The same for text given as UTF-8 bytes (a database column read in place).
    public static func appendString(utf8 bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var plain = true
        for b in bytes where b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") {
            plain = false
            break
        }
        if plain {
            out.append(contentsOf: bytes)
            out.append(UInt8(ascii: "\""))
            return
        }
        for b in bytes {
            switch b {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0x0F)]])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    static func writeString(_ s: String, into out: inout String) {
        // Most strings need no escaping: append them whole.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out += "\""
            out += s
            out += "\""
            return
        }
        // Escaped over the bytes into one buffer, appended once: scalar by scalar into the
        // String cost hundreds of instructions a byte (a request's action is hashed in this
        // form, so a 1 MiB command of quotes took a tenth of a second).
        var bytes: [UInt8] = []
        bytes.reserveCapacity(s.utf8.count + 16)
        appendString(s, to: &bytes)
        out += String(decoding: bytes, as: UTF8.self)
    }

    /// ECMAScript number formatting: integers below 1e21 without exponent or fraction,
    /// otherwise the shortest round-tripping digits, with an exponent outside [1e-6, 1e21).
    public static func formatNumber(_ n: Double) -> String {
        if n == 0 { return "0" }  // also -0
        if n == n.rounded(), abs(n) < 1e21 {
            if abs(n) < 9.007199254740992e15 { return String(Int64(n)) }
            return integerDigits(n)
        }
        // Swift's description is the shortest round-trip digit string; re-layout per ECMAScript.
        let (digits, exponent, negative) = decompose(n)
        let k = digits.count
        var body: String
        if exponent >= k && exponent <= 21 {
            body = digits + String(repeating: "0", count: exponent - k)
        } else if exponent > 0 && exponent <= 21 {
            let cut = digits.index(digits.startIndex, offsetBy: exponent)
            body = digits[..<cut] + "." + digits[cut...]
        } else if exponent > -6 && exponent <= 0 {
            body = "0." + String(repeating: "0", count: -exponent) + digits
        } else {
            let e = exponent - 1
            let mantissa = k == 1 ? digits : String(digits.prefix(1)) + "." + digits.dropFirst()
            body = mantissa + "e" + (e >= 0 ? "+" : "-") + String(abs(e))
        }
        return (negative ? "-" : "") + body
    }

    private static func integerDigits(_ n: Double) -> String {
        let (digits, exponent, negative) = decompose(n)
        return (negative ? "-" : "") + digits + String(repeating: "0", count: max(0, exponent - digits.count))
    }

    /// Splits a finite non-zero double into significant digits and a decimal exponent such that
    /// value = 0.DIGITS × 10^exponent.
    private static func decompose(_ n: Double) -> (digits: String, exponent: Int, negative: Bool) {
        let negative = n < 0
        var text = "\(abs(n))"  // e.g. "1.5e-07", "123.45", "1e+22"
        var exp10 = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exp10 = Int(text[text.index(after: e)...]) ?? 0
            text = String(text[..<e])
        }
        var intPart = text
        var fracPart = ""
        if let dot = text.firstIndex(of: ".") {
            intPart = String(text[..<dot])
            fracPart = String(text[text.index(after: dot)...])
        }
        var digits = intPart + fracPart
        var exponent = intPart.count + exp10
        while digits.hasPrefix("0") && digits.count > 1 {
            digits.removeFirst()
            exponent -= 1
        }
        while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
        return (digits, exponent, negative)
    }
}

/// A TOML document read for its structure: its sections (the root, `[table]` and
/// `[[array.of.tables]]`), the keys each sets and the byte range each spans, so that a
/// configuration file can be edited by structure — a section appended, a section taken out —
/// with every other byte left as it was. `JSONSourceEditor` does the same for JSON.
///
/// The whole document is checked for syntax (a broken file is named by line and column and
/// never rewritten); of the values, only strings and booleans are read, since that is all
/// `holdpoint setup` needs to recognise its own entries and a switched-off feature. What TOML
/// forbids beyond syntax (a key defined twice, a table reopened) is left to the program that
/// owns the file.
public struct TOMLOutline: Sendable {
    public typealias SyntaxError = JSONSourceEditor.SyntaxError

    public enum Value: Sendable, Equatable {
        case string(String)
        case boolean(Bool)
        /// A number, date, array or inline table: present, not read.
        case other
    }

    /// `key = value`, with the key's full path (its section's path, then the dotted key).
    public struct Pair: Sendable {
        public var path: [String]
        public var value: Value
        /// An array or an inline table (a table that no later `[[…]]` header may extend).
        public var isContainer: Bool
        public var line: Int
    }

    public struct Section: Sendable {
        public enum Kind: Sendable { case root, table, arrayTable }
        public var kind: Kind
        /// The header's key path (empty for the root).
        public var path: [String]
        public var pairs: [Pair]
        /// From the first byte of the header's line (0 for the root) to the first byte of the
        /// next header's line, or the end: the section with its trailing comments and blanks.
        public var range: Range<Int>
        public var line: Int
    }

    public let sections: [Section]
    public let text: [UInt8]

    public init(_ source: String) throws(SyntaxError) {
        text = Array(source.utf8)
        var parser = Parser(bytes: text)
        sections = try parser.document()
    }

    /// Every pair of the document, in order.
    public var pairs: [Pair] { sections.flatMap(\.pairs) }

    /// The text with `removed` sections taken out, and with them the one blank line that
    /// separated the first of them from what came before (the line `appending` adds).
    public func removing(_ removed: [Section]) -> String {
        // Neighbouring sections go as one stretch, so that the blank line is trimmed once.
        var stretches: [Range<Int>] = []
        for range in removed.map(\.range).sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = stretches.last, last.upperBound >= range.lowerBound {
                stretches[stretches.count - 1] = last.lowerBound..<max(last.upperBound, range.upperBound)
            } else {
                stretches.append(range)
            }
        }
        var bytes = text
        for stretch in stretches.reversed() {
            var lower = stretch.lowerBound
            if lower >= 2, bytes[lower - 1] == UInt8(ascii: "\n"), bytes[lower - 2] == UInt8(ascii: "\n") { lower -= 1 }
            bytes.removeSubrange(lower..<stretch.upperBound)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The text with `block` (whole sections, ending in a newline) added at the end, after a
    /// blank line.
    public func appending(_ block: String) -> String {
        var out = String(decoding: text, as: UTF8.self)
        if out.isEmpty { return block }
        if !out.hasSuffix("\n") { out += "\n" }
        return out + "\n" + block
    }

    /// `text` as a TOML basic string, quoted and escaped.
    public static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16, uppercase: true)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// A key as TOML writes it: bare where it can be, quoted otherwise.
    public static func key(_ path: [String]) -> String {
        path.map { part in
            !part.isEmpty && part.utf8.allSatisfy(Parser.isBareKeyByte) ? part : quoted(part)
        }.joined(separator: ".")
    }
}

extension TOMLOutline {
    struct Parser {
        let bytes: [UInt8]
        var position = 0
        var line = 1
        var lineStart = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        static func isBareKeyByte(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "_"), UInt8(ascii: "-"):
                return true
            default: return false
            }
        }

        static func isBareValueByte(_ byte: UInt8) -> Bool {
            isBareKeyByte(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":")
        }

        var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

        func peek(_ offset: Int) -> UInt8? { position + offset < bytes.count ? bytes[position + offset] : nil }

        func error(_ message: String) -> SyntaxError {
            SyntaxError(line: line, column: position - lineStart + 1, message: message)
        }

        mutating func advance() {
            if bytes[position] == UInt8(ascii: "\n") {
                line += 1
                lineStart = position + 1
            }
            position += 1
        }

        mutating func skipSpaces() {
            while let byte = peek, byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { advance() }
        }

        mutating func skipComment() {
            guard peek == UInt8(ascii: "#") else { return }
            while let byte = peek, byte != UInt8(ascii: "\n") { advance() }
        }

        /// Spaces, then a comment, then the end of the line (or of the file).
        mutating func endOfLine() throws(SyntaxError) {
            skipSpaces()
            skipComment()
            if peek == UInt8(ascii: "\r"), peek(1) == UInt8(ascii: "\n") { advance() }
            guard let byte = peek else { return }
            guard byte == UInt8(ascii: "\n") else { throw error("expected the end of the line") }
            advance()
        }

        /// Blank lines, comments and spaces, as between an array's elements.
        mutating func skipBlanks() {
            while let byte = peek {
                switch byte {
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): advance()
                case UInt8(ascii: "#"): skipComment()
                default: return
                }
            }
        }

        mutating func document() throws(SyntaxError) -> [Section] {
            var sections = [Section(kind: .root, path: [], pairs: [], range: 0..<0, line: 1)]
            while true {
                let lineBegin = position
                skipSpaces()
                guard let byte = peek else { break }
                switch byte {
                case UInt8(ascii: "#"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                    try endOfLine()
                case UInt8(ascii: "["):
                    let headerLine = line
                    advance()
                    let array = peek == UInt8(ascii: "[")
                    if array { advance() }
                    skipSpaces()
                    let path = try key()
                    skipSpaces()
                    guard peek == UInt8(ascii: "]") else { throw error("expected ']' to close the table header") }
                    advance()
                    if array {
                        guard peek == UInt8(ascii: "]") else { throw error("expected ']]' to close the array-of-tables header") }
                        advance()
                    }
                    try endOfLine()
                    sections[sections.count - 1].range = sections[sections.count - 1].range.lowerBound..<lineBegin
                    sections.append(Section(kind: array ? .arrayTable : .table, path: path, pairs: [], range: lineBegin..<lineBegin, line: headerLine))
                default:
                    let pairLine = line
                    let path = try key()
                    skipSpaces()
                    guard peek == UInt8(ascii: "=") else { throw error("expected '=' after the key") }
                    advance()
                    skipSpaces()
                    let (value, container) = try value()
                    try endOfLine()
                    let full = sections[sections.count - 1].path + path
                    sections[sections.count - 1].pairs.append(Pair(path: full, value: value, isContainer: container, line: pairLine))
                }
            }
            sections[sections.count - 1].range = sections[sections.count - 1].range.lowerBound..<bytes.count
            return sections
        }

        /// A dotted key: `a`, `a.b`, `"quoted key".c`.
        mutating func key() throws(SyntaxError) -> [String] {
            var path: [String] = []
            while true {
                skipSpaces()
                guard let byte = peek else { throw error("expected a key") }
                switch byte {
                case UInt8(ascii: "\""):
                    guard peek(1) != UInt8(ascii: "\"") || peek(2) != UInt8(ascii: "\"") else { throw error("a key cannot be a multi-line string") }
                    path.append(try basicString())
                case UInt8(ascii: "'"):
                    guard peek(1) != UInt8(ascii: "'") || peek(2) != UInt8(ascii: "'") else { throw error("a key cannot be a multi-line string") }
                    path.append(try literalString())
                default:
                    let start = position
                    while let byte = peek, Self.isBareKeyByte(byte) { advance() }
                    guard position > start else { throw error("expected a key (letters, digits, '_', '-', or a quoted string)") }
                    path.append(String(decoding: bytes[start..<position], as: UTF8.self))
                }
                skipSpaces()
                guard peek == UInt8(ascii: ".") else { return path }
                advance()
            }
        }

        /// A value; `true` with it when it is an array or an inline table.
        mutating func value() throws(SyntaxError) -> (Value, Bool) {
            guard let byte = peek, byte != UInt8(ascii: "\n"), byte != UInt8(ascii: "#") else { throw error("expected a value") }
            switch byte {
            case UInt8(ascii: "\""):
                if peek(1) == UInt8(ascii: "\""), peek(2) == UInt8(ascii: "\"") { return (.string(try multilineString(quote: byte)), false) }
                return (.string(try basicString()), false)
            case UInt8(ascii: "'"):
                if peek(1) == UInt8(ascii: "'"), peek(2) == UInt8(ascii: "'") { return (.string(try multilineString(quote: byte)), false) }
                return (.string(try literalString()), false)
            case UInt8(ascii: "["):
                advance()
                while true {
                    skipBlanks()
                    if peek == UInt8(ascii: "]") { break }
                    _ = try value()
                    skipBlanks()
                    if peek == UInt8(ascii: ",") {
                        advance()
                        continue
                    }
                    guard peek == UInt8(ascii: "]") else { throw error("expected ',' or ']' in the array") }
                    break
                }
                advance()
                return (.other, true)
            case UInt8(ascii: "{"):
                advance()
                skipBlanks()
                if peek == UInt8(ascii: "}") {
                    advance()
                    return (.other, true)
                }
                while true {
                    skipBlanks()
                    _ = try key()
                    skipSpaces()
                    guard peek == UInt8(ascii: "=") else { throw error("expected '=' after the key in the inline table") }
                    advance()
                    skipSpaces()
                    _ = try value()
                    skipBlanks()
                    if peek == UInt8(ascii: ",") {
                        advance()
                        continue
                    }
                    guard peek == UInt8(ascii: "}") else { throw error("expected ',' or '}' in the inline table") }
                    advance()
                    return (.other, true)
                }
            default:
                let start = position
                while let byte = peek, Self.isBareValueByte(byte) {
                    advance()
                    // A date and a time may be separated by one space: 1979-05-27 07:32:00.
                    if peek == UInt8(ascii: " "), position - start == 10, bytes[start + 4] == UInt8(ascii: "-"), let next = peek(1),
                        next >= UInt8(ascii: "0"), next <= UInt8(ascii: "9")
                    {
                        advance()
                    }
                }
                let word = String(decoding: bytes[start..<position], as: UTF8.self)
                if word == "true" { return (.boolean(true), false) }
                if word == "false" { return (.boolean(false), false) }
                guard let first = word.utf8.first,
                    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) || first == UInt8(ascii: "+") || first == UInt8(ascii: "-")
                        || ["inf", "nan"].contains(word)
                else {
                    position = start
                    throw error("expected a value (a quoted string, number, true or false, date, array or inline table)")
                }
                return (.other, false)
            }
        }

        /// "…" with escapes.
        mutating func basicString() throws(SyntaxError) -> String {
            advance()
            var out: [UInt8] = []
            while true {
                guard let byte = peek, byte != UInt8(ascii: "\n") else { throw error("unterminated string") }
                advance()
                if byte == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
                if byte == UInt8(ascii: "\\") { out += try escape() } else { out.append(byte) }
            }
        }

        /// '…', taken as written.
        mutating func literalString() throws(SyntaxError) -> String {
            advance()
            let start = position
            while true {
                guard let byte = peek, byte != UInt8(ascii: "\n") else { throw error("unterminated string") }
                if byte == UInt8(ascii: "'") {
                    let text = String(decoding: bytes[start..<position], as: UTF8.self)
                    advance()
                    return text
                }
                advance()
            }
        }

        /// """…""" or '''…''' (up to two more quotes may end the content).
        mutating func multilineString(quote: UInt8) throws(SyntaxError) -> String {
            advance()
            advance()
            advance()
            var out: [UInt8] = []
            while true {
                guard let byte = peek else { throw error("unterminated multi-line string") }
                if byte == quote, peek(1) == quote, peek(2) == quote {
                    advance()
                    advance()
                    advance()
                    var extra = 0
                    while peek == quote, extra < 2 {
                        out.append(quote)
                        advance()
                        extra += 1
                    }
                    return String(decoding: out.first == UInt8(ascii: "\n") ? Array(out.dropFirst()) : out, as: UTF8.self)
                }
                advance()
                if quote == UInt8(ascii: "\""), byte == UInt8(ascii: "\\") {
                    // A backslash at the end of a line trims the line break and the next line's indent.
                    var look = position
                    while look < bytes.count, bytes[look] == UInt8(ascii: " ") || bytes[look] == UInt8(ascii: "\t") { look += 1 }
                    if look < bytes.count, bytes[look] == UInt8(ascii: "\n") || bytes[look] == UInt8(ascii: "\r") {
                        skipBlanksWithoutComments()
                    } else {
                        out += try escape()
                    }
                } else {
                    out.append(byte)
                }
            }
        }

        mutating func skipBlanksWithoutComments() {
            while let byte = peek, [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r")].contains(byte) { advance() }
        }

        /// After a backslash: the escaped character's bytes.
        mutating func escape() throws(SyntaxError) -> [UInt8] {
            guard let byte = peek else { throw error("unterminated escape") }
            let here = (line: line, column: position - lineStart + 1)
            advance()
            switch byte {
            case UInt8(ascii: "\""): return [byte]
            case UInt8(ascii: "\\"): return [byte]
            case UInt8(ascii: "b"): return [0x08]
            case UInt8(ascii: "t"): return [0x09]
            case UInt8(ascii: "n"): return [0x0A]
            case UInt8(ascii: "f"): return [0x0C]
            case UInt8(ascii: "r"): return [0x0D]
            case UInt8(ascii: "e"): return [0x1B]
            case UInt8(ascii: "u"), UInt8(ascii: "U"):
                let count = byte == UInt8(ascii: "u") ? 4 : 8
                guard position + count <= bytes.count, let value = UInt32(String(decoding: bytes[position..<(position + count)], as: UTF8.self), radix: 16),
                    let scalar = Unicode.Scalar(value)
                else { throw error("invalid \\\(Character(Unicode.Scalar(byte))) escape") }
                for _ in 0..<count { advance() }
                return Array(String(Character(scalar)).utf8)
            default:
                throw SyntaxError(line: here.line, column: here.column, message: "invalid escape '\\\(SafeText.escape(String(Character(Unicode.Scalar(byte)))))'")
            }
        }
    }
}

/// Structural edits of a JSON (or JSONC: comments, trailing commas) configuration file that
/// leave every byte outside the edited member or element as it was. The file is parsed
/// into nodes that remember where they sit in the text; an edit splices text at those
/// positions, indented like its neighbours. For `holdpoint setup`, which must add and take
/// out its own hook entries in a client's settings without touching anyone else's.
public struct JSONSourceEditor: Sendable {
    /// A value and the bytes it spans in `text`.
    public indirect enum Node: Sendable {
        case object(members: [Member], range: Range<Int>)
        case array(elements: [Node], range: Range<Int>)
        case scalar(JSONValue, range: Range<Int>)

        public var range: Range<Int> {
            switch self {
            case .object(_, let range), .array(_, let range), .scalar(_, let range): return range
            }
        }

        public func member(_ key: String) -> Member? {
            if case .object(let members, _) = self { return members.first { $0.key == key } }
            return nil
        }

        /// The value with its spans forgotten (comments dropped).
        public var value: JSONValue {
            switch self {
            case .object(let members, _): return .object(members.map { ($0.key, $0.value.value) })
            case .array(let elements, _): return .array(elements.map(\.value))
            case .scalar(let v, _): return v
            }
        }
    }

    public struct Member: Sendable {
        public var key: String
        /// From the key's opening quote to the end of the value.
        public var range: Range<Int>
        public var value: Node
    }

    public struct SyntaxError: Error, Sendable, CustomStringConvertible {
        public let line: Int
        public let column: Int
        public let message: String
        public var description: String { "line \(line), column \(column): \(message)" }

        public init(line: Int, column: Int, message: String) {
            self.line = line
            self.column = column
            self.message = message
        }
    }

    public private(set) var text: [UInt8]
    public private(set) var root: Node

    public init(_ source: String) throws(SyntaxError) {
        text = Array(source.utf8)
        var parser = Parser(bytes: text)
        root = try parser.document()
    }

    public var string: String { String(decoding: text, as: UTF8.self) }

    // MARK: - Edits (each re-parses, so nodes stay true to the text)

    /// Adds `key: value` as the last member of the object at `object`'s range.
    public mutating func appendMember(to object: Node, key: String, value: JSONValue) throws(SyntaxError) {
        guard case .object(let members, let range) = object else { return }
        let indent = members.first.map { indentation(at: $0.range.lowerBound) } ?? (indentation(at: range.lowerBound) + "  ")
        let rendered = JSONWriter.compact(.string(key)) + ": " + reindent(JSONWriter.pretty(value), by: indent)
        try insert(rendered, intoContainer: range, after: members.last?.range, indent: indent)
    }

    /// Adds `value` as the last element of the array at `array`'s range.
    public mutating func appendElement(to array: Node, value: JSONValue) throws(SyntaxError) {
        guard case .array(let elements, let range) = array else { return }
        let indent = elements.first.map { indentation(at: $0.range.lowerBound) } ?? (indentation(at: range.lowerBound) + "  ")
        try insert(reindent(JSONWriter.pretty(value), by: indent), intoContainer: range, after: elements.last?.range, indent: indent)
    }

    /// Replaces a node's text with `value`.
    public mutating func replace(_ node: Node, with value: JSONValue) throws(SyntaxError) {
        let indent = indentation(at: node.range.lowerBound)
        try splice(node.range, with: Array(reindent(JSONWriter.pretty(value), by: indent).utf8))
    }

    /// Removes an element of an array, or a member of an object (`range` is the element's or
    /// the member's), with the comma that joined it to a neighbour and its line if it had one.
    public mutating func remove(_ range: Range<Int>, from container: Node) throws(SyntaxError) {
        let siblings: [Range<Int>]
        switch container {
        case .object(let members, _): siblings = members.map(\.range)
        case .array(let elements, _): siblings = elements.map(\.range)
        case .scalar: return
        }
        guard let index = siblings.firstIndex(of: range) else { return }
        let cut: Range<Int>
        if index > 0 {
            // From the end of the previous sibling (its comma goes) to the end of this one.
            cut = siblings[index - 1].upperBound..<range.upperBound
        } else if siblings.count > 1 {
            // From this one to the start of the next (this one's comma goes).
            cut = range.lowerBound..<siblings[1].lowerBound
        } else {
            // The only one: from after the opening bracket to before the closing one.
            cut = (container.range.lowerBound + 1)..<(container.range.upperBound - 1)
        }
        try splice(cut, with: [])
    }

    // MARK: - Text

    private mutating func insert(_ rendered: String, intoContainer range: Range<Int>, after last: Range<Int>?, indent: String) throws(SyntaxError) {
        let closing = range.upperBound - 1
        let closingIndent = indentation(at: range.lowerBound)
        if let last {
            // After the last sibling (and a trailing comma if there is one).
            let at = last.upperBound
            let next = Parser(bytes: text).skipTrivia(from: at)
            if next < text.count, text[next] == UInt8(ascii: ",") {
                // A trailing comma (JSONC) stays trailing.
                try splice((next + 1)..<(next + 1), with: Array("\n\(indent)\(rendered),".utf8))
            } else {
                try splice(at..<at, with: Array(",\n\(indent)\(rendered)".utf8))
            }
        } else {
            // An empty container: everything between the brackets is replaced.
            try splice((range.lowerBound + 1)..<closing, with: Array("\n\(indent)\(rendered)\n\(closingIndent)".utf8))
        }
    }

    private mutating func splice(_ range: Range<Int>, with bytes: [UInt8]) throws(SyntaxError) {
        text.replaceSubrange(range, with: bytes)
        var parser = Parser(bytes: text)
        root = try parser.document()
    }

    /// The spaces and tabs that start the line holding `offset`.
    private func indentation(at offset: Int) -> String {
        var start = offset
        while start > 0, text[start - 1] != UInt8(ascii: "\n") { start -= 1 }
        var end = start
        while end < text.count, text[end] == UInt8(ascii: " ") || text[end] == UInt8(ascii: "\t") { end += 1 }
        return String(decoding: text[start..<end], as: UTF8.self)
    }

    private func reindent(_ pretty: String, by indent: String) -> String {
        pretty.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            .map { $0.offset == 0 ? String($0.element) : indent + $0.element }.joined(separator: "\n")
    }

    // MARK: - Parsing with positions

    struct Parser {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func document() throws(SyntaxError) -> Node {
            index = skipTrivia(from: 0)
            let node = try value(depth: 0)
            index = skipTrivia(from: index)
            guard index == bytes.count else { throw error("unexpected text after the end of the document") }
            return node
        }

        func skipTrivia(from start: Int) -> Int {
            var i = start
            while i < bytes.count {
                switch bytes[i] {
                case 0x20, 0x09, 0x0A, 0x0D: i += 1
                case UInt8(ascii: "/") where i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "/"):
                    while i < bytes.count, bytes[i] != 0x0A { i += 1 }
                case UInt8(ascii: "/") where i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "*"):
                    i += 2
                    while i + 1 < bytes.count, !(bytes[i] == UInt8(ascii: "*") && bytes[i + 1] == UInt8(ascii: "/")) { i += 1 }
                    i = min(bytes.count, i + 2)
                default: return i
                }
            }
            return i
        }

        func error(_ message: String) -> SyntaxError {
            var line = 1
            var column = 1
            for b in bytes[0..<min(index, bytes.count)] {
                if b == 0x0A {
                    line += 1
                    column = 1
                } else if b & 0xC0 != 0x80 {
                    column += 1
                }
            }
            return SyntaxError(line: line, column: column, message: message)
        }

        mutating func value(depth: Int) throws(SyntaxError) -> Node {
            guard depth < 64 else { throw error("nested too deeply") }
            guard index < bytes.count else { throw error("unexpected end of the document") }
            let start = index
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                var members: [Member] = []
                while true {
                    index = skipTrivia(from: index)
                    guard index < bytes.count else { throw error("unterminated object") }
                    if bytes[index] == UInt8(ascii: "}") {
                        index += 1
                        return .object(members: members, range: start..<index)
                    }
                    guard bytes[index] == UInt8(ascii: "\"") else { throw error("expected a member name in quotes") }
                    let memberStart = index
                    let key = try string()
                    index = skipTrivia(from: index)
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':' after a member name") }
                    index = skipTrivia(from: index + 1)
                    let node = try value(depth: depth + 1)
                    members.append(Member(key: key, range: memberStart..<index, value: node))
                    index = skipTrivia(from: index)
                    guard index < bytes.count else { throw error("unterminated object") }
                    if bytes[index] == UInt8(ascii: ",") {
                        index += 1
                        continue
                    }
                    guard bytes[index] == UInt8(ascii: "}") else { throw error("expected ',' or '}' in an object") }
                }
            case UInt8(ascii: "["):
                index += 1
                var elements: [Node] = []
                while true {
                    index = skipTrivia(from: index)
                    guard index < bytes.count else { throw error("unterminated array") }
                    if bytes[index] == UInt8(ascii: "]") {
                        index += 1
                        return .array(elements: elements, range: start..<index)
                    }
                    elements.append(try value(depth: depth + 1))
                    index = skipTrivia(from: index)
                    guard index < bytes.count else { throw error("unterminated array") }
                    if bytes[index] == UInt8(ascii: ",") {
                        index += 1
                        continue
                    }
                    guard bytes[index] == UInt8(ascii: "]") else { throw error("expected ',' or ']' in an array") }
                }
            case UInt8(ascii: "\""):
                return .scalar(.string(try string()), range: start..<index)
            default:
                // A number, true, false or null: read to the next delimiter and let the strict reader judge it.
                while index < bytes.count, !",]} \t\r\n/".utf8.contains(bytes[index]) { index += 1 }
                let token = String(decoding: bytes[start..<index], as: UTF8.self)
                guard let parsed = try? JSONReader.parse(token) else {
                    index = start
                    throw error("unexpected '\(SafeText.escape(String(token.prefix(20))))'")
                }
                return .scalar(parsed, range: start..<index)
            }
        }

        mutating func string() throws(SyntaxError) -> String {
            let start = index
            index += 1
            while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                if bytes[index] == UInt8(ascii: "\\") { index += 1 }
                if index < bytes.count, bytes[index] < 0x20 { throw error("raw control character in a string") }
                index += 1
            }
            guard index < bytes.count else {
                index = start
                throw error("unterminated string")
            }
            index += 1
            let literal = String(decoding: bytes[start..<index], as: UTF8.self)
            guard case .string(let decoded)? = try? JSONReader.parse(literal) else {
                index = start
                throw error("invalid string")
            }
            return decoded
        }
    }
}

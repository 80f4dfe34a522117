/// A parser for POSIX shell command lines (with the bash extensions agents type most).
///
/// It does not run or expand anything. It finds every simple command a line would
/// execute, so that `echo ok && $(rm -rf /)` or `bash -c "…"` cannot hide a command
/// behind syntax. What it cannot follow it reports in `ShellScript.problems` instead
/// of guessing, and the classifier treats those as unknown (gated in production).
public struct ShellParser {
    /// Nesting deeper than this (subshells in substitutions in subshells…) is refused.
    public static let maximumDepth = 24
    /// A line with more commands than this is not parsed further (reported as a problem, so
    /// the line is unknown): no agent's real command line comes near it, and parsing stays
    /// bounded whatever the input.
    public static let maximumCommands = 2_000

    /// The line being parsed, read in place: `parse` lends it for the parse's duration, and
    /// nothing the parser returns points into it.
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var commands: [SimpleCommand] = []
    private var problems: [String] = []
    private var definedFunctions: Set<String> = []
    private var pendingHeredocs: [(delimiter: String, stripTabs: Bool, commandIndex: Int)] = []
    private let depth: Int

    private init(bytes: UnsafeBufferPointer<UInt8>, depth: Int) {
        self.bytes = bytes
        self.depth = depth
    }

    public static func parse(_ line: String) -> ShellScript {
        var line = line
        return line.withUTF8 { parse(bytes: $0, depth: 0) }
    }

    static func parse(bytes: UnsafeBufferPointer<UInt8>, depth: Int) -> ShellScript {
        var parser = ShellParser(bytes: bytes, depth: depth)
        guard depth <= maximumDepth else {
            return ShellScript(commands: [], problems: ["nesting deeper than \(maximumDepth) levels"])
        }
        parser.parseList(closing: nil)
        if parser.index < parser.bytes.count {
            parser.problems.append("unexpected '\(parser.character(at: parser.index))' at offset \(parser.index)")
        }
        if !parser.pendingHeredocs.isEmpty {
            // A here-document with no body yet: the body is whatever is left (bash does the same).
            parser.problems.append("here-document without a terminating '\(parser.pendingHeredocs[0].delimiter)' line")
        }
        return ShellScript(commands: parser.commands, problems: parser.problems, definedFunctions: parser.definedFunctions)
    }

    // MARK: - Characters

    private func peek(_ offset: Int = 0) -> UInt8? {
        let i = index + offset
        return i < bytes.count ? bytes[i] : nil
    }

    private func character(at i: Int) -> String {
        String(decoding: bytes[i..<min(i + 1, bytes.count)], as: UTF8.self)
    }

    private static func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }

    /// Bytes that `readWord` must interpret: quotes, escapes, expansions, `=` (an
    /// assignment) and glob characters.
    private static func isSpecialInWord(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "$"), UInt8(ascii: "`"),
            UInt8(ascii: "="), UInt8(ascii: "*"), UInt8(ascii: "?"), UInt8(ascii: "["):
            return true
        default:
            return false
        }
    }

    /// Characters that end an unquoted word.
    private static func isMeta(_ b: UInt8) -> Bool {
        switch b {
        case 0x20, 0x09, 0x0A, UInt8(ascii: ";"), UInt8(ascii: "&"), UInt8(ascii: "|"),
            UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "<"), UInt8(ascii: ">"):
            return true
        default:
            return false
        }
    }

    private mutating func skipBlanksAndComments() {
        while let b = peek() {
            if Self.isBlank(b) {
                index += 1
            } else if b == UInt8(ascii: "\\"), peek(1) == 0x0A {
                index += 2  // line continuation
            } else if b == UInt8(ascii: "#") {
                while let c = peek(), c != 0x0A { index += 1 }
            } else {
                return
            }
        }
    }

    // MARK: - Lists and commands

    /// Parses commands separated by `;`, `&`, `&&`, `||`, `|`, newlines, until `closing` or the end.
    private mutating func parseList(closing: UInt8?) {
        var pipeNext = false
        while true {
            skipBlanksAndComments()
            guard let b = peek() else { return }
            if let closing, b == closing { return }
            switch b {
            case 0x0A:
                index += 1
                readPendingHeredocs()
                pipeNext = false
                continue
            case UInt8(ascii: ";"):
                index += 1
                if peek() == UInt8(ascii: ";") { index += 1 }  // `;;` inside case (reported there)
                pipeNext = false
                continue
            case UInt8(ascii: "&"):
                index += 1
                if peek() == UInt8(ascii: "&") { index += 1 }
                pipeNext = false
                continue
            case UInt8(ascii: "|"):
                index += 1
                if peek() == UInt8(ascii: "|") {
                    index += 1
                    pipeNext = false
                } else {
                    if peek() == UInt8(ascii: "&") { index += 1 }
                    pipeNext = true
                }
                continue
            case UInt8(ascii: "("):
                index += 1
                if peek() == UInt8(ascii: "(") {
                    // `(( arithmetic ))`: evaluates, runs nothing.
                    index += 1
                    skipBalanced(open: UInt8(ascii: "("), close: UInt8(ascii: ")"), initialDepth: 2)
                    continue
                }
                parseNested(closing: UInt8(ascii: ")"), what: "subshell")
                pipeNext = false
                continue
            case UInt8(ascii: ")"):
                problems.append("unbalanced ')' at offset \(index)")
                index += 1
                continue
            default:
                let before = commands.count
                parseSimpleCommand(readsPipe: pipeNext)
                pipeNext = false
                if commands.count == before, index < bytes.count, peek() == b, !Self.isMeta(b) {
                    // Nothing consumed: avoid looping forever on something unexpected.
                    problems.append("unexpected '\(character(at: index))' at offset \(index)")
                    index += 1
                }
            }
        }
    }

    /// A nested list inside `( … )`, `$( … )` or `<( … )`, parsed in place.
    private mutating func parseNested(closing: UInt8, what: String) {
        guard depth + 1 <= Self.maximumDepth else {
            problems.append("nesting deeper than \(Self.maximumDepth) levels")
            index = bytes.count
            return
        }
        var inner = ShellParser(bytes: bytes, depth: depth + 1)
        inner.index = index
        inner.parseList(closing: closing)
        commands.append(contentsOf: inner.commands)
        problems.append(contentsOf: inner.problems)
        definedFunctions.formUnion(inner.definedFunctions)
        pendingHeredocs.append(contentsOf: inner.pendingHeredocs.map { ($0.delimiter, $0.stripTabs, $0.commandIndex + commands.count - inner.commands.count) })
        index = inner.index
        if peek() == closing {
            index += 1
        } else {
            problems.append("unterminated \(what)")
        }
    }

    /// Skips a balanced `(( … ))` or `${ … }`, still parsing the command substitutions inside
    /// it (`${X:-$(cmd)}`, `$(( $(cmd) ))` run `cmd`), so that none of them hides a command.
    private mutating func skipBalanced(open: UInt8, close: UInt8, initialDepth: Int) {
        var level = initialDepth
        var scratch: [UInt8] = []
        var dynamic = false
        while let b = peek() {
            switch b {
            case UInt8(ascii: "$"):
                readDollar(into: &scratch, dynamic: &dynamic)
                scratch.removeAll(keepingCapacity: true)
                continue
            case UInt8(ascii: "`"):
                readBackticks(into: &scratch)
                scratch.removeAll(keepingCapacity: true)
                continue
            case UInt8(ascii: "\\"):
                index = min(index + 2, bytes.count)
                continue
            case UInt8(ascii: "\""):
                index += 1
                readDoubleQuoted(into: &scratch, dynamic: &dynamic)
                scratch.removeAll(keepingCapacity: true)
                continue
            case UInt8(ascii: "'") where open == UInt8(ascii: "{"):
                index += 1
                while let c = peek(), c != UInt8(ascii: "'") { index += 1 }
                index = min(index + 1, bytes.count)
                continue
            default:
                break
            }
            index += 1
            if b == open {
                level += 1
            } else if b == close {
                level -= 1
                if level == 0 { return }
            }
        }
        problems.append(open == UInt8(ascii: "{") ? "unterminated parameter expansion" : "unterminated arithmetic expression")
    }

    private static let reservedSeparators: Set<String> = ["then", "else", "elif", "fi", "do", "done", "{", "}", "!", "if", "while", "until"]

    /// `reservedSeparators.contains(word)`, hashing only words that start with one of their
    /// first letters (the first word of every command is asked).
    private static func isReservedSeparator(_ word: String) -> Bool {
        guard let first = word.utf8.first, word.utf8.count <= 5 else { return false }
        switch first {
        case UInt8(ascii: "t"), UInt8(ascii: "e"), UInt8(ascii: "f"), UInt8(ascii: "d"), UInt8(ascii: "{"), UInt8(ascii: "}"),
            UInt8(ascii: "!"), UInt8(ascii: "i"), UInt8(ascii: "w"), UInt8(ascii: "u"):
            return reservedSeparators.contains(word)
        default:
            return false
        }
    }

    private mutating func parseSimpleCommand(readsPipe: Bool) {
        var command = SimpleCommand()
        command.readsPipe = readsPipe
        // One allocation for the words of most commands, not one per doubling.
        command.words.reserveCapacity(8)
        var atCommandStart = true
        while true {
            skipBlanksAndComments()
            guard let b = peek() else { break }
            if b == 0x0A || b == UInt8(ascii: ";") || b == UInt8(ascii: "|") || b == UInt8(ascii: ")") { break }
            if b == UInt8(ascii: "&") {
                if peek(1) == UInt8(ascii: ">") {
                    readRedirection(op: "", into: &command)
                    continue
                }
                break
            }
            if b == UInt8(ascii: "(") {
                if command.words.count == 1, peek(1) == UInt8(ascii: ")") {
                    // `name() { body; }`: a function definition. Its body is parsed as commands.
                    index += 2
                    definedFunctions.insert(command.words[0].text)
                    command = SimpleCommand()
                    atCommandStart = true
                    continue
                }
                if !command.words.isEmpty || !command.assignments.isEmpty {
                    problems.append("unexpected '(' at offset \(index)")
                    index += 1
                    continue
                }
                break
            }
            if b == UInt8(ascii: "<") || b == UInt8(ascii: ">") {
                if peek(1) == UInt8(ascii: "(") {
                    // Process substitution: the inner commands run.
                    index += 2
                    parseNested(closing: UInt8(ascii: ")"), what: "process substitution")
                    command.words.append(ShellWord(text: "/dev/fd/63", isDynamic: true))
                    continue
                }
                readRedirection(op: "", into: &command)
                continue
            }
            // An IO number: digits immediately followed by < or >.
            if b >= 0x30 && b <= 0x39 {
                var j = index
                while j < bytes.count, bytes[j] >= 0x30 && bytes[j] <= 0x39 { j += 1 }
                if j < bytes.count, bytes[j] == UInt8(ascii: "<") || bytes[j] == UInt8(ascii: ">") {
                    let number = String(decoding: bytes[index..<j], as: UTF8.self)
                    index = j
                    readRedirection(op: number, into: &command)
                    continue
                }
            }
            guard let (word, assignmentName) = readWord() else { break }
            if atCommandStart && command.words.isEmpty {
                if let assignmentName {
                    var value = word
                    value.text = String(word.text.dropFirst(assignmentName.count + 1))
                    command.assignments.append((assignmentName, value))
                    continue
                }
                if !word.isDynamic, Self.isReservedSeparator(word.text) {
                    continue
                }
                if !word.isDynamic, word.text == "for" || word.text == "select" {
                    skipForHeader()
                    continue
                }
                if !word.isDynamic, word.text == "function" {
                    if let name = readWordSkippingBlanks() { definedFunctions.insert(name.text) }
                    skipBlanksAndComments()
                    if peek() == UInt8(ascii: "("), peek(1) == UInt8(ascii: ")") { index += 2 }
                    continue
                }
                if !word.isDynamic, word.text == "case" || word.text == "coproc" {
                    problems.append("'\(word.text)' is not analysed")
                    index = bytes.count
                    break
                }
                if !word.isDynamic, word.text == "[[" {
                    skipUntilWord("]]")
                    command.words = [ShellWord(text: "[[")]
                    continue
                }
            }
            atCommandStart = false
            command.words.append(word)
        }
        if !command.words.isEmpty || !command.assignments.isEmpty || !command.redirections.isEmpty {
            commands.append(command)
            if commands.count > Self.maximumCommands {
                problems.append("more than \(Self.maximumCommands) commands: not analysed further")
                index = bytes.count
            }
        }
    }

    private mutating func readWordSkippingBlanks() -> ShellWord? {
        skipBlanksAndComments()
        return readWord()?.word
    }

    /// `for NAME [in WORDS…]` up to the `;`, newline or `do`: the loop's header runs nothing
    /// itself, but substitutions in its word list do, so they are still parsed.
    private mutating func skipForHeader() {
        while true {
            skipBlanksAndComments()
            guard let b = peek(), b != 0x0A, b != UInt8(ascii: ";") else { return }
            if b == UInt8(ascii: "(") && peek(1) == UInt8(ascii: "(") {
                index += 2
                skipBalanced(open: UInt8(ascii: "("), close: UInt8(ascii: ")"), initialDepth: 2)
                continue
            }
            guard let (word, _) = readWord() else {
                index += 1
                continue
            }
            if word.text == "do" && !word.isDynamic { return }
        }
    }

    private mutating func skipUntilWord(_ terminator: String) {
        while true {
            skipBlanksAndComments()
            guard let b = peek(), b != 0x0A else { return }
            if Self.isMeta(b) {
                index += 1
                continue
            }
            guard let (word, _) = readWord() else {
                index += 1
                continue
            }
            if word.text == terminator { return }
        }
    }

    // MARK: - Redirections and here-documents

    /// The redirection operators, longest first so that `>>` is not read as `>`.
    private static let redirectionOperators: [String] = ["&>>", "<<<", "<<-", "&>", "<<", "<&", "<>", ">>", ">|", ">&", "<", ">"]

    private mutating func readRedirection(op prefix: String, into command: inout SimpleCommand) {
        var op = prefix
        let rest = bytes[index..<min(index + 3, bytes.count)]
        let matched = Self.redirectionOperators.first { rest.starts(with: $0.utf8) } ?? String(decoding: rest.prefix(1), as: UTF8.self)
        op += matched
        index += matched.utf8.count
        skipBlanksAndComments()
        if op.hasSuffix("&"), let b = peek(), (b >= 0x30 && b <= 0x39) || b == UInt8(ascii: "-") {
            // `2>&1`, `>&-`: duplicating a descriptor, not a file.
            var j = index
            while j < bytes.count, !Self.isMeta(bytes[j]) { j += 1 }
            let fd = String(decoding: bytes[index..<j], as: UTF8.self)
            index = j
            command.redirections.append(Redirection(op: op, target: ShellWord(text: "&" + fd)))
            return
        }
        guard let (target, _) = readWord() else {
            problems.append("redirection '\(op)' without a target")
            return
        }
        command.redirections.append(Redirection(op: op, target: target))
        if op.hasSuffix("<<<") {
            command.stdinTexts.append(target.text)
        } else if op.hasSuffix("<<") || op.hasSuffix("<<-") {
            // The body follows the next newline; the command is appended after this returns.
            pendingHeredocs.append((target.text, op.hasSuffix("<<-"), commands.count))
        }
    }

    private mutating func readPendingHeredocs() {
        let pending = pendingHeredocs
        pendingHeredocs.removeAll()
        for heredoc in pending {
            var body: [String] = []
            var terminated = false
            while index < bytes.count {
                var end = index
                while end < bytes.count, bytes[end] != 0x0A { end += 1 }
                var line = String(decoding: bytes[index..<end], as: UTF8.self)
                index = min(end + 1, bytes.count)
                if heredoc.stripTabs { line = String(line.drop(while: { $0 == "\t" })) }
                if line == heredoc.delimiter {
                    terminated = true
                    break
                }
                body.append(line)
            }
            if !terminated {
                problems.append("here-document without a terminating '\(heredoc.delimiter)' line")
            }
            if heredoc.commandIndex < commands.count {
                commands[heredoc.commandIndex].stdinTexts.append(body.joined(separator: "\n"))
            }
        }
    }

    // MARK: - Words

    private static func isNameStart(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == UInt8(ascii: "_")
    }

    private static func isNameChar(_ b: UInt8) -> Bool {
        isNameStart(b) || (b >= 0x30 && b <= 0x39)
    }

    /// Reads one word with quote removal. Returns the assignment's name when the word is
    /// `NAME=value` with an unquoted `=`, in which case the word is the value.
    private mutating func readWord() -> (word: ShellWord, assignmentName: String?)? {
        guard let first = peek(), !Self.isMeta(first) else { return nil }
        // Most words are plain (no quotes, escapes, expansions, `=` or globs): they are
        // taken from the line as they stand, without collecting them byte by byte.
        var end = index
        while end < bytes.count, !Self.isMeta(bytes[end]), !Self.isSpecialInWord(bytes[end]) { end += 1 }
        if end == bytes.count || Self.isMeta(bytes[end]) {
            let word = ShellWord(text: String(decoding: bytes[index..<end], as: UTF8.self))
            index = end
            return (word, nil)
        }
        var text: [UInt8] = []
        text.reserveCapacity(end - index + 16)
        var dynamic = false
        var glob = false
        var assignmentName: String?
        var quotedSoFar = false

        while let b = peek(), !Self.isMeta(b) {
            switch b {
            case UInt8(ascii: "\\"):
                index += 1
                if let next = peek() {
                    index += 1
                    if next != 0x0A { text.append(next) }
                }
                quotedSoFar = true
            case UInt8(ascii: "'"):
                index += 1
                let start = index
                while let c = peek(), c != UInt8(ascii: "'") { index += 1 }
                text.append(contentsOf: bytes[start..<index])
                if peek() == nil { problems.append("unterminated single quote") } else { index += 1 }
                quotedSoFar = true
            case UInt8(ascii: "\""):
                index += 1
                readDoubleQuoted(into: &text, dynamic: &dynamic)
                quotedSoFar = true
            case UInt8(ascii: "$"):
                readDollar(into: &text, dynamic: &dynamic)
            case UInt8(ascii: "`"):
                readBackticks(into: &text)
                dynamic = true
            case UInt8(ascii: "="):
                if assignmentName == nil, !quotedSoFar, !dynamic, let f = text.first, Self.isNameStart(f), text.allSatisfy(Self.isNameChar) {
                    // Kept whole: `of=/dev/sda` is an argument unless it stands before the program.
                    assignmentName = String(decoding: text, as: UTF8.self)
                    text.append(b)
                    index += 1
                    if peek() == UInt8(ascii: "(") {
                        // `NAME=( … )`: an array assignment; its words may hold substitutions.
                        index += 1
                        while let c = peek(), c != UInt8(ascii: ")") {
                            if Self.isBlank(c) || c == 0x0A {
                                index += 1
                                continue
                            }
                            if readWord() == nil { index += 1 }
                        }
                        if peek() != nil { index += 1 }
                        dynamic = true
                    }
                } else {
                    text.append(b)
                    index += 1
                }
            case UInt8(ascii: "*"), UInt8(ascii: "?"), UInt8(ascii: "["):
                glob = true
                text.append(b)
                index += 1
            default:
                text.append(b)
                index += 1
            }
        }
        let word = ShellWord(text: String(decoding: text, as: UTF8.self), isDynamic: dynamic, hasGlob: glob)
        return (word, assignmentName)
    }

    private mutating func readDoubleQuoted(into text: inout [UInt8], dynamic: inout Bool) {
        while let b = peek() {
            switch b {
            case UInt8(ascii: "\""):
                index += 1
                return
            case UInt8(ascii: "\\"):
                index += 1
                guard let next = peek() else { break }
                index += 1
                switch next {
                case UInt8(ascii: "$"), UInt8(ascii: "`"), UInt8(ascii: "\""), UInt8(ascii: "\\"):
                    text.append(next)
                case 0x0A:
                    break
                default:
                    text.append(UInt8(ascii: "\\"))
                    text.append(next)
                }
            case UInt8(ascii: "$"):
                readDollar(into: &text, dynamic: &dynamic, inDoubleQuotes: true)
            case UInt8(ascii: "`"):
                readBackticks(into: &text)
                dynamic = true
            default:
                text.append(b)
                index += 1
            }
        }
        problems.append("unterminated double quote")
    }

    private mutating func readDollar(into text: inout [UInt8], dynamic: inout Bool, inDoubleQuotes: Bool = false) {
        let start = index
        index += 1  // $
        guard let next = peek() else {
            text.append(UInt8(ascii: "$"))
            return
        }
        switch next {
        case UInt8(ascii: "("):
            if peek(1) == UInt8(ascii: "(") {
                index += 2
                skipBalanced(open: UInt8(ascii: "("), close: UInt8(ascii: ")"), initialDepth: 2)
            } else {
                index += 1
                parseNested(closing: UInt8(ascii: ")"), what: "command substitution")
            }
            text.append(contentsOf: bytes[start..<index])
            dynamic = true
        case UInt8(ascii: "{"):
            index += 1
            skipBalanced(open: UInt8(ascii: "{"), close: UInt8(ascii: "}"), initialDepth: 1)
            text.append(contentsOf: bytes[start..<index])
            dynamic = true
        case UInt8(ascii: "'") where !inDoubleQuotes:
            index += 1
            readANSIC(into: &text)
        case UInt8(ascii: "\"") where !inDoubleQuotes:
            index += 1
            readDoubleQuoted(into: &text, dynamic: &dynamic)
        default:
            if Self.isNameStart(next) {
                while let c = peek(), Self.isNameChar(c) { index += 1 }
                text.append(contentsOf: bytes[start..<index])
                dynamic = true
            } else if (next >= 0x30 && next <= 0x39) || "@*#?-$!".utf8.contains(next) {
                index += 1
                text.append(contentsOf: bytes[start..<index])
                dynamic = true
            } else {
                text.append(UInt8(ascii: "$"))  // a lone dollar is literal
            }
        }
    }

    /// `$'…'`: ANSI-C quoting, which agents (and evasions) use to spell `rm` as `$'\x72\x6d'`.
    private mutating func readANSIC(into text: inout [UInt8]) {
        while let b = peek() {
            index += 1
            if b == UInt8(ascii: "'") { return }
            guard b == UInt8(ascii: "\\"), let e = peek() else {
                text.append(b)
                continue
            }
            index += 1
            switch e {
            case UInt8(ascii: "n"): text.append(0x0A)
            case UInt8(ascii: "t"): text.append(0x09)
            case UInt8(ascii: "r"): text.append(0x0D)
            case UInt8(ascii: "a"): text.append(0x07)
            case UInt8(ascii: "b"): text.append(0x08)
            case UInt8(ascii: "e"), UInt8(ascii: "E"): text.append(0x1B)
            case UInt8(ascii: "f"): text.append(0x0C)
            case UInt8(ascii: "v"): text.append(0x0B)
            case UInt8(ascii: "x"):
                var value: UInt32 = 0
                var count = 0
                while count < 2, let h = peek(), let d = Self.hexValue(h) {
                    value = value * 16 + d
                    index += 1
                    count += 1
                }
                appendScalar(value, to: &text)
            case UInt8(ascii: "u"), UInt8(ascii: "U"):
                let maxDigits = e == UInt8(ascii: "u") ? 4 : 8
                var value: UInt32 = 0
                var count = 0
                while count < maxDigits, let h = peek(), let d = Self.hexValue(h) {
                    value = value * 16 + d
                    index += 1
                    count += 1
                }
                appendScalar(value, to: &text)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var value = UInt32(e - 0x30)
                var count = 1
                while count < 3, let o = peek(), o >= 0x30 && o <= 0x37 {
                    value = value * 8 + UInt32(o - 0x30)
                    index += 1
                    count += 1
                }
                appendScalar(value, to: &text)
            default:
                text.append(e)
            }
        }
        problems.append("unterminated $'…' quote")
    }

    private static func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case 0x30...0x39: return UInt32(b - 0x30)
        case 0x41...0x46: return UInt32(b - 0x41 + 10)
        case 0x61...0x66: return UInt32(b - 0x61 + 10)
        default: return nil
        }
    }

    private func appendScalar(_ value: UInt32, to text: inout [UInt8]) {
        if value < 0x80 {
            text.append(UInt8(value))
        } else if let scalar = Unicode.Scalar(value) {
            text.append(contentsOf: Array(String(Character(scalar)).utf8))
        }
    }

    /// `` `…` ``: the old command substitution. Its body is parsed as a script of its own.
    private mutating func readBackticks(into text: inout [UInt8]) {
        let start = index
        index += 1
        var body: [UInt8] = []
        var closed = false
        while let b = peek() {
            index += 1
            if b == UInt8(ascii: "`") {
                closed = true
                break
            }
            if b == UInt8(ascii: "\\"), let next = peek(), next == UInt8(ascii: "`") || next == UInt8(ascii: "\\") || next == UInt8(ascii: "$") {
                body.append(next)
                index += 1
                continue
            }
            body.append(b)
        }
        if !closed { problems.append("unterminated backtick substitution") }
        let inner = body.withUnsafeBufferPointer { ShellParser.parse(bytes: $0, depth: depth + 1) }
        commands.append(contentsOf: inner.commands)
        problems.append(contentsOf: inner.problems)
        definedFunctions.formUnion(inner.definedFunctions)
        text.append(contentsOf: bytes[start..<index])
    }
}

/// One shell word after quote removal.
///
/// `text` is the value the program would receive when the word holds no expansion.
/// When it does (`$VAR`, `$(…)`, `` `…` ``, `${…}`), `isDynamic` is set and `text`
/// keeps the expansion's source in place: Holdpoint cannot know the value, and rules
/// that depend on it must assume the worst.
public struct ShellWord: Sendable, Equatable, CustomStringConvertible {
    public var text: String
    public var isDynamic: Bool
    /// An unquoted `*`, `?` or `[`: the shell would expand it against the file system.
    public var hasGlob: Bool

    public init(text: String, isDynamic: Bool = false, hasGlob: Bool = false) {
        self.text = text
        self.isDynamic = isDynamic
        self.hasGlob = hasGlob
    }

    public var description: String { text }

    /// The words' texts separated by spaces, copied into one allocation: this is every
    /// finding's subject, built for every command. (`joined(separator:)` on the mapped
    /// texts also made an array per command and, being generic, looked `Array`'s
    /// conformances up at run time on first use.)
    static func joinedText<Words: Collection<ShellWord>>(_ words: Words) -> String {
        let length = words.reduce(max(words.count - 1, 0)) { $0 + $1.text.utf8.count }
        guard length > 0 else { return "" }
        return String(unsafeUninitializedCapacity: length) { buffer in
            var offset = 0
            for (index, word) in words.enumerated() {
                if index > 0 {
                    buffer[offset] = UInt8(ascii: " ")
                    offset += 1
                }
                buffer.copyUTF8(of: word.text, at: &offset)
            }
            return offset
        }
    }
}

public struct Redirection: Sendable, Equatable {
    /// The operator as written: `>`, `>>`, `<`, `&>`, `2>`, `>&`, `<<`, `<<<`, …
    public var op: String
    public var target: ShellWord

    public var isOutput: Bool { op.containsASCII(">") }
}

/// A command the shell would run: assignments, words and redirections.
public struct SimpleCommand: Sendable, Equatable {
    public var assignments: [(name: String, value: ShellWord)] = []
    public var words: [ShellWord] = []
    public var redirections: [Redirection] = []
    /// What reaches the command's standard input from here-documents and here-strings.
    public var stdinTexts: [String] = []
    /// The command reads the previous command's output (it stands after a `|`).
    public var readsPipe = false

    public init(words: [ShellWord] = []) { self.words = words }

    public static func == (lhs: SimpleCommand, rhs: SimpleCommand) -> Bool {
        lhs.words == rhs.words && lhs.redirections == rhs.redirections && lhs.stdinTexts == rhs.stdinTexts
            && lhs.readsPipe == rhs.readsPipe && lhs.assignments.count == rhs.assignments.count
            && zip(lhs.assignments, rhs.assignments).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}

/// Everything a command line would run, flattened: commands in lists, pipelines,
/// subshells, groups, command and process substitutions, and function bodies.
public struct ShellScript: Sendable, Equatable {
    public var commands: [SimpleCommand]
    /// Constructs the parser did not understand. In production any of these gates the action.
    public var problems: [String]
    /// Names of shell functions the line defines; calling one runs code Holdpoint cannot see
    /// through its name alone (a fork bomb is `:(){ :|:& };:`).
    public var definedFunctions: Set<String> = []
}

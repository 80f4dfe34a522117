/// One thing the analysis found out about an action: which rule saw it and what it means.
/// A verdict is built from all findings; the most restrictive wins.
public struct Finding: Sendable, Equatable {
    public var rule: String
    public var message: String
    public var effect: RuleEffect
    /// What the finding is about, as text: the command words or the operation name.
    public var subject: String {
        get { subjectSource.text }
        set { subjectSource = .text(newValue) }
    }
    /// The subject as found. Only writes are held against the policy's destructive
    /// patterns, so most subjects are never read: a command's words are joined when asked.
    var subjectSource: Subject
    /// The program whose rules found this (a shell command's basename), if any.
    public var program: String?

    public init(rule: String, message: String, effect: RuleEffect, subject: String) {
        self.init(rule: rule, message: message, effect: effect, subject: .text(subject))
    }

    init(rule: String, message: String, effect: RuleEffect, subject: Subject) {
        self.rule = rule
        self.message = message
        self.effect = effect
        self.subjectSource = subject
    }

    static func unknown(_ rule: String, _ message: String, subject: String) -> Finding {
        unknown(rule, message, subject: .text(subject))
    }

    static func unknown(_ rule: String, _ message: String, subject: Subject) -> Finding {
        Finding(rule: rule, message: message, effect: RuleEffect(operationClass: .unknown), subject: subject)
    }

    public static func == (lhs: Finding, rhs: Finding) -> Bool {
        lhs.program == rhs.program && lhs.rule == rhs.rule && lhs.message == rhs.message && lhs.effect == rhs.effect && lhs.subject == rhs.subject
    }
}

/// A finding's subject: text, or a command's words, to be joined with spaces when read.
enum Subject: Sendable {
    case text(String)
    case words([ShellWord])

    var text: String {
        switch self {
        case .text(let text): text
        case .words(let words): ShellWord.joinedText(words)
        }
    }
}

/// The loaded rule packs, indexed for matching by program name.
public struct RuleSet: Sendable {
    public private(set) var packs: [RulePack]
    /// Every rule once, in pack order, each behind one reference. The indexes below hold
    /// positions in it rather than copies, and matching reads a rule through its box: a
    /// `CommandRule` is a dozen reference-counted fields, and copying the rules a command
    /// is matched against was a tenth of a classification.
    private(set) var rules: [SharedRule] = []
    private var rulesByProgram: [String: ProgramRules] = [:]
    /// Rules whose program is a glob (`mkfs.*`): few, checked after the index.
    private var globPrograms: [(glob: Glob, rule: Int)] = []
    private(set) var operationVerbs: [String: OperationClass] = [:]
    /// How commands of programs no rule knows are read (the packs' `command_words`).
    private(set) var unknownPrograms = UnknownProgramReading()

    public init(packs: [RulePack]) {
        self.packs = []
        for pack in packs { add(pack) }
    }

    /// Adds a pack's rules after those already loaded (earlier packs' fallbacks win ties).
    mutating func add(_ pack: RulePack) {
        packs.append(pack)
        rules.reserveCapacity(rules.count + pack.rules.count)
        for rule in pack.rules {
            let index = rules.count
            rules.append(SharedRule(rule))
            for program in rule.programs {
                if program.containsASCII("*") || program.containsASCII("?") {
                    globPrograms.append((Glob(program), index))
                } else {
                    rulesByProgram[program, default: ProgramRules()].add(index, firstWords: rule.subcommand.first?.literalAlternatives)
                }
            }
        }
        for client in pack.sqlClients { rulesByProgram[client.program, default: ProgramRules()].sqlClient = client }
        for (opClass, verbs) in pack.operationVerbs {
            for verb in verbs where operationVerbs[verb] == nil { operationVerbs[verb] = opClass }
            if opClass != .read { unknownPrograms.change.formUnion(verbs) }
        }
        unknownPrograms.add(pack.commandWords)
    }

    /// What the packs say about `program`, in one lookup: where the rules that may match it
    /// with these positional arguments are in `rules`, in pack order (rules whose sub-command
    /// starts with a word none of the first three positionals is are left out: they could
    /// not match, see `ArgumentView`), and where its SQL is, if it is a database client.
    func lookup(_ program: String, positionals: [ShellWord], reach: Int = 3) -> (rules: [Int], sqlClient: SQLClient?) {
        let entry = rulesByProgram[program]
        var found = entry?.candidates(positionals, reach: reach) ?? []
        for index in globPrograms.indices where globPrograms[index].glob.matches(program) { found.append(globPrograms[index].rule) }
        return (found, entry?.sqlClient)
    }

    public var ruleCount: Int { rules.count }

    /// Whether some rule or SQL client names `program`.
    func knows(_ program: String) -> Bool {
        rulesByProgram[program] != nil || globPrograms.contains { $0.glob.matches(program) }
    }

    /// Whether some rule of `program` starts its sub-command with `word` (`delete` for kubectl).
    func isSubcommand(_ word: String, of program: String) -> Bool {
        rulesByProgram[program]?.starts(with: word) ?? false
    }
}

/// One program's rules, split by the first sub-command word they need. A program like git
/// has sixteen rules, and trying each on every command was a fifth of classifying one.
struct ProgramRules: Sendable {
    /// Rules any command of the program may match: no sub-command, or one whose first word
    /// is a pattern rather than fixed words.
    private var anyWords: [Int] = []
    /// The others, by each word their sub-command may start with.
    private var byFirstWord: [String: [Int]] = [:]
    /// Where its SQL is, when the program is a database client.
    var sqlClient: SQLClient?

    func starts(with word: String) -> Bool { byFirstWord[word] != nil }

    mutating func add(_ rule: Int, firstWords: [String]?) {
        guard let firstWords else {
            anyWords.append(rule)
            return
        }
        for word in firstWords where byFirstWord[word]?.last != rule { byFirstWord[word, default: []].append(rule) }
    }

    /// The rules that may match, in order: the first sub-command word is looked for among
    /// the first three positionals, as `ArgumentView.subcommandMatches` does.
    func candidates(_ positionals: [ShellWord], reach: Int = 3) -> [Int] {
        guard !byFirstWord.isEmpty else { return anyWords }
        var found = anyWords
        var added = 0
        for word in positionals.prefix(reach) where !word.isDynamic {
            if let more = byFirstWord[word.text] {
                found += more
                added += 1
            }
        }
        // One list alone is already in order; two or more are merged.
        if added == 0 || (added == 1 && anyWords.isEmpty) { return found }
        found.sort()
        var unique: [Int] = []
        unique.reserveCapacity(found.count)
        for index in found where unique.last != index { unique.append(index) }
        return unique
    }
}

/// A rule behind one reference, so that handing it around costs one retain, not one per field.
final class SharedRule: Sendable {
    let rule: CommandRule

    init(_ rule: CommandRule) { self.rule = rule }
}

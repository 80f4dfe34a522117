/// One thing the analysis found out about an action: which rule saw it and what it means.
/// A verdict is built from all findings; the most restrictive wins.
public struct Finding: Sendable, Equatable {
    public var rule: String
    public var message: String
    public var effect: RuleEffect
    /// What the finding is about, as text: the command words or the operation name.
    public var subject: String

    public init(rule: String, message: String, effect: RuleEffect, subject: String) {
        self.rule = rule
        self.message = message
        self.effect = effect
        self.subject = subject
    }

    static func unknown(_ rule: String, _ message: String, subject: String) -> Finding {
        Finding(rule: rule, message: message, effect: RuleEffect(operationClass: .unknown), subject: subject)
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
    private(set) var sqlClients: [String: SQLClient] = [:]
    private(set) var operationVerbs: [String: OperationClass] = [:]

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
        for client in pack.sqlClients { sqlClients[client.program] = client }
        for (opClass, verbs) in pack.operationVerbs {
            for verb in verbs where operationVerbs[verb] == nil { operationVerbs[verb] = opClass }
        }
    }

    /// Where the rules that may match `program` with these positional arguments are in
    /// `rules`, in pack order. Rules whose sub-command starts with a word none of the first
    /// three positionals is are left out: they could not match (see `ArgumentView`).
    func ruleIndices(for program: String, positionals: [ShellWord]) -> [Int] {
        var found = rulesByProgram[program]?.candidates(positionals) ?? []
        for index in globPrograms.indices where globPrograms[index].glob.matches(program) { found.append(globPrograms[index].rule) }
        return found
    }

    public var ruleCount: Int { rules.count }
}

/// One program's rules, split by the first sub-command word they need. A program like git
/// has sixteen rules, and trying each on every command was a fifth of classifying one.
struct ProgramRules: Sendable {
    /// Rules any command of the program may match: no sub-command, or one whose first word
    /// is a pattern rather than fixed words.
    private var anyWords: [Int] = []
    /// The others, by each word their sub-command may start with.
    private var byFirstWord: [String: [Int]] = [:]

    mutating func add(_ rule: Int, firstWords: [String]?) {
        guard let firstWords else {
            anyWords.append(rule)
            return
        }
        for word in firstWords where byFirstWord[word]?.last != rule { byFirstWord[word, default: []].append(rule) }
    }

    /// The rules that may match, in order: the first sub-command word is looked for among
    /// the first three positionals, as `ArgumentView.subcommandMatches` does.
    func candidates(_ positionals: [ShellWord]) -> [Int] {
        guard !byFirstWord.isEmpty else { return anyWords }
        var found = anyWords
        var added = 0
        for word in positionals.prefix(3) where !word.isDynamic {
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

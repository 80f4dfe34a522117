import Synchronization

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

/// A rule pack as a `RuleSet` holds it: the programs it names, and how to make it. The
/// built-in packs are made the first time one of their programs is looked up: making all
/// twenty (some five hundred rules, their globs and flags, and their index) was most of
/// what a hook call spent before it looked at its one command.
public struct PackSource: Sendable {
    public let name: String
    /// Every program its rules and SQL clients name, globs (`mkfs.*`) included.
    public let programs: [String]
    /// Made with the set: a pack that names programs by glob, or carries words every
    /// classification needs (`operation_verbs`, `command_words`).
    public let eager: Bool
    let make: @Sendable () -> RulePack

    public init(name: String, programs: [String], eager: Bool, make: @escaping @Sendable () -> RulePack) {
        self.name = name
        self.programs = programs
        self.eager = eager
        self.make = make
    }

    /// A pack already made (from YAML or a policy file).
    public init(_ pack: RulePack) {
        let programs = pack.rules.flatMap(\.programs) + pack.sqlClients.map(\.program)
        self.init(name: pack.name, programs: programs, eager: true) { pack }
    }
}

/// The loaded rule packs, indexed for matching by program name.
public struct RuleSet: Sendable {
    private let sources: [PackSource]
    /// For each program, the packs that name it, in pack order, and its rules once gathered.
    private var programs: [String: ProgramSlot] = [:]
    /// Each pack once made, shared by every copy of this set (packs do not change once made).
    private let slots: [PackSlot]
    /// The rules that name programs by glob (`mkfs.*`), from packs made with the set, tried
    /// after the index.
    private var globRules: [(glob: Glob, rule: SharedRule)] = []
    private(set) var operationVerbs: [String: OperationClass] = [:]
    /// How commands of programs no rule knows are read (the packs' `command_words`).
    private(set) var unknownPrograms = UnknownProgramReading()

    public init(packs: [RulePack]) {
        self.init(sources: packs.map(PackSource.init))
    }

    public init(sources: [PackSource]) {
        self.sources = sources
        slots = sources.map { _ in PackSlot() }
        var packsByProgram: [String: [Int]] = [:]
        packsByProgram.reserveCapacity(sources.reduce(0) { $0 + $1.programs.count })
        for (number, source) in sources.enumerated() {
            for program in source.programs where !program.containsASCII("*") && !program.containsASCII("?") && packsByProgram[program]?.last != number {
                packsByProgram[program, default: []].append(number)
            }
        }
        programs = packsByProgram.mapValues(ProgramSlot.init)
        for number in sources.indices where sources[number].eager || sources[number].programs.contains(where: { $0.containsASCII("*") || $0.containsASCII("?") }) {
            let made = index(number)
            for (glob, rule) in made.globs { globRules.append((glob, made.rules[rule])) }
            let pack = made.pack
            for (opClass, verbs) in pack.operationVerbs {
                for verb in verbs where operationVerbs[verb] == nil { operationVerbs[verb] = opClass }
                if opClass != .read { unknownPrograms.change.formUnion(verbs) }
            }
            unknownPrograms.add(pack.commandWords)
        }
    }

    /// Every pack, made.
    public var packs: [RulePack] { sources.indices.map { index($0).pack } }

    public var ruleCount: Int { packs.reduce(0) { $0 + $1.rules.count } }

    /// Every rule once, in pack order (all packs made).
    var allRules: [SharedRule] { sources.indices.flatMap { index($0).rules } }

    private func index(_ number: Int) -> PackIndex {
        // Two threads that both find the pack missing both make it; the first one stored is kept.
        slots[number].made.load() ?? slots[number].made.storeIfNil(PackIndex(sources[number].make()))
    }

    /// What the packs say about `program`: its rules split by their first sub-command word,
    /// pack by pack, the rules that name it by a glob, and its SQL client.
    func entry(for program: String) -> ProgramEntry {
        var entry = ProgramEntry()
        if let slot = programs[program] {
            entry.named =
                slot.gathered.load()
                ?? slot.gathered.storeIfNil(
                    NamedProgram(
                        parts: slot.packs.compactMap { number in
                            let pack = index(number)
                            return pack.byProgram[program].map { (pack.rules, $0) }
                        }))
        }
        for (glob, rule) in globRules where glob.matches(program) { entry.globRules.append(rule) }
        return entry
    }

    /// The rules that may match `program` with these positional arguments, in pack order,
    /// and its SQL client (`ProgramEntry.candidates`).
    func lookup(_ program: String, positionals: [ShellWord], reach: Int = 3) -> (rules: [SharedRule], sqlClient: SQLClient?) {
        let entry = entry(for: program)
        return (entry.candidates(positionals, reach: reach), entry.sqlClient)
    }

    /// Whether some rule or SQL client names `program`.
    func knows(_ program: String) -> Bool {
        programs[program] != nil || globRules.contains { $0.glob.matches(program) }
    }
}

/// One pack, made, with its rules indexed by program.
final class PackIndex: Sendable {
    let pack: RulePack
    /// Its rules, each behind one reference: matching reads a rule through its box; a
    /// `CommandRule` is a dozen reference-counted fields, and copying the rules a command is
    /// matched against was a tenth of a classification.
    let rules: [SharedRule]
    /// Its rules by the program they name, split by their first sub-command word.
    let byProgram: [String: ProgramRules]
    /// Its rules that name a program by glob.
    let globs: [(glob: Glob, rule: Int)]

    init(_ pack: RulePack) {
        self.pack = pack
        rules = pack.rules.map(SharedRule.init)
        var byProgram: [String: ProgramRules] = [:]
        var globs: [(glob: Glob, rule: Int)] = []
        for (index, rule) in pack.rules.enumerated() {
            // Once per rule, not once per program it names (the read-only rule names two hundred).
            let firstWords = rule.subcommand.first?.literalAlternatives
            for program in rule.programs {
                if program.containsASCII("*") || program.containsASCII("?") {
                    globs.append((Glob(program), index))
                } else {
                    byProgram[program, default: ProgramRules()].add(index, firstWords: firstWords)
                }
            }
        }
        for client in pack.sqlClients { byProgram[client.program, default: ProgramRules()].sqlClient = client }
        self.byProgram = byProgram
        self.globs = globs
    }
}

/// A program the packs name: which packs, and once first looked up, its rules from them.
final class ProgramSlot: Sendable {
    let packs: [Int]
    let gathered = AtomicLazyReference<NamedProgram>()

    init(_ packs: [Int]) { self.packs = packs }
}

/// A program's rules, pack by pack, each pack's split by their first sub-command word.
final class NamedProgram: Sendable {
    let parts: [(rules: [SharedRule], index: ProgramRules)]
    let sqlClient: SQLClient?

    init(parts: [(rules: [SharedRule], index: ProgramRules)]) {
        self.parts = parts
        sqlClient = parts.lazy.compactMap(\.index.sqlClient).first
    }
}

/// Where a `RuleSet` keeps one pack once made.
final class PackSlot: Sendable {
    let made = AtomicLazyReference<PackIndex>()
}

/// A program's rules, pack by pack, as a command of it is matched.
struct ProgramEntry {
    var named: NamedProgram?
    /// Rules that name the program by a glob (`mkfs.*`), tried after the others.
    var globRules: [SharedRule] = []

    var sqlClient: SQLClient? { named?.sqlClient }

    /// Whether some rule starts its sub-command with `word`.
    func starts(with word: String) -> Bool {
        // Through a buffer pointer: `contains { … }` and `for part in parts` copied each
        // pack's part (its rules and index, three references) for every word asked about.
        guard let parts = named?.parts else { return false }
        return parts.withUnsafeBufferPointer { parts in
            for i in parts.indices where parts[i].index.starts(with: word) { return true }
            return false
        }
    }

    /// The rules that may match, in pack order: the first sub-command word is looked for
    /// among the first `reach` positionals (`ProgramRules.candidates`).
    func candidates(_ positionals: [ShellWord], reach: Int = 3) -> [SharedRule] {
        var out: [SharedRule] = []
        forEachCandidate(positionals, reach: reach) { out.append($0) }
        return out
    }

    /// `candidates`, handed over one by one (no array of them is made); returns how many.
    @discardableResult
    func forEachCandidate(_ positionals: [ShellWord], reach: Int = 3, _ body: (SharedRule) -> Void) -> Int {
        var count = 0
        if let parts = named?.parts {
            parts.withUnsafeBufferPointer { parts in
                for p in parts.indices {
                    for index in parts[p].index.candidates(positionals, reach: reach) {
                        body(parts[p].rules[index])
                        count += 1
                    }
                }
            }
        }
        for rule in globRules {
            body(rule)
            count += 1
        }
        return count
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
        // One hashing of the word per insertion: building the index is most of loading the
        // built-in policy, which every hook call does.
        for word in firstWords { Self.appendOnce(rule, to: &byFirstWord[word, default: []]) }
    }

    private static func appendOnce(_ rule: Int, to list: inout [Int]) {
        if list.last != rule { list.append(rule) }
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
    /// The rule's `contains` words, ready to be found in one pass over a word.
    let containsWords: FoldedNeedles?

    init(_ rule: CommandRule) {
        self.rule = rule
        self.containsWords = rule.contains.isEmpty ? nil : FoldedNeedles(rule.contains)
    }
}

/// Words found in a text case-insensitively (ASCII), all in one pass: for each byte, the
/// needles that start with it. A rule such as "a search for live keys" lists a dozen, and
/// searching each word once per needle cost every `git` and `grep` command half a
/// microsecond.
struct FoldedNeedles: Sendable {
    /// Lower-cased.
    private let needles: [[UInt8]]
    private let byFirstByte: [[Int]]

    init(_ words: [String]) {
        needles = words.map { Array($0.lowercased().utf8) }
        var byFirstByte = [[Int]](repeating: [], count: 256)
        for (id, needle) in needles.enumerated() {
            if let first = needle.first { byFirstByte[Int(first)].append(id) }
        }
        self.byFirstByte = byFirstByte
    }

    static func fold(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }

    func occurs(in text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            for start in bytes.indices {
                for id in byFirstByte[Int(Self.fold(bytes[start]))] {
                    let needle = needles[id]
                    guard needle.count <= bytes.count - start else { continue }
                    var j = 1
                    while j < needle.count && Self.fold(bytes[start + j]) == needle[j] { j += 1 }
                    if j == needle.count { return true }
                }
            }
            return false
        }
    }
}

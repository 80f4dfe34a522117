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
    private var rulesByProgram: [String: [Int]] = [:]
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
                    rulesByProgram[program, default: []].append(index)
                }
            }
        }
        for client in pack.sqlClients { sqlClients[client.program] = client }
        for (opClass, verbs) in pack.operationVerbs {
            for verb in verbs where operationVerbs[verb] == nil { operationVerbs[verb] = opClass }
        }
    }

    /// Where the rules for `program` are in `rules`, in pack order.
    func ruleIndices(for program: String) -> [Int] {
        var found = rulesByProgram[program] ?? []
        for index in globPrograms.indices where globPrograms[index].glob.matches(program) { found.append(globPrograms[index].rule) }
        return found
    }

    public var ruleCount: Int { rules.count }
}

/// A rule behind one reference, so that handing it around costs one retain, not one per field.
final class SharedRule: Sendable {
    let rule: CommandRule

    init(_ rule: CommandRule) { self.rule = rule }
}

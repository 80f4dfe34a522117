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
    private var rulesByProgram: [String: [CommandRule]] = [:]
    /// Rules whose program is a glob (`mkfs.*`): few, checked after the index. Two parallel
    /// arrays, so that testing the globs copies no rule.
    private var globPrograms: [Glob] = []
    private var globProgramRules: [CommandRule] = []
    private(set) var sqlClients: [String: SQLClient] = [:]
    private(set) var operationVerbs: [String: OperationClass] = [:]

    public init(packs: [RulePack]) {
        self.packs = []
        for pack in packs { add(pack) }
    }

    /// Adds a pack's rules after those already loaded (earlier packs' fallbacks win ties).
    mutating func add(_ pack: RulePack) {
        packs.append(pack)
        for rule in pack.rules {
            for program in rule.programs {
                if program.containsASCII("*") || program.containsASCII("?") {
                    globPrograms.append(Glob(program))
                    globProgramRules.append(rule)
                } else {
                    rulesByProgram[program, default: []].append(rule)
                }
            }
        }
        for client in pack.sqlClients { sqlClients[client.program] = client }
        for (opClass, verbs) in pack.operationVerbs {
            for verb in verbs where operationVerbs[verb] == nil { operationVerbs[verb] = opClass }
        }
    }

    /// The rules for `program`, in pack order.
    func rules(for program: String) -> [CommandRule] {
        var found = rulesByProgram[program] ?? []
        for index in globPrograms.indices where globPrograms[index].matches(program) { found.append(globProgramRules[index]) }
        return found
    }

    public var ruleCount: Int { packs.reduce(0) { $0 + $1.rules.count } }
}

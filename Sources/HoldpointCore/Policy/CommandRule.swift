import Yams

/// A flag as rules name it: `-f|--force` matches `-f`, `--force`, `--force=yes`, and
/// (for one-letter flags) a cluster such as `-rf`.
public struct FlagSpec: Sendable, Equatable {
    public let spellings: [String]
    /// Per spelling, how else it matches: as `--name=value` (`equalsForm`), inside clusters
    /// like `-rf` (the letter of a one-letter flag such as `-f`), or only as written
    /// (`exactOnly`). Worked out once here, not at every token matched.
    private let forms: [Int16]
    /// The spellings that carry a value (`--replicas=0`), split at the `=`.
    private let withValues: [(name: String, value: String)]
    private static let equalsForm: Int16 = -1
    private static let exactOnly: Int16 = -2

    public init(_ text: String) {
        var spellings: [String] = []
        var start = text.utf8.startIndex
        // `|` separates spellings; empty ones are dropped.
        for index in text.utf8.indices where text.utf8[index] == UInt8(ascii: "|") {
            if start != index { spellings.append(String(text[start..<index])) }
            start = text.utf8.index(after: index)
        }
        if start != text.utf8.endIndex { spellings.append(String(text[start...])) }
        self.spellings = spellings
        withValues = spellings.compactMap { spelling in
            guard let eq = spelling.firstIndex(of: "="), eq != spelling.startIndex else { return nil }
            return (String(spelling[..<eq]), String(spelling[spelling.index(after: eq)...]))
        }
        forms = spellings.map { spelling in
            if spelling.hasPrefix("--") || spelling.count > 2 { return FlagSpec.equalsForm }
            guard spelling.count == 2, let letter = spelling.utf8.last else { return FlagSpec.exactOnly }
            return Int16(letter)
        }
    }

    /// `matches(_:)`, and a spelling with a value (`--replicas=0`) also matches as two words
    /// (`--replicas 0`, `next` being the word after `token`).
    /// Spelled the same: everything else is worked out from the spellings.
    public static func == (lhs: FlagSpec, rhs: FlagSpec) -> Bool { lhs.spellings == rhs.spellings }

    public func matches(_ token: String, next: String?) -> Bool {
        if matches(token) { return true }
        guard let next, !withValues.isEmpty else { return false }
        return withValues.contains { $0.name == token && $0.value == next }
    }

    public func matches(_ token: String) -> Bool {
        let tokenBytes = token.utf8
        for (spelling, form) in zip(spellings, forms) {
            if token == spelling { return true }
            if form == FlagSpec.equalsForm {
                let bytes = spelling.utf8
                if tokenBytes.count > bytes.count, tokenBytes.starts(with: bytes),
                    tokenBytes[tokenBytes.index(tokenBytes.startIndex, offsetBy: bytes.count)] == UInt8(ascii: "=")
                {
                    return true
                }
                continue
            }
            // One-letter flag: look inside clusters like -rf, -fdx (not --long, not -1 numbers).
            guard form >= 0, tokenBytes.count > 2, tokenBytes.first == UInt8(ascii: "-") else { continue }
            let cluster = tokenBytes.dropFirst()
            if cluster.first != UInt8(ascii: "-"),
                cluster.allSatisfy({ ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) }), cluster.contains(UInt8(form))
            {
                return true
            }
        }
        return false
    }
}

/// What a matching rule says about an action.
public struct RuleEffect: Sendable, Equatable {
    public var operationClass: OperationClass
    /// A floor applied in every environment (e.g. `rm -rf /` is gated even in a sandbox).
    public var tier: Tier?
    /// A floor applied in production-like environments only.
    public var productionTier: Tier?
    public var destructive = false
    public var irreversible = false
    public var dataLoss = false

    public init(operationClass: OperationClass, tier: Tier? = nil, productionTier: Tier? = nil, destructive: Bool = false, irreversible: Bool = false, dataLoss: Bool = false) {
        self.operationClass = operationClass
        self.tier = tier
        self.productionTier = productionTier
        self.destructive = destructive
        self.irreversible = irreversible
        self.dataLoss = dataLoss
    }
}

/// A rule over one command's argv, from a rule pack or the policy.
///
/// Every condition given must hold. Unknown values (`$DIR`) count as matching any
/// argument condition: a rule about `rm -rf /` must fire for `rm -rf "$DIR"` too.
public struct CommandRule: Sendable {
    public var id: String
    public var pack: String
    public var message: String
    public var programs: [String]
    /// Leading sub-commands, in order (each a glob with alternatives): `[cloudformation, delete-stack]`.
    public var subcommand: [Glob] = []
    public var flagsAny: [FlagSpec] = []
    public var flagsAll: [FlagSpec] = []
    public var flagsNone: [FlagSpec] = []
    /// Some argument matches one of these globs.
    public var argsAny: [Glob] = []
    /// Some argument matches none of these globs (e.g. a path outside the temp directories).
    public var argsAnyOutside: [Glob] = []
    /// No argument matches any of these globs: the exception to a rule (`curl -d …` writes,
    /// unless the URL is a search endpoint).
    public var argsNoneMatch: [Glob] = []
    /// Some word (flags included) contains one of these, case-insensitively.
    public var contains: [String] = []
    /// Arguments whose value is only known at run time (`"$DIR"`) satisfy `args_any`:
    /// set on rules where the worst case must be assumed, like `rm -rf "$DIR"`.
    public var unknownArgsMatch = false
    /// A fallback fires only when no ordinary rule fired for the command: it is how
    /// packs say "and otherwise this program is read-only".
    public var fallback = false
    /// Nothing follows the sub-command words (`args_none: true`): `git branch` lists,
    /// `git branch NAME` creates.
    public var noArgs = false
    public var effect: RuleEffect
}

/// A SQL client and where its SQL text is on the command line.
public struct SQLClient: Sendable, Equatable {
    public var program: String
    /// Flags whose value is SQL (`-c`, `--command`, `-e`).
    public var flags: [FlagSpec]
    /// The 1-based positional argument that holds SQL (sqlite3 DB "SQL"), if any; with a
    /// `subcommand`, counted after it.
    public var positional: Int?
    /// The sub-command that takes SQL (`bq query 'SELECT …'`); the program's other
    /// sub-commands are left to its rules.
    public var subcommand: String? = nil
}

/// A named collection of rules, loaded from a YAML file.
public struct RulePack: Sendable {
    public var name: String
    public var description: String
    public var rules: [CommandRule]
    public var sqlClients: [SQLClient]
    /// Verb words that tell an API or MCP operation's class (`Delete` → delete).
    public var operationVerbs: [OperationClass: Set<String>]
    /// Words that tell what a command of a program no rule knows does (`command_words`):
    /// `read`, `change` and `change_flags`, `sensitive`. See `UnknownProgramReading`.
    public var commandWords: [String: Set<String>] = [:]

    public init(name: String, description: String, rules: [CommandRule], sqlClients: [SQLClient], operationVerbs: [OperationClass: Set<String>], commandWords: [String: Set<String>] = [:]) {
        self.name = name
        self.description = description
        self.rules = rules
        self.sqlClients = sqlClients
        self.operationVerbs = operationVerbs
        self.commandWords = commandWords
    }
}

enum RuleLoader {
    static let ruleKeys: Set<String> = [
        "id", "program", "subcommand", "flags_any", "flags_all", "flags_none", "args_any", "args_any_outside",
        "args_none_match",
        "contains", "unknown_args_match", "ignore_case", "fallback", "args_none", "class", "tier", "production_tier", "destructive", "irreversible", "data_loss", "message",
    ]

    static func loadPack(text: String, file: String) -> Result<RulePack, ConfigError> {
        let walker = YAMLWalker(file: file)
        guard let root = walker.compose(text) else {
            if walker.issues.isEmpty { walker.fail(nil, "the file is empty") }
            return .failure(ConfigError(issues: walker.issues))
        }
        var pack = RulePack(name: "", description: "", rules: [], sqlClients: [], operationVerbs: [:])
        guard let pairs = walker.mapping(root, "rule pack", allowed: ["pack", "description", "rules", "sql_clients", "operation_verbs", "command_words"]) else {
            return .failure(ConfigError(issues: walker.issues))
        }
        for (key, keyNode, value) in pairs {
            switch key {
            case "pack": pack.name = walker.string(value, "pack") ?? ""
            case "description": pack.description = walker.string(value, "description") ?? ""
            case "rules":
                for node in walker.list(value, "rules") ?? [] {
                    if let rule = loadRule(node, pack: pack.name, walker: walker) { pack.rules.append(rule) }
                }
            case "sql_clients":
                for node in walker.list(value, "sql_clients") ?? [] {
                    guard let fields = walker.mapping(node, "sql_clients entry", allowed: ["program", "flags", "positional", "subcommand"]) else { continue }
                    var client = SQLClient(program: "", flags: [], positional: nil)
                    for (k, _, v) in fields {
                        switch k {
                        case "program": client.program = walker.string(v, "program") ?? ""
                        case "flags": client.flags = (walker.stringList(v, "flags") ?? []).map(FlagSpec.init)
                        case "subcommand": client.subcommand = walker.string(v, "subcommand")
                        default: client.positional = walker.int(v, "positional", minimum: 1)
                        }
                    }
                    if client.program.isEmpty { walker.fail(node, "sql_clients entry: 'program' is required") } else { pack.sqlClients.append(client) }
                }
            case "operation_verbs":
                for (className, classNode, words) in walker.mapping(value, "operation_verbs") ?? [] {
                    guard let opClass = OperationClass(rawValue: className) else {
                        walker.fail(classNode, "operation_verbs: unknown operation class '\(className)'")
                        continue
                    }
                    pack.operationVerbs[opClass, default: []].formUnion((walker.stringList(words, "operation_verbs.\(className)") ?? []).map { $0.lowercased() })
                }
            case "command_words":
                for (kind, kindNode, words) in walker.mapping(value, "command_words") ?? [] {
                    guard UnknownProgramReading.wordKinds.contains(kind) else {
                        walker.fail(kindNode, "command_words: unknown kind '\(kind)' (expected one of \(UnknownProgramReading.wordKinds.sorted().joined(separator: ", ")))")
                        continue
                    }
                    pack.commandWords[kind, default: []].formUnion((walker.stringList(words, "command_words.\(kind)") ?? []).map { $0.lowercased() })
                }
            default:
                walker.fail(keyNode, "unknown key '\(key)'")
            }
        }
        if pack.name.isEmpty { walker.fail(root, "rule pack: 'pack' (its name) is required") }
        if !walker.issues.isEmpty { return .failure(ConfigError(issues: walker.issues)) }
        return .success(pack)
    }

    static func loadRule(_ node: Node, pack: String, walker: YAMLWalker) -> CommandRule? {
        guard let fields = walker.mapping(node, "rule", allowed: ruleKeys) else { return nil }
        var rule = CommandRule(id: "", pack: pack, message: "", programs: [], effect: RuleEffect(operationClass: .unknown))
        var sawClass = false
        var ignoreCase = false
        if let node = fields.first(where: { $0.key == "ignore_case" }) {
            ignoreCase = walker.bool(node.value, "ignore_case") ?? false
        }
        let issuesBefore = walker.issues.count
        for (key, _, value) in fields {
            let context = "rule \(rule.id.isEmpty ? "" : "'\(rule.id)' ")\(key)"
            switch key {
            case "id": rule.id = walker.string(value, "rule id") ?? ""
            case "message": rule.message = walker.string(value, context) ?? ""
            case "program": rule.programs = walker.stringList(value, context) ?? []
            case "subcommand": rule.subcommand = (walker.stringList(value, context) ?? []).map { Glob($0, caseInsensitive: ignoreCase) }
            case "flags_any": rule.flagsAny = (walker.stringList(value, context) ?? []).map(FlagSpec.init)
            case "flags_all": rule.flagsAll = (walker.stringList(value, context) ?? []).map(FlagSpec.init)
            case "flags_none": rule.flagsNone = (walker.stringList(value, context) ?? []).map(FlagSpec.init)
            case "args_any": rule.argsAny = (walker.stringList(value, context) ?? []).map { Glob($0, caseInsensitive: ignoreCase) }
            case "args_any_outside": rule.argsAnyOutside = (walker.stringList(value, context) ?? []).map { Glob($0, caseInsensitive: ignoreCase) }
            case "args_none_match": rule.argsNoneMatch = (walker.stringList(value, context) ?? []).map { Glob($0, caseInsensitive: ignoreCase) }
            case "unknown_args_match": rule.unknownArgsMatch = walker.bool(value, context) ?? false
            case "ignore_case": break
            case "contains": rule.contains = (walker.stringList(value, context) ?? []).map { $0.lowercased() }
            case "fallback": rule.fallback = walker.bool(value, context) ?? false
            case "args_none": rule.noArgs = walker.bool(value, context) ?? false
            case "class":
                if let c = walker.operationClass(value, context) {
                    rule.effect.operationClass = c
                    sawClass = true
                }
            case "tier": rule.effect.tier = walker.tier(value, context)
            case "production_tier": rule.effect.productionTier = walker.tier(value, context)
            case "destructive": rule.effect.destructive = walker.bool(value, context) ?? false
            case "irreversible": rule.effect.irreversible = walker.bool(value, context) ?? false
            case "data_loss": rule.effect.dataLoss = walker.bool(value, context) ?? false
            default: break
            }
        }
        if rule.id.isEmpty { walker.fail(node, "rule: 'id' is required") }
        if rule.programs.isEmpty { walker.fail(node, "rule '\(rule.id)': 'program' is required") }
        if !sawClass && walker.issues.count == issuesBefore { walker.fail(node, "rule '\(rule.id)': 'class' is required") }
        if rule.message.isEmpty { rule.message = rule.id }
        return walker.issues.count == issuesBefore ? rule : nil
    }
}

import Foundation
import HoldpointTestSupport
import Testing

@testable import HoldpointCore

/// The built-in policy and rule packs are written in YAML (`Sources/HoldpointCore/Resources`)
/// and compiled into the binary as Swift values (`CompiledBuiltins.swift`), so an agent's
/// `check` or hook call does not parse 40 KB of YAML on every tool call. The YAML stays the
/// one source of truth: these tests fail when the compiled file no longer says what the
/// YAML says, and rewrite it when asked to:
///
///     HOLDPOINT_REGENERATE=1 swift test --filter CompiledBuiltins
@Suite struct CompiledBuiltinsTests {
    static let compiledFile = TestData.packageRoot.appendingPathComponent("Sources/HoldpointCore/Policy/CompiledBuiltins.swift")

    /// The YAML, loaded the way `HOLDPOINT_DATA_DIR` loads it.
    static func fromYAML() throws -> Policy {
        try PolicyLoader.load(policyFile: nil, dataDirectory: TestData.resources)
    }

    @Test func theCompiledFileSaysWhatTheYAMLSays() throws {
        let expected = BuiltinSourceGenerator.source(try Self.fromYAML())
        let committed = (try? String(contentsOf: Self.compiledFile, encoding: .utf8)) ?? ""
        if committed != expected, ProcessInfo.processInfo.environment["HOLDPOINT_REGENERATE"] == "1" {
            try expected.write(to: Self.compiledFile, atomically: true, encoding: .utf8)
            return
        }
        #expect(committed == expected, "CompiledBuiltins.swift is out of date with the YAML; run: HOLDPOINT_REGENERATE=1 swift test --filter CompiledBuiltins")
    }

    /// The round trip: the values the binary actually uses print back to the same source, so
    /// every field the generator writes is one the compiled code really sets.
    @Test func theCompiledValuesAreTheYAMLValues() throws {
        let compiled = try PolicyLoader.load(policyFile: nil, environment: [:])
        let yaml = try Self.fromYAML()
        #expect(BuiltinSourceGenerator.source(compiled) == BuiltinSourceGenerator.source(yaml))
        #expect(compiled.rules.packs.map(\.name) == yaml.rules.packs.map(\.name))
        #expect(compiled.rules.ruleCount == yaml.rules.ruleCount)
        #expect(compiled.sources == ["(built-in) default-policy.yaml"])
    }

    /// A field added to a rule or the policy must be taught to the generator, or the compiled
    /// built-ins would silently drop it.
    @Test func theGeneratorKnowsEveryField() throws {
        let policy = try Self.fromYAML()
        func labels(_ value: Any) -> Set<String> { Set(Mirror(reflecting: value).children.compactMap(\.label)) }
        let rule = try #require(policy.rules.packs.first?.rules.first)
        #expect(labels(rule) == BuiltinSourceGenerator.ruleFields)
        #expect(labels(rule.effect) == BuiltinSourceGenerator.effectFields)
        #expect(labels(policy.rules.packs[0]) == BuiltinSourceGenerator.packFields)
        #expect(labels(policy) == BuiltinSourceGenerator.policyFields)
        #expect(labels(policy.approvals) == BuiltinSourceGenerator.approvalFields)
    }

    /// A data directory still overrides the compiled built-ins, and a broken one still fails
    /// closed.
    @Test func aDataDirectoryOverridesTheCompiledBuiltins() throws {
        let data = try RulePackLoadingTests.copyOfBuiltinData()
        defer { try? FileManager.default.removeItem(at: data) }
        try "pack: only\nrules:\n  - id: only-rule\n    program: [zzz]\n    class: delete\n".write(
            to: data.appendingPathComponent("rule-packs/readonly.yaml"), atomically: true, encoding: .utf8)
        let policy = try PolicyLoader.load(policyFile: nil, environment: ["HOLDPOINT_DATA_DIR": data.path])
        #expect(policy.rules.packs.last?.name == "only")
        let empty = try Scratch.directory("hp-empty")
        defer { try? FileManager.default.removeItem(at: empty) }
        #expect(throws: ConfigError.self) { try PolicyLoader.load(policyFile: nil, environment: ["HOLDPOINT_DATA_DIR": empty.path]) }
    }
}

/// Prints a loaded policy as the Swift source of `CompiledBuiltins`. Sets and dictionaries
/// are printed sorted, so the same data always gives the same text.
enum BuiltinSourceGenerator {
    static let ruleFields: Set<String> = [
        "id", "pack", "message", "programs", "subcommand", "flagsAny", "flagsAll", "flagsNone",
        "argsAny", "argsAnyOutside", "argsNoneMatch", "contains", "unknownArgsMatch", "fallback", "noArgs", "effect",
    ]
    static let effectFields: Set<String> = ["operationClass", "tier", "productionTier", "destructive", "irreversible", "dataLoss"]
    static let packFields: Set<String> = ["name", "description", "rules", "sqlClients", "operationVerbs", "commandWords"]
    static let policyFields: Set<String> = [
        "profile", "destructiveActions", "changeMagnitude", "environmentRules", "productionEnvironments",
        "confidenceThreshold", "tierOverrides", "approvals", "rules", "sources", "redactor", "redactPatterns", "limits", "firstTime", "budget", "plans", "examples", "retention", "notify",
    ]
    static let approvalFields: Set<String> = [
        "required", "rejectionsToReject", "allowSelfApproval", "timeouts", "reviewers", "validFor",
        "minReadTime", "attentionCheckAfter", "attentionCheckWithin", "oneFromEach", "rules", "escalateAfter", "warnAt",
    ]

    static func source(_ policy: Policy) -> String {
        var out = """
            // swift-format-ignore-file
            // GENERATED from Sources/HoldpointCore/Resources (default-policy.yaml, rule-packs/*.yaml)
            // by Tests/HoldpointCoreTests/CompiledBuiltinsTests.swift. Do not edit: change the YAML,
            // then run `HOLDPOINT_REGENERATE=1 swift test --filter CompiledBuiltins`.

            /// The built-in policy and rule packs as Swift values, so that loading them costs no
            /// parsing. Tests keep them identical to the YAML they come from.
            enum CompiledBuiltins {
                static func packs() -> [RulePack] {
                    [\(policy.rules.packs.indices.map { "pack\($0)()" }.joined(separator: ", "))]
                }

                /// The packs with the programs they name, each made when first needed.
                static func sources() -> [PackSource] {
                    [

            """
        for (index, pack) in policy.rules.packs.enumerated() {
            var programs: [String] = []
            for program in pack.rules.flatMap(\.programs) + pack.sqlClients.map(\.program) where !programs.contains(program) { programs.append(program) }
            let eager = !pack.operationVerbs.isEmpty || !pack.commandWords.isEmpty || programs.contains { $0.contains("*") || $0.contains("?") }
            out += "            PackSource(name: \(literal(pack.name)), programs: \(stringArray(programs)), eager: \(eager)) { pack\(index)() },\n"
        }
        out += "        ]\n    }\n"
        for (index, pack) in policy.rules.packs.enumerated() { out += packSource(pack, index: index) }
        out += policySource(policy)
        out += "}\n"
        return out
    }

    static func packSource(_ pack: RulePack, index: Int) -> String {
        var out = "\n    /// \(pack.name).yaml\n    private static func pack\(index)() -> RulePack {\n"
        out += "        var rules: [CommandRule] = []\n        rules.reserveCapacity(\(pack.rules.count))\n"
        for rule in pack.rules { out += "        rules.append(\(ruleSource(rule)))\n" }
        let clients = pack.sqlClients.map { client in
            "SQLClient(program: \(literal(client.program)), flags: \(flags(client.flags)), positional: \(client.positional.map(String.init) ?? "nil")"
                + (client.subcommand.map { ", subcommand: \(literal($0))" } ?? "") + ")"
        }
        let verbs = pack.operationVerbs.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\(caseName($0.key)): \(stringArray($0.value.sorted()))" }
        out += "        return RulePack(name: \(literal(pack.name)), description: \(literal(pack.description)), rules: rules,\n"
        out += "                        sqlClients: [\(clients.joined(separator: ", "))],\n"
        let words = pack.commandWords.sorted { $0.key < $1.key }.map { "\(literal($0.key)): \(stringArray($0.value.sorted()))" }
        out += "                        operationVerbs: [\(verbs.isEmpty ? ":" : verbs.joined(separator: ", "))]"
        out += words.isEmpty ? ")\n    }\n" : ",\n                        commandWords: [\(words.joined(separator: ", "))])\n    }\n"
        return out
    }

    static func ruleSource(_ rule: CommandRule) -> String {
        var args = ["id: \(literal(rule.id))", "pack: \(literal(rule.pack))", "message: \(literal(rule.message))", "programs: \(stringArray(rule.programs))"]
        if !rule.subcommand.isEmpty { args.append("subcommand: \(globs(rule.subcommand))") }
        if !rule.flagsAny.isEmpty { args.append("flagsAny: \(flags(rule.flagsAny))") }
        if !rule.flagsAll.isEmpty { args.append("flagsAll: \(flags(rule.flagsAll))") }
        if !rule.flagsNone.isEmpty { args.append("flagsNone: \(flags(rule.flagsNone))") }
        if !rule.argsAny.isEmpty { args.append("argsAny: \(globs(rule.argsAny))") }
        if !rule.argsAnyOutside.isEmpty { args.append("argsAnyOutside: \(globs(rule.argsAnyOutside))") }
        if !rule.argsNoneMatch.isEmpty { args.append("argsNoneMatch: \(globs(rule.argsNoneMatch))") }
        if !rule.contains.isEmpty { args.append("contains: \(stringArray(rule.contains))") }
        if rule.unknownArgsMatch { args.append("unknownArgsMatch: true") }
        if rule.fallback { args.append("fallback: true") }
        if rule.noArgs { args.append("noArgs: true") }
        let e = rule.effect
        var effect = ["operationClass: \(caseName(e.operationClass))"]
        if let tier = e.tier { effect.append("tier: \(caseName(tier))") }
        if let tier = e.productionTier { effect.append("productionTier: \(caseName(tier))") }
        if e.destructive { effect.append("destructive: true") }
        if e.irreversible { effect.append("irreversible: true") }
        if e.dataLoss { effect.append("dataLoss: true") }
        args.append("effect: RuleEffect(\(effect.joined(separator: ", ")))")
        return "CommandRule(\(args.joined(separator: ", ")))"
    }

    static func policySource(_ policy: Policy) -> String {
        var out = "\n    /// default-policy.yaml, over `rules`.\n"
        out += "    static func defaultPolicy(rules: RuleSet) throws -> Policy {\n"
        out += "        var policy = Policy(rules: rules)\n"
        out += "        policy.profile = \(caseName(policy.profile))\n"
        for pattern in policy.destructiveActions {
            out += "        policy.destructiveActions.append(try DestructivePattern(pattern: \(literal(pattern.pattern)), scope: \(stringArray(pattern.scope)), "
            out += "action: \(caseName(pattern.action)), message: \(literal(pattern.message))))\n"
        }
        if let m = policy.changeMagnitude {
            out += "        policy.changeMagnitude = ChangeMagnitude(maxResourcesAffected: \(number(m.maxResourcesAffected)), "
            out += "maxCostImpactUSD: \(number(m.maxCostImpactUSD)), action: \(caseName(m.action)))\n"
        } else {
            out += "        policy.changeMagnitude = nil\n"
        }
        for (name, rule) in policy.environmentRules.sorted(by: { $0.key < $1.key }) {
            let allowed = rule.allowedOperations.map(classSet) ?? "nil"
            out += "        policy.environmentRules[\(literal(name))] = EnvironmentRule(allowedOperations: \(allowed), blockedOperations: \(classSet(rule.blockedOperations)))\n"
        }
        out += "        policy.productionEnvironments = \(stringArray(policy.productionEnvironments.sorted()))\n"
        out += "        policy.confidenceThreshold = \(number(policy.confidenceThreshold))\n"
        for (production, modes) in policy.tierOverrides.sorted(by: { !$0.key && $1.key }) {
            for (mode, classes) in modes.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                for (opClass, tier) in classes.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                    out += "        policy.tierOverrides[\(production), default: [:]][\(caseName(mode)), default: [:]][\(caseName(opClass))] = \(caseName(tier))\n"
                }
            }
        }
        let a = policy.approvals
        out += "        policy.approvals.required = \(a.required)\n"
        out += "        policy.approvals.rejectionsToReject = \(a.rejectionsToReject)\n"
        out += "        policy.approvals.allowSelfApproval = \(a.allowSelfApproval)\n"
        let timeouts = a.timeouts.sorted { $0.key < $1.key }.map { "\(caseName($0.key)): \($0.value)" }
        out += "        policy.approvals.timeouts = [\(timeouts.isEmpty ? ":" : timeouts.joined(separator: ", "))]\n"
        out += "        policy.approvals.reviewers = \(stringArray(a.reviewers))\n"
        out += "        policy.approvals.validFor = \(a.validFor)\n"
        out += "        policy.approvals.minReadTime = \(a.minReadTime)\n"
        out += "        policy.approvals.attentionCheckAfter = \(a.attentionCheckAfter)\n"
        out += "        policy.approvals.attentionCheckWithin = \(a.attentionCheckWithin)\n"
        out += "        policy.sources = \(stringArray(policy.sources))\n"
        out += "        return policy\n    }\n"
        return out
    }

    /// An enum case as Swift source: `String(describing:)` of a case is its name.
    static func caseName<T>(_ value: T) -> String { ".\(String(describing: value))" }

    static func classSet(_ classes: Set<OperationClass>) -> String {
        "[\(classes.sorted { $0.rawValue < $1.rawValue }.map(caseName).joined(separator: ", "))]"
    }

    static func number(_ value: Double?) -> String { value.map { "\($0)" } ?? "nil" }
    static func stringArray<S: Sequence<String>>(_ values: S) -> String { "[\(values.map(literal).joined(separator: ", "))]" }
    static func globs(_ globs: [Glob]) -> String {
        "[\(globs.map { "Glob(\(literal($0.description))\($0.caseInsensitive ? ", caseInsensitive: true" : ""))" }.joined(separator: ", "))]"
    }
    static func flags(_ flags: [FlagSpec]) -> String {
        "[\(flags.map { "FlagSpec(\(literal($0.spellings.joined(separator: "|"))))" }.joined(separator: ", "))]"
    }

    /// A Swift string literal: quotes, backslashes and control characters escaped.
    static func literal(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value) {
                    out += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

import ArgumentParser
import Foundation
import HoldpointCore

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Validate a policy file or print the effective rules.",
        subcommands: [Lint.self, Explain.self]
    )

    struct Lint: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "lint",
            abstract: "Check a policy file; every error with file:line:column. Exit 0 valid, 78 invalid."
        )

        @Argument(help: ArgumentHelp("The policy file.", valueName: "file"))
        var file: String

        func run() throws {
            do {
                let policy = try PolicyLoader.load(policyFile: file)
                Terminal.print("\(file): ok (profile \(policy.profile.rawValue), \(counted(policy.destructiveActions.count, "destructive pattern")), \(counted(policy.rules.ruleCount, "command rule")))")
            } catch {
                for issue in error.issues { Terminal.print(issue.description) }
                Terminal.error("\(error.issues.count) error\(error.issues.count == 1 ? "" : "s") in the policy")
                throw ExitCode(ExitCodes.configuration)
            }
        }
    }

    struct Explain: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "explain",
            abstract: "Print the effective policy: tiers per class and mode, rules and approvals."
        )

        @OptionGroup var global: GlobalOptions

        func run() throws {
            let policy = try global.loadPolicy()
            Terminal.print(PolicyExplanation.render(policy))
        }
    }
}

enum PolicyExplanation {
    static func render(_ policy: Policy) -> String {
        var out: [String] = []
        out.append("Effective policy (layers: \(policy.sources.joined(separator: " → ")))")
        out.append("Profile: \(policy.profile.rawValue)   production environments: \(policy.productionEnvironments.sorted().joined(separator: ", "))")
        out.append("")
        out.append("Base tier by operation class (before rules):")
        let header = Terminal.pad("class", 20) + Terminal.pad("prod/supervised", 18) + Terminal.pad("prod/autonomous", 18) + Terminal.pad("other/supervised", 18) + "other/autonomous"
        out.append("  " + header)
        for opClass in OperationClass.allCases {
            var row = Terminal.pad(opClass.rawValue, 20)
            for (production, mode) in [(true, AgentMode.supervised), (true, .autonomous), (false, .supervised), (false, .autonomous)] {
                row += Terminal.pad(TierTable.tier(for: opClass, production: production, mode: mode, policy: policy).rawValue, 18)
            }
            out.append("  " + row.trimmingCharacters(in: .whitespaces))
        }
        out.append("")
        out.append("Destructive-action patterns:")
        for pattern in policy.destructiveActions {
            let scope = pattern.scope.isEmpty ? "all" : pattern.scope.joined(separator: ",")
            out.append("  /\(pattern.pattern)/ in \(scope) → \(pattern.action.rawValue) (\(pattern.action.tier.rawValue)): \(pattern.message)")
        }
        if let magnitude = policy.changeMagnitude {
            out.append("Change magnitude: max \(magnitude.maxResourcesAffected.map(JSONWriter.formatNumber) ?? "-") resources, max \(magnitude.maxCostImpactUSD.map(JSONWriter.formatNumber) ?? "-") USD → \(magnitude.action.rawValue) (\(magnitude.action.tier.rawValue))")
        }
        for (name, rule) in policy.environmentRules.sorted(by: { $0.key < $1.key }) {
            let allowed = rule.allowedOperations.map { $0.map(\.rawValue).sorted().joined(separator: ", ") } ?? "(any)"
            out.append("Environment \(name): runs without approval: \(allowed); never: \(rule.blockedOperations.map(\.rawValue).sorted().joined(separator: ", "))")
        }
        for limit in policy.limits {
            out.append("Rate limit: at most \(limit.max) \(limit.counted) per \(Durations.format(limit.window)) for agents matching \(limit.agent) → over it: \(limit.onExceed.rawValue)")
        }
        if !policy.approvals.oneFromEach.isEmpty { out.append("Approvals: one from each of \(policy.approvals.oneFromEach.joined(separator: ", "))") }
        for rule in policy.approvals.rules {
            let scope = (rule.classes.map(\.rawValue).sorted() + rule.ruleIDs.sorted().map { "rule \($0)" }).joined(separator: ", ")
            var parts: [String] = []
            if let k = rule.required { parts.append("\(k) approvals") }
            if let reviewers = rule.reviewers { parts.append("reviewers \(reviewers.joined(separator: ", "))") }
            if !rule.oneFromEach.isEmpty { parts.append("one from each of \(rule.oneFromEach.joined(separator: ", "))") }
            out.append("Approvals for \(scope): \(parts.joined(separator: "; "))")
        }
        if let budget = policy.budget {
            let caps = [budget.costUSD.map { "$\(JSONWriter.formatNumber($0)) declared cost" }, budget.resourcesAffected.map { "\(JSONWriter.formatNumber($0)) resources" }].compactMap { $0 }
            out.append("Budget per agent, environment and UTC day: \(caps.isEmpty ? "no caps" : caps.joined(separator: ", ")) → over it: \(budget.onExceed.rawValue)")
        }
        out.append("First time: \(policy.firstTime.map { "an agent's first action of a class (other than read), or with a program it never ran, in production is \($0.rawValue) (FIRST TIME)" } ?? "off")")
        out.append("Plans: an approved plan holds \(Durations.format(policy.plans.validFor)); \(policy.plans.offPlan.map { "a change that is no step of it is \($0.rawValue) in production (OFF PLAN)" } ?? "actions off it are flagged OFF PLAN")")
        out.append("Redaction: built-in secret patterns (\(policy.redactor.patterns.count - policy.redactPatterns.count))\(policy.redactPatterns.isEmpty ? "" : " and the policy's: " + policy.redactPatterns.map { "/\($0)/" }.joined(separator: ", "))")
        if let threshold = policy.confidenceThreshold {
            out.append("Confidence threshold: \(JSONWriter.formatNumber(threshold)) (a less confident write is gated)")
        }
        let timeouts = policy.approvals.timeouts.sorted { $0.key < $1.key }.map { "\($0.key.rawValue) \(Durations.format($0.value))" }.joined(separator: ", ")
        out.append("Approvals: \(policy.approvals.required) required, \(policy.approvals.rejectionsToReject) rejection(s) reject, self-approval \(policy.approvals.allowSelfApproval ? "allowed" : "forbidden"), deadlines: \(timeouts); no answer = expired = denied")
        if !policy.approvals.reviewers.isEmpty { out.append("Reviewers: \(policy.approvals.reviewers.joined(separator: ", "))") }
        out.append("")
        out.append("Rule packs:")
        for pack in policy.rules.packs {
            out.append("  \(Terminal.pad(pack.name, 12)) \(Terminal.padLeft(String(pack.rules.count), 3)) rules  \(pack.description.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return out.joined(separator: "\n")
    }
}

/// "1 destructive pattern", "2 destructive patterns".
private func counted(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }

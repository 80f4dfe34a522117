import ArgumentParser
import Foundation
import HoldpointCore
import HoldpointStore

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Validate a policy file, test it against examples, replay history through it, or print the effective rules.",
        subcommands: [Lint.self, Explain.self, Test.self, Replay.self]
    )

    struct Lint: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "lint",
            abstract: "Check a policy file; every error with file:line:column. Exit 0 valid, 1 an example of its own fails, 78 invalid.",
            discussion: "A policy's own `examples:` (commands with the tier each must get) are checked too; see `policy test`."
        )

        @Argument(help: ArgumentHelp("The policy file.", valueName: "file"))
        var file: String

        func run() throws {
            do {
                let policy = try PolicyLoader.load(policyFile: file)
                Terminal.print(
                    "\(file): ok (profile \(policy.profile.rawValue), \(counted(policy.destructiveActions.count, "destructive pattern")), \(counted(policy.rules.ruleCount, "command rule")))")
                let failed = PolicyExamples.mismatches(policy.examples, policy: policy)
                if !policy.examples.isEmpty {
                    for mismatch in failed { Terminal.print(mismatch.description) }
                    Terminal.print("examples: \(policy.examples.count - failed.count) of \(policy.examples.count) as expected")
                }
                if !failed.isEmpty { throw ExitCode(1) }
            } catch let error as ConfigError {
                for issue in error.issues { Terminal.print(issue.description) }
                Terminal.error("\(error.issues.count) error\(error.issues.count == 1 ? "" : "s") in the policy")
                throw ExitCode(ExitCodes.configuration)
            }
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "test",
            abstract: "Classify example commands and check each gets the tier it must. Exit 0 all as expected, 1 any not, 65 a bad examples file, 78 policy error.",
            discussion: """
                Each FILE is a YAML list of examples (or a mapping with `examples:`):
                  - {command: "terraform destroy -auto-approve", tier: blocked}
                  - {command: "kubectl get pods", env: production, mode: autonomous, at_most: supervised}
                  - {command: "psql -c 'DROP TABLE users'", at_least: gated}
                env defaults to production and mode to autonomous. The policy is --policy (or
                HOLDPOINT_POLICY), else the built-in default. Every mismatch is printed as
                file:line with the tier it got and the rules that fired.
                """
        )

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp("Examples files.", valueName: "file"))
        var files: [String]

        func run() throws {
            let policy = try global.loadPolicy()
            var examples: [PolicyExample] = []
            for file in files {
                guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                    Terminal.error("\(file): cannot read the file as UTF-8 text")
                    throw ExitCode(ExitCodes.badInput)
                }
                do {
                    examples += try PolicyExamples.parse(text: text, file: file)
                } catch {
                    for issue in error.issues { Terminal.print(issue.description) }
                    throw ExitCode(ExitCodes.badInput)
                }
            }
            let failed = PolicyExamples.mismatches(examples, policy: policy)
            for mismatch in failed { Terminal.print(mismatch.description) }
            Terminal.print("\(examples.count - failed.count) of \(examples.count) example\(examples.count == 1 ? "" : "s") as expected")
            if !failed.isEmpty { throw ExitCode(1) }
        }
    }

    struct Replay: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "replay",
            abstract: "Run the queue's recorded actions through a candidate policy and show which would change tier.",
            discussion: """
                The candidate is --policy FILE (required). Reads the queue (file or --socket; in
                socket mode the daemon's own policy is untouched) and reclassifies each recorded
                request as the candidate would, printing those whose tier changes, stricter first.
                Recorded requests are stored with their secrets redacted, so a rule that matches
                only a secret's text can differ. Exit 0, 65 bad --since, 69 queue unavailable, 78 candidate invalid.
                """
        )

        @OptionGroup var global: GlobalOptions

        @Option(name: .long, help: ArgumentHelp("Only requests recorded within this long (90m, 7d).", valueName: "duration"))
        var since: String?

        @Flag(name: .long, help: "Print one JSON document.")
        var json = false

        func validate() throws {
            if global.policy == nil && ProcessInfo.processInfo.environment["HOLDPOINT_POLICY"] == nil {
                throw ValidationError("--policy FILE: the candidate policy to replay the history through")
            }
            if let since, Durations.parse(since) == nil { throw ValidationError("--since: expected a duration such as 90m or 7d, got '\(since)'") }
        }

        func run() throws {
            let candidate = try global.loadPolicy()
            var settings = global.settings
            settings.policy = nil  // the candidate is ours to judge with, not the queue's policy
            let service = try settings.service(classifying: false)
            let cutoff = since.flatMap(Durations.parse).map { Clock.now() - $0 }
            var changed: [(request: StoredRequest, now: Tier)] = []
            var replayed = 0
            var after: (createdAt: Double, id: String)?
            while true {
                let page = try queueCall { () throws(StoreError) in try service.list(RequestFilter(first: 500, after: after)) }
                guard let last = page.last else { break }
                after = (last.createdAt, last.id)
                for stored in page where cutoff.map({ stored.createdAt >= $0 }) ?? true {
                    guard let request = try? ActionRequestDecoder.decode(stored.document) else { continue }
                    replayed += 1
                    let tier = Classifier(policy: candidate).classify(request).tier
                    if tier != stored.tier { changed.append((stored, tier)) }
                }
                if page.count < 500 { break }
            }
            changed.sort { ($0.now, $0.request.createdAt) > ($1.now, $1.request.createdAt) }
            let stricter = changed.filter { $0.now > $0.request.tier }.count
            if json {
                Terminal.print(
                    JSONWriter.pretty(
                        .object([
                            ("replayed", .number(Double(replayed))), ("stricter", .number(Double(stricter))), ("looser", .number(Double(changed.count - stricter))),
                            (
                                "changed",
                                .array(
                                    changed.map { entry in
                                        .object([
                                            ("id", .string(entry.request.id)), ("was", .string(entry.request.tier.rawValue)), ("now", .string(entry.now.rawValue)),
                                            ("agent", .string(entry.request.agentID)), ("environment", .string(entry.request.environment)),
                                            ("action", .string(ActionText.what(entry.request.document["action"]))),
                                        ])
                                    })
                            ),
                        ])))
                return
            }
            for entry in changed {
                Terminal.print(
                    "\(entry.request.id)  \(Terminal.pad(entry.request.tier.rawValue, 10)) → \(Terminal.pad(entry.now.rawValue, 10))  \(SafeText.escape(entry.request.environment))  \(SafeText.escape(String(ActionText.what(entry.request.document["action"]).prefix(100))))"
                )
            }
            Terminal.print("\(replayed) recorded request\(replayed == 1 ? "" : "s") replayed: \(stricter) stricter, \(changed.count - stricter) looser, \(replayed - changed.count) unchanged")
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
            out.append(
                "Change magnitude: max \(magnitude.maxResourcesAffected.map(JSONWriter.formatNumber) ?? "-") resources, max \(magnitude.maxCostImpactUSD.map(JSONWriter.formatNumber) ?? "-") USD → \(magnitude.action.rawValue) (\(magnitude.action.tier.rawValue))"
            )
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
        out.append(
            "First time: \(policy.firstTime.map { "an agent's first action of a class (other than read), or with a program it never ran, in production is \($0.rawValue) (FIRST TIME)" } ?? "off")")
        out.append(
            "Plans: an approved plan holds \(Durations.format(policy.plans.validFor)); \(policy.plans.offPlan.map { "a change that is no step of it is \($0.rawValue) in production (OFF PLAN)" } ?? "actions off it are flagged OFF PLAN")"
        )
        if let retention = policy.retention {
            out.append(
                "Retention: serve archives history older than \(Durations.format(retention.archiveAfter)) every \(Durations.format(retention.every)) into \(retention.directory ?? "<queue>.archive/")")
        } else {
            out.append("Retention: none (the queue keeps everything until `holdpoint queue archive`)")
        }
        out.append(
            "Redaction: built-in secret patterns (\(policy.redactor.patterns.count - policy.redactPatterns.count))\(policy.redactPatterns.isEmpty ? "" : " and the policy's: " + policy.redactPatterns.map { "/\($0)/" }.joined(separator: ", "))"
        )
        if let threshold = policy.confidenceThreshold {
            out.append("Confidence threshold: \(JSONWriter.formatNumber(threshold)) (a less confident write is gated)")
        }
        let timeouts = policy.approvals.timeouts.sorted { $0.key < $1.key }.map { "\($0.key.rawValue) \(Durations.format($0.value))" }.joined(separator: ", ")
        out.append(
            "Approvals: \(policy.approvals.required) required, \(policy.approvals.rejectionsToReject) rejection(s) reject, self-approval \(policy.approvals.allowSelfApproval ? "allowed" : "forbidden"), deadlines: \(timeouts); no answer = expired = denied"
        )
        if !policy.approvals.reviewers.isEmpty { out.append("Reviewers: \(policy.approvals.reviewers.joined(separator: ", "))") }
        out.append("")
        out.append("Rule packs:")
        let packs = policy.rules.packs
        let width = packs.map(\.name.count).max() ?? 12
        for pack in packs {
            out.append("  \(Terminal.pad(pack.name, width)) \(Terminal.padLeft(String(pack.rules.count), 3)) rules  \(pack.description.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return out.joined(separator: "\n")
    }
}

/// "1 destructive pattern", "2 destructive patterns".
private func counted(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }

import Foundation
import HoldpointTestSupport
import Testing

@testable import HoldpointCore

@Suite struct ReferencePolicyTests {
    static let referenceYAML = Samples.referencePolicyYAML

    static func request(operation: String, env: String = "production", mode: AgentMode = .supervised, impact: String = "{}", confidence: String = "0.9") throws -> ActionRequest {
        let json =
            #"{"schema":"holdpoint.action/v1","agent":{"id":"a","mode":"\#(mode.rawValue)"},"environment":"\#(env)","action":{"kind":"api","operation":"\#(operation)"},"impact":\#(impact),"confidence":\#(confidence)}"#
        return try ActionRequestDecoder.decode(Array(json.utf8))
    }

    @Test func loadsUnchangedAsAPolicyFile() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("reference-\(UUID().uuidString).yaml")
        try Self.referenceYAML.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let policy = try PolicyLoader.load(policyFile: file.path, dataDirectory: TestData.resources)
        #expect(policy.destructiveActions.count == 1)
        #expect(policy.destructiveActions[0].action == .blockAndEscalate)
        #expect(policy.changeMagnitude == ChangeMagnitude(maxResourcesAffected: 5, maxCostImpactUSD: 1000, action: .requireApprovalIfExceeded))
        #expect(policy.environmentRules["production"]?.blockedOperations == [.createEnvironment, .deleteEnvironment, .bulkModify])
    }

    @Test func destructivePatternInProductionEscalatesToAHuman() throws {
        let policy = try TestData.policy(Self.referenceYAML)
        let result = Classifier(policy: policy).classify(try Self.request(operation: "cloudformation:DeleteStack"))
        #expect(result.tier == .gated)
        #expect(result.reasons.contains { $0.rule == "destructive-action" && $0.message == "Destructive action detected. Routing to human approval." })
        // Only in production: the same pattern is silent in staging.
        let staging = Classifier(policy: policy).classify(try Self.request(operation: "cloudformation:DeleteStack", env: "staging"))
        #expect(!staging.reasons.contains { $0.rule == "destructive-action" })
    }

    @Test func changeMagnitudeOverTheLimitsRequiresApproval() throws {
        let classifier = Classifier(policy: try TestData.policy(Self.referenceYAML))
        let small = classifier.classify(try Self.request(operation: "ssm:PutParameter", impact: #"{"resources_affected": 5, "cost_usd": 1000}"#))
        #expect(small.tier == .supervised)
        let many = classifier.classify(try Self.request(operation: "ssm:PutParameter", impact: #"{"resources_affected": 6}"#))
        #expect(many.tier == .gated)
        #expect(many.reasons.contains { $0.rule == "change-magnitude" })
        let costly = classifier.classify(try Self.request(operation: "ssm:PutParameter", impact: #"{"cost_usd": 1000.01}"#))
        #expect(costly.tier == .gated)
    }

    @Test func productionRunsOnlyReadPatchAndMinorUpdateWithoutApproval() throws {
        let classifier = Classifier(policy: try TestData.policy(Self.referenceYAML))
        #expect(classifier.classify(try Self.request(operation: "ec2:DescribeInstances")).tier == .autonomous)
        #expect(classifier.classify(try Self.request(operation: "ssm:PutParameter")).tier == .supervised)
        #expect(classifier.classify(try Self.request(operation: "resourcegroupstagging:TagResources")).tier == .supervised)
        let create = classifier.classify(try Self.request(operation: "ec2:CreateVolume"))
        #expect(create.tier == .gated)
        #expect(create.reasons.contains { $0.rule == "environment-not-allowed" })
        for operation in ["elasticbeanstalk:CreateEnvironment", "elasticbeanstalk:DeleteEnvironment", "dynamodb:BatchWriteItem"] {
            let result = classifier.classify(try Self.request(operation: operation))
            #expect(result.tier == .blocked, "\(operation)")
            #expect(result.reasons.contains { $0.rule == "environment-blocked" })
        }
    }

    @Test func theCostExplorerCaseIsGatedWithEveryReason() throws {
        let request = try ActionRequestDecoder.decode(Array(ActionRequestDecoderTests.costExplorer.utf8))
        let result = Classifier(policy: TestData.defaultPolicy).classify(request)
        #expect(result.tier == .gated)
        #expect(result.operationClass == .delete)
        #expect(result.destructive && result.irreversible && result.dataLoss)
        let rules = Set(result.reasons.map(\.rule))
        #expect(rules.isSuperset(of: ["destructive-action", "change-magnitude", "aws-cloudformation-delete-stack", "declared-irreversible"]))
    }

    @Test func lowConfidenceGatesWrites() throws {
        let classifier = Classifier(policy: TestData.defaultPolicy)
        #expect(classifier.classify(try Self.request(operation: "ssm:PutParameter", confidence: "0.59")).tier == .gated)
        #expect(classifier.classify(try Self.request(operation: "ssm:PutParameter", confidence: "0.6")).tier == .supervised)
        #expect(classifier.classify(try Self.request(operation: "ec2:DescribeInstances", confidence: "0.1")).tier == .autonomous)
    }
}

/// The reference design's permission table, AI-agent columns, row by row (strict profile).
@Suite struct StrictPermissionTableTests {
    struct Row: Sendable, CustomTestStringConvertible {
        var scope: String
        var operation: String
        var supervised: Tier
        var autonomous: Tier
        var testDescription: String { scope }
    }

    @Test(arguments: [
        Row(scope: "read production data", operation: "rds:DescribeDBInstances", supervised: .autonomous, autonomous: .autonomous),
        Row(scope: "patch configuration", operation: "ssm:PutParameter", supervised: .supervised, autonomous: .blocked),
        Row(scope: "create resources", operation: "ec2:CreateVolume", supervised: .gated, autonomous: .blocked),
        Row(scope: "delete resources", operation: "ec2:DeleteVolume", supervised: .blocked, autonomous: .blocked),
        Row(scope: "modify IAM / permissions", operation: "iam:AttachRolePolicy", supervised: .blocked, autonomous: .blocked),
    ])
    func row(_ row: Row) throws {
        let policy = try TestData.policy("profile: strict")
        let classifier = Classifier(policy: policy)
        #expect(classifier.classify(try ReferencePolicyTests.request(operation: row.operation, mode: .supervised)).tier == row.supervised)
        #expect(classifier.classify(try ReferencePolicyTests.request(operation: row.operation, mode: .autonomous)).tier == row.autonomous)
    }

    @Test func theDefaultProfileGatesDeletesInsteadOfBlocking() throws {
        let classifier = Classifier(policy: TestData.defaultPolicy)
        #expect(classifier.classify(try ReferencePolicyTests.request(operation: "ec2:DeleteVolume")).tier == .gated)
        #expect(classifier.classify(try ReferencePolicyTests.request(operation: "iam:AttachRolePolicy")).tier == .gated)
        // An autonomous agent's production writes are at least gated.
        #expect(classifier.classify(try ReferencePolicyTests.request(operation: "ssm:PutParameter", mode: .autonomous)).tier == .gated)
    }
}

@Suite struct PolicyFileTests {
    @Test func everyErrorIsReportedWithLineAndColumn() {
        let yaml = """
            profile: lenient
            approvals:
              required: 0
              timeouts:
                gated: soon
            agent_constraints:
              destructive_actions:
                - pattern: "delete(("
                  policy: BLOCK_AND_ESCALATE
              environment_rules:
                production:
                  blocked_operations: [delete_everything]
            aproovals: {}
            """
        var policy = TestData.defaultPolicy
        do {
            try PolicyLoader.apply(text: yaml, to: &policy, displayName: "bad.yaml")
            Issue.record("an invalid policy loaded")
        } catch {
            let lines = error.issues.map(\.description)
            #expect(lines.contains { $0.hasPrefix("bad.yaml:1:10: profile: expected default or strict") }, "\(lines)")
            #expect(lines.contains { $0.hasPrefix("bad.yaml:3:13: approvals.required: expected a whole number >= 1") }, "\(lines)")
            #expect(lines.contains { $0.hasPrefix("bad.yaml:5:12: approvals.timeouts.gated: expected a positive duration") }, "\(lines)")
            #expect(lines.contains { $0.hasPrefix("bad.yaml:8:16: agent_constraints.destructive_actions[0].pattern: not a valid regular expression") }, "\(lines)")
            #expect(lines.contains { $0.hasPrefix("bad.yaml:12:28: environment_rules.production.blocked_operations: unknown operation class 'delete_everything'") }, "\(lines)")
            #expect(lines.contains { $0.hasPrefix("bad.yaml:13:1: policy: unknown key 'aproovals'") }, "\(lines)")
            #expect(error.issues.count == 6)
        }
    }

    @Test func yamlSyntaxErrorsAreLocated() {
        var policy = TestData.defaultPolicy
        #expect {
            try PolicyLoader.apply(text: "approvals:\n  required: [1\n", to: &policy, displayName: "x.yaml")
        } throws: { error in
            guard let issue = (error as? ConfigError)?.issues.first else { return false }
            return issue.file == "x.yaml" && issue.line >= 2 && issue.message.hasPrefix("YAML syntax")
        }
    }

    @Test func aLayerOverridesWhatItNamesAndKeepsTheRest() throws {
        let policy = try TestData.policy("approvals:\n  required: 2\n  timeouts:\n    gated: 90s\n")
        #expect(policy.approvals.required == 2)
        #expect(policy.approvals.timeouts[.gated] == 90)
        #expect(policy.approvals.allowSelfApproval == false)
        #expect(policy.destructiveActions.count == 1)
        #expect(policy.changeMagnitude?.maxResourcesAffected == 5)
    }

    @Test func tierOverridesAndExtraRules() throws {
        let policy = try TestData.policy(
            """
            tiers:
              non_production:
                supervised: {delete: gated}
            rule_packs:
              rules:
                - id: no-deploy-friday
                  program: [deploy-tool]
                  class: create
                  tier: blocked
                  message: "deploy-tool is off limits"
            """)
        #expect(try TestData.classify("rm notes.txt", env: "staging", policy: policy).tier == .gated)
        let custom = try TestData.classify("deploy-tool --all", env: "staging", policy: policy)
        #expect(custom.tier == .blocked)
        #expect(custom.reasons.first?.rule == "no-deploy-friday")
    }

    @Test func disablingAPackNeverAllowsWhatItCovered() throws {
        let policy = try TestData.policy("rule_packs:\n  disable: [git]\n")
        // With the git pack off, git is an unknown program: gated in production, not allowed.
        #expect(try TestData.classify("git reset --hard", policy: policy).tier == .gated)
        #expect(try TestData.classify("git reset --hard", policy: policy).reasons.first?.rule == "unknown-command")
    }

    @Test func theBuiltinPacksAllLoad() throws {
        let policy = TestData.defaultPolicy
        let names = Set(policy.rules.packs.map(\.name))
        #expect(names.isSuperset(of: ["filesystem", "git", "terraform", "kubernetes", "cloud", "docker", "database", "system", "readonly", "network", "operations"]))
        #expect(policy.rules.ruleCount > 100)
    }
}

/// Rule packs are parsed side by side; what comes out must not depend on which finished first.
@Suite struct RulePackLoadingTests {
    /// A copy of the built-in data that a test may break.
    static func copyOfBuiltinData() throws -> URL {
        let copy = try Scratch.directory("hp-data").appendingPathComponent("Resources")
        try FileManager.default.copyItem(at: TestData.resources, to: copy)
        return copy
    }

    @Test func packsLoadInFileOrderWithReadonlyLast() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: TestData.resources.appendingPathComponent("rule-packs").path)
            .filter { $0.hasSuffix(".yaml") }.sorted().map { String($0.dropLast(5)) }
        let expected = names.filter { $0 != "readonly" } + ["readonly"]
        for _ in 0..<5 {
            let policy = try PolicyLoader.load(policyFile: nil, dataDirectory: TestData.resources)
            #expect(policy.rules.packs.map(\.name) == expected)
        }
    }

    @Test func everyBrokenPackIsReportedInFileOrderAndNothingLoads() throws {
        let data = try Self.copyOfBuiltinData()
        defer { try? FileManager.default.removeItem(at: data) }
        let packs = data.appendingPathComponent("rule-packs")
        try "pack: cloud\nrules: [unclosed\n".write(to: packs.appendingPathComponent("cloud.yaml"), atomically: true, encoding: .utf8)
        try "pack: git\nrules:\n  - id: x\n    program: [git]\n    colour: red\n".write(to: packs.appendingPathComponent("git.yaml"), atomically: true, encoding: .utf8)
        for _ in 0..<5 {
            do {
                _ = try PolicyLoader.load(policyFile: nil, dataDirectory: data)
                Issue.record("a broken rule pack must fail the load (fail closed)")
            } catch {
                let files = error.issues.map { URL(fileURLWithPath: $0.file).lastPathComponent }
                #expect(files.first == "cloud.yaml")
                #expect(files.contains("git.yaml"))
                #expect(files == files.sorted(), "issues in file order: \(files)")
                #expect(error.issues.contains { $0.message.contains("colour") })
            }
        }
    }
}

/// What a finding is about (its subject) is the command as the program that acts sees it,
/// after wrappers are peeled; destructive-action patterns match against it.
@Suite struct FindingSubjectTests {
    @Test func theSubjectIsTheUnwrappedCommandsWordsSeparatedBySpaces() throws {
        let analyzer = ShellAnalyzer(rules: try PolicyLoader.load(policyFile: nil).rules)
        let findings = analyzer.analyze("sudo -u root env A=1 timeout 5 rm -rf '/srv/my data'")
        let rm = try #require(findings.first { $0.rule == "fs-rm-rf" })
        #expect(rm.subject == "rm -rf /srv/my data")
        // `ssh host CMD…`: the remote words are joined as ssh joins them, then parsed again.
        let remote = analyzer.analyze("ssh -p 22 db1 rm -rf /var/lib/pg")
        #expect(remote.contains { $0.rule == "fs-rm-rf" && $0.subject == "rm -rf /var/lib/pg" })
        #expect(ShellWord.joinedText([ShellWord]()) == "")
        #expect(ShellWord.joinedText([ShellWord(text: "a"), ShellWord(text: "")]) == "a ")
    }

    @Test func aPolicyPatternMatchesTheUnwrappedCommand() throws {
        var policy = try PolicyLoader.load(policyFile: nil)
        try PolicyLoader.apply(
            text: """
                agent_constraints:
                  destructive_actions:
                    - pattern: "rm -rf /srv/"
                      policy: BLOCK
                """, to: &policy, displayName: "test.yaml")
        let classifier = Classifier(policy: policy)
        func tier(_ command: String) throws -> Tier {
            try classifier.classify(ActionRequest.shellCommand(command, environment: "staging", agentID: "t", mode: .supervised)).tier
        }
        #expect(try tier("sudo nice -n 5 rm -rf /srv/app") == .blocked)
        #expect(try tier("rm -rf /srvx/app") != .blocked, "the pattern's end is not a word boundary it may cross")
        #expect(try tier("rm -rf /tmp/srv/app") != .blocked)
    }

    /// A destructive pattern that is a regular expression (not a plain word list) loads and
    /// matches whole words, as written or as words; an invalid one is refused by name.
    @Test func regularExpressionPatternsLoadAndMatchWholeWords() throws {
        let pattern = try WordPattern("delete[ -]?stack|rm -r")
        #expect(pattern.matches("aws cloudformation delete-stack --stack-name x"))
        #expect(pattern.matches("DeleteStack"))
        #expect(pattern.matches("sudo rm -r /srv"))
        #expect(!pattern.matches("undelete-stack"))
        #expect(!pattern.matches("rm -rf /srv"), "-r must end at a word boundary")
        #expect(!pattern.matches("farm -r"))
        var policy = try PolicyLoader.load(policyFile: nil)
        #expect(throws: ConfigError.self) {
            try PolicyLoader.apply(text: "agent_constraints:\n  destructive_actions:\n    - pattern: \"(rm\"\n      policy: BLOCK\n", to: &policy, displayName: "bad.yaml")
        }
    }
}

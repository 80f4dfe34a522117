import Foundation
import HoldpointCore
import HoldpointTestSupport
import Testing

@Suite struct CheckCommandTests {
    static let costExplorer =
        #"{"schema":"holdpoint.action/v1","agent":{"id":"kiro-7f3","mode":"supervised","on_behalf_of":"alice"},"environment":"production","action":{"kind":"api","operation":"cloudformation:DeleteStack","command":"aws cloudformation delete-stack --stack-name prod-cost-explorer-cn-north-1","targets":["prod-cost-explorer-cn-north-1"]},"impact":{"resources_affected":143,"cost_usd":0,"downtime_minutes":780,"reversible":false,"data_loss":true},"confidence":0.62}"#

    @Test func theCostExplorerCaseNeedsApproval() throws {
        let result = try CLI.run(["check", "--json"], stdin: Array(Self.costExplorer.utf8))
        #expect(result.status == 5, "\(result.stderr)")
        let verdict = try JSONReader.parse(result.stdout)
        #expect(verdict["tier"] == .string("gated"))
        #expect(verdict["operation_class"] == .string("delete"))
        #expect(verdict["required_approvals"] == .number(1))
        let rules = verdict["reasons"]?.arrayValue?.compactMap { $0["rule"]?.stringValue } ?? []
        #expect(rules.contains("destructive-action"))
        let request = try ActionRequestDecoder.decode(Array(Self.costExplorer.utf8))
        #expect(verdict["action_sha256"] == .string(request.actionSHA256))
    }

    @Test(arguments: [
        ("ls -la", Int32(0)), ("git status", 0), ("kubectl get pods", 0), ("git commit -m x", 0),
        ("rm -rf /", 5), ("git push --force", 5), ("terraform destroy", 2), ("kubectl delete namespace prod", 2),
        // The documented system-wide setup's files are Holdpoint's, whatever this call's own settings name.
        ("cp /tmp/lax.yaml /etc/holdpoint/policy.yaml", 2), ("chmod 777 /var/lib/holdpoint", 2), ("cat /etc/holdpoint/policy.yaml", 0),
    ])
    func exitCodesFollowTheContract(command: String, status: Int32) throws {
        let result = try CLI.run(["check", "--command", command, "--agent-mode", "supervised"])
        #expect(result.status == status, "\(command): \(result.stdout) \(result.stderr)")
    }

    @Test func environmentDefaultsToProductionAndFollowsHOLDPOINT_ENV() throws {
        #expect(try CLI.run(["check", "--command", "rm -r build", "--agent-mode", "supervised"]).status == 5)
        #expect(try CLI.run(["check", "--command", "rm -r build", "--agent-mode", "supervised"], environment: ["HOLDPOINT_ENV": "staging"]).status == 0)
    }

    @Test func badInputIsExit65AndNamesTheField() throws {
        let bad = #"{"schema":"holdpoint.action/v1","agent":{"id":"a"},"environment":"p","action":{"kind":"shell","command":"ls"},"impact":{"cost_usd":"lots"}}"#
        let result = try CLI.run(["check"], stdin: Array(bad.utf8))
        #expect(result.status == 65)
        #expect(result.stderr.contains(#"impact.cost_usd: expected a number, got "lots""#))
        #expect(result.stdout.isEmpty)
        #expect(try CLI.run(["check"], stdin: [0x7B, 0xFF]).status == 65)
        #expect(try CLI.run(["check"], stdin: []).status == 65)
        let huge = Array(#"{"summary":""#.utf8) + [UInt8](repeating: 0x61, count: 1 << 21) + Array(#""}"#.utf8)
        let oversize = try CLI.run(["check"], stdin: huge)
        #expect(oversize.status == 65)
        #expect(oversize.stderr.contains("limit is 1048576 bytes"))
    }

    @Test func usageErrorsAreExit64() throws {
        #expect(try CLI.run(["check", "--agent-mode", "reckless", "--command", "ls"]).status == 64)
        #expect(try CLI.run(["check", "--no-such-flag"]).status == 64)
    }

    @Test func anInvalidPolicyIsExit78NeverAllow() throws {
        let dir = try Scratch.directory()
        let policy = dir.appendingPathComponent("policy.yaml")
        try "approvals:\n  required: none\n".write(to: policy, atomically: true, encoding: .utf8)
        let result = try CLI.run(["check", "--command", "ls", "--policy", policy.path])
        #expect(result.status == 78)
        #expect(result.stderr.contains("policy.yaml:2:13"))
        let viaEnv = try CLI.run(["check", "--command", "ls"], environment: ["HOLDPOINT_POLICY": dir.appendingPathComponent("missing.yaml").path])
        #expect(viaEnv.status == 78)
    }

    @Test func hostileTextIsEscapedInTheOutput() throws {
        let result = try CLI.run(["check", "--command", "echo \u{1B}[2J\u{1B}]0;pwned\u{07} \u{202E}txt.exe"])
        #expect(!result.stdout.contains("\u{1B}"))
        #expect(!result.stdout.contains("\u{202E}"))
        #expect(result.stdout.contains("\\e[2J"))
        #expect(result.stdout.contains("<U+202E>"))
    }
}

@Suite struct PolicyCommandTests {
    @Test func lintAcceptsTheReferencePolicyAndLocatesErrors() throws {
        let dir = try Scratch.directory()
        let good = dir.appendingPathComponent("reference.yaml")
        try Samples.referencePolicyYAML.write(to: good, atomically: true, encoding: .utf8)
        let ok = try CLI.run(["policy", "lint", good.path])
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        let bad = dir.appendingPathComponent("bad.yaml")
        try "profile: default\napprovals:\n  timeouts:\n    gated: never\n  quorum: 2\n".write(to: bad, atomically: true, encoding: .utf8)
        let result = try CLI.run(["policy", "lint", bad.path])
        #expect(result.status == 78)
        #expect(result.stdout.contains("bad.yaml:4:12: approvals.timeouts.gated"))
        #expect(result.stdout.contains("bad.yaml:5:3: approvals: unknown key 'quorum'"))
    }

    @Test func explainPrintsTheEffectiveRules() throws {
        let result = try CLI.run(["policy", "explain"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("/delete|destroy|terminate|drop|remove|truncate/ in production → BLOCK_AND_ESCALATE (gated)"))
        #expect(result.stdout.contains("Environment production: runs without approval: minor_update, patch, read"))
        // Pack names of any length line up: the rule counts end in one column.
        let packLines = result.stdout.split(separator: "\n").filter { $0.contains(" rules  ") }
        #expect(packLines.count > 15)
        let columns = packLines.compactMap { line in line.range(of: " rules  ").map { line.distance(from: line.startIndex, to: $0.lowerBound) } }
        #expect(columns.count == packLines.count && Set(columns).count == 1)
    }
}

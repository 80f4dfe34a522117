import Foundation
import Testing
@testable import HoldpointCore

/// The gate protects itself: every route an agent could take to approve its own action or
/// loosen its policy is blocked.
@Suite struct SelfProtectionTests {
    /// A state directory with a real queue, key and policy, and a project directory beside it.
    struct Setup {
        let root: String
        let state: String
        let project: String
        let protection: SelfProtection

        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("hp-protect-\(UUID().uuidString)").path
            state = root + "/state/holdpoint"
            project = root + "/project"
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: project, withIntermediateDirectories: true)
            for file in ["queue.sqlite", "queue.sqlite.audit-key", "queue.sqlite.audit-head", "policy.yaml"] {
                _ = FileManager.default.createFile(atPath: state + "/" + file, contents: Data("x".utf8))
            }
            protection = SelfProtection(
                protectedFiles: [state + "/queue.sqlite", state + "/queue.sqlite-wal", state + "/queue.sqlite.audit-head", state + "/policy.yaml"],
                secretFiles: [state + "/queue.sqlite.audit-key"], protectedDirectories: [state],
                binaryPath: nil, homeDirectory: root, workingDirectory: project, inspectFiles: true)
        }

        func classify(_ command: String) throws -> Classification {
            var request = try ActionRequest.shellCommand(command, environment: "development", agentID: "bot", mode: .supervised)
            request.workingDirectory = project
            return Classifier(policy: TestData.defaultPolicy, protection: protection).classify(request)
        }

        func write(_ path: String, content: String) throws -> Classification {
            let document: JSONValue = .object([
                ("schema", .string(ActionRequest.schemaName)),
                ("agent", .object([("id", .string("bot")), ("mode", .string("supervised"))])),
                ("environment", .string("development")),
                ("action", .object([("kind", .string("file")), ("operation", .string("write")), ("targets", .array([.string(path)])),
                                    ("cwd", .string(project)), ("content", .string(content))])),
            ])
            return Classifier(policy: TestData.defaultPolicy, protection: protection).classify(try ActionRequestDecoder.decode(document))
        }
    }

    @Test(arguments: [
        "holdpoint decide 01JD8X3Q4W5E6R7T8Y9U0I1O2P approve --reason ok",
        "holdpoint --queue /tmp/q.sqlite resume bot-1",
        "holdpoint review",
        "/usr/local/bin/holdpoint decide 01JD8X3Q4W5E6R7T8Y9U0I1O2P approve",
        "bash -c 'holdpoint decide 01JD8X3Q4W5E6R7T8Y9U0I1O2P approve'",
        "sudo env HOLDPOINT_QUEUE=/x timeout 5 holdpoint resume --all",
        "swift run holdpoint decide 01JD8X3Q4W5E6R7T8Y9U0I1O2P approve",
        "python3 -c 'import os; os.system(\"holdpoint decide 01JD8X3Q4W5E6R7T8Y9U0I1O2P approve\")'",
        "/tmp/hp decide 01JD8X3Q4W5E6R7T8Y9U0I1O2P approve",
    ])
    func adminCommandsAreBlocked(_ command: String) throws {
        let result = try Setup().classify(command)
        #expect(result.tier == .blocked, "\(command) → \(result.tier)")
        #expect(result.reasons.contains { $0.rule == "holdpoint-admin-command" }, "\(result.reasons)")
    }

    @Test func protectedFilesCannotBeWrittenByAnyRoute() throws {
        let s = try Setup()
        let routes = [
            "echo 'approvals: {required: 0}' > \(s.state)/policy.yaml",
            "cp /tmp/evil.yaml \(s.state)/policy.yaml",
            "sqlite3 \(s.state)/queue.sqlite \"UPDATE requests SET state='approved'\"",
            "rm -f \(s.state)/queue.sqlite.audit-head",
            "bash -lc 'truncate -s 0 ../state/holdpoint/queue.sqlite'",
            "dd if=/dev/zero of=\(s.state)/queue.sqlite",
            "tee ~/state/holdpoint/policy.yaml < /tmp/x",
            "rm -rf \(s.state)",
            "mv \(s.state)/* /tmp/",
            "cat \(s.state)/queue.sqlite.audit-key",
            "echo '{}' > ~/.claude/settings.json",
        ]
        for route in routes {
            let result = try s.classify(route)
            #expect(result.tier == .blocked, "\(route) → \(result.tier) \(result.reasons.map(\.rule))")
        }
    }

    @Test func aLinkToTheQueueIsTheQueue() throws {
        let s = try Setup()
        let link = s.project + "/innocent.db"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: s.state + "/queue.sqlite")
        #expect(try s.classify("sqlite3 innocent.db 'DELETE FROM votes'").tier == .blocked)
    }

    @Test func aScriptTheAgentWroteIsReadBeforeItRuns() throws {
        let s = try Setup()
        let script = s.project + "/fix.sh"
        try "#!/bin/sh\necho fixing\nholdpoint decide 01JD8X3Q4W5E6R7T8Y9U0I1O2P approve --reason done\n".write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        #expect(try s.classify("bash fix.sh").tier == .blocked)
        #expect(try s.classify("./fix.sh").tier == .blocked)
        #expect(try s.classify("source ./fix.sh").tier == .blocked)
        // Writing such a script is blocked in the first place.
        #expect(try s.write(s.project + "/later.sh", content: "#!/bin/sh\nholdpoint resume --all\n").tier == .blocked)
    }

    @Test func fileToolsCannotChangeTheGate() throws {
        let s = try Setup()
        #expect(try s.write(s.state + "/policy.yaml", content: "approvals: {required: 0}").tier == .blocked)
        #expect(try s.write(s.root + "/.claude/settings.json", content: "{}").tier == .blocked)
        #expect(try s.write(s.project + "/.codex/hooks.json", content: "{}").tier == .blocked)
    }

    @Test func ordinaryWorkIsNotBlocked() throws {
        let s = try Setup()
        for command in ["holdpoint list --state pending", "holdpoint submit --wait", "cat \(s.state)/policy.yaml", "ls \(s.state)", "grep -r decide src/"] {
            let result = try s.classify(command)
            #expect(!result.reasons.contains { $0.rule.hasPrefix("holdpoint-") }, "\(command): \(result.reasons)")
        }
        #expect(try s.write(s.project + "/main.swift", content: "print(\"hi\")").tier == .supervised)
    }

    @Test func sensitiveFilesAreNamedAndGatedInProduction() throws {
        let s = try Setup()
        let ci = try s.write(s.project + "/.github/workflows/deploy.yml", content: "on: push")
        #expect(ci.reasons.contains { $0.rule == "file-ci-config" })
        #expect(try s.write(s.project + "/.env", content: "TOKEN=x").reasons.contains { $0.rule == "file-credentials" })
        #expect(try s.write(s.project + "/infra/main.tf", content: "resource {}").reasons.contains { $0.rule == "file-infrastructure" })
        let outside = try s.write("/etc/hosts", content: "1.2.3.4 x")
        #expect(outside.reasons.contains { $0.rule == "file-outside-project" })
        #expect(outside.tier >= .supervised)
    }
}

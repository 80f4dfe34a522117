import Foundation
import HoldpointTestSupport
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
            root = try Scratch.directory("hp-protect").path
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
                (
                    "action",
                    .object([
                        ("kind", .string("file")), ("operation", .string("write")), ("targets", .array([.string(path)])),
                        ("cwd", .string(project)), ("content", .string(content)),
                    ])
                ),
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

    /// An agent client's settings directory, moved or deleted, takes its hook settings (and
    /// the gate) with it.
    @Test(arguments: ["mv ~/.claude ~/.claude.off", "rm -rf .codex", "mv ~/.gemini /tmp/g", "rm -r .cursor/", "mv .claude/settings.json /tmp/x"])
    func movingAClientsSettingsAwayIsBlocked(_ command: String) throws {
        let result = try Setup().classify(command)
        #expect(result.tier == .blocked, "\(command) → \(result.tier)")
        #expect(result.reasons.contains { $0.rule == "agent-hook-settings" }, "\(result.reasons)")
        // Working inside them (a new command file) is not the settings.
        #expect(try Setup().classify("mkdir -p ~/.claude/commands").tier != .blocked)
    }

    /// Pointing Holdpoint at another policy, queue, audit log or set of rules, or changing the
    /// environment or identity it checks with, is choosing one's own rules.
    @Test(arguments: [
        "HOLDPOINT_POLICY=/tmp/lax.yaml holdpoint exec -- rm -rf /srv/data",
        "env HOLDPOINT_DATA_DIR=/tmp/packs holdpoint check --command ls",
        "sudo env -i HOLDPOINT_QUEUE=/tmp/q.sqlite holdpoint submit --command ls",
        "export HOLDPOINT_ENV=development",
        "declare -x HOLDPOINT_AGENT_MODE=supervised",
        "unset HOLDPOINT_POLICY",
        "HOLDPOINT_AUDIT=/tmp/head",
        "holdpoint exec --policy /tmp/lax.yaml -- ls",
        "holdpoint submit --queue=/tmp/q.sqlite --command ls",
        "/usr/local/bin/holdpoint check --audit /tmp/h --command ls",
        "bash -c 'HOLDPOINT_POLICY=x holdpoint exec -- ls'",
    ])
    func configurationOverridesAreBlocked(_ command: String) throws {
        let result = try Setup().classify(command)
        #expect(result.tier == .blocked, "\(command) → \(result.tier)")
        #expect(result.reasons.contains { $0.rule == "holdpoint-config-override" }, "\(result.reasons)")
    }

    /// Moving where Holdpoint keeps its state, or where an agent's client reads its hooks,
    /// waits for a human (not blocked: tools are run with these for reasons of their own).
    @Test(arguments: [
        "XDG_STATE_HOME=/tmp/x holdpoint exec -- ls", "export CLAUDE_CONFIG_DIR=/tmp/evil", "env CODEX_HOME=/tmp/c codex exec 'fix it'",
        "unset XDG_CONFIG_HOME",
    ])
    func configurationLocationsWaitForAHuman(_ command: String) throws {
        let result = try Setup().classify(command)
        #expect(result.tier == .gated, "\(command) → \(result.tier)")
        #expect(result.reasons.contains { $0.rule == "config-location-override" }, "\(result.reasons)")
    }

    /// `holdpoint exec -- CMD` runs CMD, so the gate judges CMD: wrapping a command in
    /// Holdpoint's own executor (with whatever environment it claims) gains nothing.
    @Test func execIsJudgedAsTheCommandItRuns() throws {
        let s = try Setup()
        for command in ["rm -rf /srv/data", "kubectl delete namespace payments", "git push --force origin main"] {
            let direct = try s.classify(command)
            let wrapped = try s.classify("holdpoint exec --env sandbox --agent-mode supervised -- \(command)")
            #expect(wrapped.tier == direct.tier, "\(command): \(wrapped.tier) vs \(direct.tier)")
            #expect(Set(wrapped.reasons.map(\.rule)) == Set(direct.reasons.map(\.rule)), "\(command)")
        }
        #expect(try s.classify("holdpoint exec -- holdpoint decide 01JD8X3Q4W5E6R7T8Y9U0I1O2P approve").tier == .blocked)
    }

    @Test func agentSideHoldpointCommandsAreClassifiedNotBlocked() throws {
        let s = try Setup()
        for command in ["holdpoint check --command 'rm -rf /'", "holdpoint list --state pending --json", "holdpoint --version", "holdpoint audit verify"] {
            let result = try s.classify(command)
            #expect(result.tier == .autonomous, "\(command): \(result.reasons)")
        }
        #expect(try s.classify("holdpoint submit --command ls").reasons.map(\.rule) == ["submit-to-holdpoint"])
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
            // Patterns that name them from outside the state directory's own path.
            "rm \(s.root)/st*/holdpoint/policy.yaml",
            "cat \(s.root)/sta?e/*/queue.sqlite.audit-k?y",
            "echo '{}' > ~/.claude/settings.json",
            // Interpreter one-liners that write: the paths they name are checked too.
            "python3 -c \"import json;p='\(s.root)/.claude/settings.json';d=json.load(open(p));d['hooks']={};json.dump(d,open(p,'w'))\"",
            "node -e \"require('fs').writeFileSync('\(s.state)/policy.yaml', 'approvals: {required: 0}')\"",
            "ruby -e \"File.write('\(s.state)/policy.yaml', '')\"",
        ]
        for route in routes {
            let result = try s.classify(route)
            #expect(result.tier == .blocked, "\(route) → \(result.tier) \(result.reasons.map(\.rule))")
        }
    }

    /// A one-liner that only reads may name Holdpoint's files (reading the policy is allowed).
    @Test func aReadingOneLinerIsNotBlocked() throws {
        let s = try Setup()
        let result = try s.classify("python3 -c \"print(open('\(s.state)/policy.yaml').read())\"")
        #expect(result.tier != .blocked, "\(result.reasons.map(\.rule))")
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

    /// A line of the 1 MiB limit can name tens of thousands of files: the links to Holdpoint's
    /// files are looked up for the first `FileSystemBudget.lookups`, the rest are compared by
    /// name, and the line waits for a human rather than for the file system.
    @Test func aLineNamingMoreFilesThanCanBeLookedUpIsHeld() throws {
        let s = try Setup()
        let link = s.project + "/innocent.db"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: s.state + "/queue.sqlite")
        let many = (0..<(FileSystemBudget.lookups + 10)).map { "f\($0).txt" }.joined(separator: " ")
        // Within the budget, nothing to hold for: a read of a few hundred files.
        let few = try s.classify("cat " + (0..<200).map { "f\($0).txt" }.joined(separator: " "))
        #expect(!few.reasons.contains { $0.rule == "shell-too-many-files" }, "\(few.reasons)")
        let past = try s.classify("cat \(many)")
        #expect(past.reasons.contains { $0.rule == "shell-too-many-files" }, "\(past.reasons.map(\.rule))")
        #expect(past.operationClass == .unknown)
        // The link looked up early is still the queue; named late, it is past the budget, but a
        // protected file named as itself is still blocked by name.
        #expect(try s.classify("rm innocent.db \(many)").tier == .blocked)
        #expect(try s.classify("rm \(many) \(s.state)/queue.sqlite").tier == .blocked)
        let late = try s.classify("rm \(many) innocent.db")
        #expect(late.reasons.contains { $0.rule == "shell-too-many-files" }, "\(late.reasons.map(\.rule))")
        #expect(late.tier != .blocked)
    }

    /// Scripts a line runs are read to see what they do, up to a budget of files and bytes
    /// for the whole line: 2,000 runs of a 256 KiB script are not read 2,000 times.
    @Test func scriptsPastTheLinesBudgetAreNotRead() throws {
        let s = try Setup()
        let script = s.project + "/big.sh"
        try String(repeating: "echo fine\n", count: 26_000).write(toFile: script, atomically: true, encoding: .utf8)
        let blocked = s.project + "/approve.sh"
        try "holdpoint decide 01JD8X3Q4W5E6R7T8Y9U0I1O2P approve --reason done\n".write(toFile: blocked, atomically: true, encoding: .utf8)
        // Read while the budget lasts: the script that approves is found.
        #expect(try s.classify("sh big.sh; sh approve.sh").tier == .blocked)
        let runs = Array(repeating: "sh big.sh", count: FileSystemBudget.files + 1).joined(separator: "; ")
        let past = try s.classify(runs + "; sh approve.sh")
        #expect(past.reasons.contains { $0.rule == "shell-too-many-files" }, "\(past.reasons.map(\.rule))")
        #expect(past.operationClass == .unknown)
    }

    /// `PathText.normalize` works over bytes; it must say what the component-by-component
    /// reading of the same path says.
    @Test(
        arguments: [
            ("/a/b/../c/./d//e/", nil, nil, "/a/c/d/e"), ("a/../../b", nil, nil, "b"), ("/..", nil, nil, "/"), ("/", nil, nil, "/"),
            ("", nil, nil, ""), (".", "/srv", nil, "/srv"), ("x/..", "/srv/app", nil, "/srv/app"), ("../../../..", "/srv/app", nil, "/"),
            ("~", nil, "/home/u", "/home/u"), ("~/.ssh/../.aws/credentials", "/w", "/home/u", "/home/u/.aws/credentials"),
            ("~other/x", "/w", "/home/u", "/w/~other/x"), ("~", nil, nil, "~"), ("dé/ü/../ñ", "/ṽ", nil, "/ṽ/dé/ñ"),
            ("//srv///x/", nil, nil, "/srv/x"), ("...", "/a", nil, "/a/..."), ("a/./..b", "/", nil, "/a/..b"),
        ] as [(String, String?, String?, String)])
    func pathsAreWrittenOutInFull(_ path: String, cwd: String?, home: String?, expected: String) {
        #expect(PathText.normalize(path, relativeTo: cwd, home: home) == expected)
        #expect(PathText.normalize(path, relativeTo: cwd, home: home) == Self.componentwise(path, relativeTo: cwd, home: home))
    }

    @Test func insideMeansUnderAWholeComponent() {
        #expect(PathText.isInside("/srv/app/x", "/srv/app") && PathText.isInside("/srv/app", "/srv/app"))
        #expect(PathText.isInside("/srv/app/x", "/srv/app/") && PathText.isInside("/anything", "/"))
        #expect(!PathText.isInside("/srv/application", "/srv/app") && !PathText.isInside("/srv", "/srv/app"))
        #expect(SelfProtection.isHookSettings("/home/u/.claude/settings.json") && SelfProtection.isHookSettings("/etc/claude-code/managed.json"))
        #expect(!SelfProtection.isHookSettings("/home/u/claude/settings.json"))
    }

    @Test func bytewiseAndComponentwiseAgreeOnGeneratedPaths() {
        var generator = SystemRandomNumberGenerator()
        let pieces = ["a", "bc", ".", "..", "", "~", "…", "d.e", "...", " "]
        for _ in 0..<2_000 {
            let count = Int.random(in: 0...7, using: &generator)
            var path = (0..<count).map { _ in pieces.randomElement(using: &generator) ?? "a" }.joined(separator: "/")
            if Bool.random(using: &generator) { path = "/" + path }
            let cwd = Bool.random(using: &generator) ? "/w/x" : nil
            let home = Bool.random(using: &generator) ? "/home/u" : nil
            #expect(PathText.normalize(path, relativeTo: cwd, home: home) == Self.componentwise(path, relativeTo: cwd, home: home), "\(path)")
        }
    }

    /// The reading the byte version replaced, kept as its specification.
    static func componentwise(_ path: String, relativeTo cwd: String?, home: String?) -> String {
        var text = path
        if text == "~" || text.hasPrefix("~/"), let home { text = home + text.dropFirst() }
        if !text.hasPrefix("/"), let cwd { text = cwd + "/" + text }
        var parts: [Substring] = []
        for part in text.split(separator: "/", omittingEmptySubsequences: true) where part != "." {
            if part == ".." {
                if !parts.isEmpty { parts.removeLast() }
            } else {
                parts.append(part)
            }
        }
        return (text.hasPrefix("/") ? "/" : "") + parts.joined(separator: "/")
    }
}

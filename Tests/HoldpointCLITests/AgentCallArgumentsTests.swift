import Testing

@testable import holdpoint

/// `check` and `hook` read their options without ArgumentParser when the call is plain; the
/// options themselves are declared for ArgumentParser. These tests hold the two readings
/// equal, and make sure everything unusual is left to ArgumentParser (which explains it).
@Suite struct AgentCallArgumentsTests {
    static let plainChecks: [[String]] = [
        ["--command", "ls -la"],
        ["--command=rm -rf /tmp/x", "--env", "prod", "--json"],
        ["--json", "--command", "kubectl delete ns web", "--env=staging", "--agent", "kiro-7f3", "--agent-mode", "supervised"],
        ["--queue", "/tmp/q.sqlite", "--audit=/tmp/head", "--policy", "site.yaml", "--agent-mode=autonomous", "--command", "git push --force"],
        ["--command", "a=b --c", "--agent", "x=y"],
        [],
        ["--json"],
    ]

    static let plainHooks: [[String]] = [
        ["claude-code"],
        ["codex", "--hold", "0"],
        ["--hold=12.5", "gemini", "--env", "production"],
        ["cursor", "--queue", "/tmp/q", "--audit", "/tmp/a", "--policy=/etc/p.yaml", "--agent", "bot", "--agent-mode", "supervised", "--hold", "3600"],
    ]

    @Test func plainCheckCallsReadAsArgumentParserReadsThem() throws {
        for arguments in Self.plainChecks {
            let fast = try #require(AgentCallArguments.check(arguments), "\(arguments) should take the fast path")
            #expect(fast == (try Check.parse(arguments)).checkRun, "\(arguments)")
        }
    }

    @Test func plainHookCallsReadAsArgumentParserReadsThem() throws {
        for arguments in Self.plainHooks {
            let fast = try #require(AgentCallArguments.hook(arguments), "\(arguments) should take the fast path")
            #expect(fast == (try Hook.parse(arguments)).hookRun, "\(arguments)")
        }
    }

    @Test func unusualCheckCallsAreLeftToArgumentParser() {
        let unusual: [[String]] = [
            ["--help"], ["-h"], ["--command"], ["--command", "--json"], ["--command", "-rf"], ["--command="],
            ["--bogus"], ["--json", "--json"], ["--json=true"], ["--command", "a", "--command", "b"],
            ["--agent-mode", "rogue", "--command", "ls"], ["extra"], ["--command", "ls", "--", "x"], ["-"], ["--"],
            ["--hold", "5", "--command", "ls"],
        ]
        for arguments in unusual {
            #expect(AgentCallArguments.check(arguments) == nil, "\(arguments)")
        }
    }

    @Test func unusualHookCallsAreLeftToArgumentParser() {
        let unusual: [[String]] = [
            [], ["--help", "claude-code"], ["claude"], ["codex", "gemini"], ["claude-code", "--hold", "-1"],
            ["claude-code", "--hold", "nan"], ["claude-code", "--hold", "3601"], ["claude-code", "--hold", "soon"],
            ["claude-code", "--json"], ["claude-code", "--command", "ls"], ["claude-code", "--env"],
            ["claude-code", "--agent-mode", "root"], ["-x", "claude-code"],
        ]
        for arguments in unusual {
            #expect(AgentCallArguments.hook(arguments) == nil, "\(arguments)")
        }
    }
}

import Foundation
import HoldpointCore
import Testing

@testable import HoldpointGate

/// Each client's hook input, built from the examples in its documentation, and each
/// client's answer format.
@Suite struct HookInputTests {
    static let claudeBash =
        #"{"session_id":"abc123","transcript_path":"/home/u/.claude/projects/p/abc123.jsonl","cwd":"/home/u/project","permission_mode":"default","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"npm test","description":"Run the test suite","timeout":120000},"tool_use_id":"toolu_01ABC123"}"#

    @Test func claudeCodeBash() throws {
        let call = try HookInput.parse(Array(Self.claudeBash.utf8), client: .claudeCode)
        #expect(call.toolName == "Bash")
        #expect(call.cwd == "/home/u/project")
        #expect(call.callID == "toolu_01ABC123")
        let request = try ToolMapping.request(for: call, environment: "production", agentID: "claude-code", mode: .supervised)
        #expect(request.kind == .shell)
        #expect(request.command == "npm test")
        #expect(request.workingDirectory == "/home/u/project")
        #expect(request.reasoning == ["Run the test suite"])
        #expect(request.agentName == "Claude Code")
        #expect(request.session == "abc123")
        // The hook's own fields are kept for the reviewer, outside the hashed action.
        #expect(request.document["hook"]?["tool_name"]?.stringValue == "Bash")
        #expect(request.actionObject["description"] == nil)
    }

    @Test func theActionHashCoversTheCommandAndTheDirectory() throws {
        func hash(_ command: String, cwd: String) throws -> String {
            let json = #"{"hook_event_name":"PreToolUse","cwd":"\#(cwd)","tool_name":"Bash","tool_input":{"command":"\#(command)","description":"different every time"}}"#
            return try ToolMapping.request(for: try HookInput.parse(Array(json.utf8), client: .claudeCode), environment: "production", agentID: "a", mode: .supervised).actionSHA256
        }
        #expect(try hash("rm -rf build", cwd: "/p") == hash("rm -rf build", cwd: "/p"))
        #expect(try hash("rm -rf build", cwd: "/p") != hash("rm -rf build", cwd: "/"))
        #expect(try hash("rm -rf build", cwd: "/p") != hash("rm -rf build2", cwd: "/p"))
    }

    @Test func claudeCodeFileAndMCPTools() throws {
        let write = #"{"hook_event_name":"PreToolUse","cwd":"/p","tool_name":"Write","tool_input":{"file_path":"/p/.github/workflows/ci.yml","content":"on: push"}}"#
        let w = try ToolMapping.request(for: try HookInput.parse(Array(write.utf8), client: .claudeCode), environment: "production", agentID: "a", mode: .supervised)
        #expect(w.kind == .file)
        #expect(w.targets == ["/p/.github/workflows/ci.yml"])
        #expect(w.content == "on: push")
        let edit =
            #"{"hook_event_name":"PreToolUse","tool_name":"MultiEdit","tool_input":{"file_path":"/p/a.swift","edits":[{"old_string":"a","new_string":"b"},{"old_string":"c","new_string":"d"}]}}"#
        let e = try ToolMapping.request(for: try HookInput.parse(Array(edit.utf8), client: .claudeCode), environment: "production", agentID: "a", mode: .supervised)
        #expect(e.content == "b\nd")
        #expect(e.actionObject["edits"]?.arrayValue?.count == 2)
        let mcp = #"{"hook_event_name":"PreToolUse","tool_name":"mcp__github__delete_repository","tool_input":{"owner":"o","repo":"r"}}"#
        let m = try ToolMapping.request(for: try HookInput.parse(Array(mcp.utf8), client: .claudeCode), environment: "production", agentID: "a", mode: .supervised)
        #expect(m.kind == .mcp)
        #expect(m.operation == "mcp__github__delete_repository")
        #expect(m.actionObject["arguments"]?["repo"]?.stringValue == "r")
    }

    @Test func codexGeminiAndCursorInputs() throws {
        let codex =
            #"{"session_id":"s","turn_id":"t1","hook_event_name":"PreToolUse","cwd":"/w","tool_name":"Bash","tool_use_id":"call_1","tool_input":{"command":["bash","-lc","git push --force origin main"]}}"#
        let c = try ToolMapping.request(for: try HookInput.parse(Array(codex.utf8), client: .codex), environment: "production", agentID: "codex", mode: .supervised)
        #expect(c.command == "bash -lc 'git push --force origin main'")
        let patch =
            #"{"hook_event_name":"PreToolUse","tool_name":"apply_patch","tool_input":{"command":"*** Begin Patch\n*** Delete File: src/old.rs\n*** Update File: src/main.rs\n@@\n-a\n+b\n*** End Patch"}}"#
        let p = try ToolMapping.request(for: try HookInput.parse(Array(patch.utf8), client: .codex), environment: "production", agentID: "codex", mode: .supervised)
        #expect(p.targets == ["src/old.rs", "src/main.rs"])
        #expect(p.operation == "delete_file")

        let gemini =
            #"{"session_id":"g","transcript_path":"/t.json","cwd":"/w","hook_event_name":"BeforeTool","timestamp":"2026-11-25T10:00:00Z","tool_name":"run_shell_command","tool_input":{"command":"kubectl delete namespace prod","description":"clean up"}}"#
        let g = try ToolMapping.request(for: try HookInput.parse(Array(gemini.utf8), client: .gemini), environment: "production", agentID: "gemini", mode: .supervised)
        #expect(g.command == "kubectl delete namespace prod")
        #expect(g.workingDirectory == "/w")

        let cursor =
            #"{"hook_event_name":"beforeShellExecution","conversation_id":"conv-123","generation_id":"gen-456","workspace_roots":["/w"],"command":"terraform destroy -auto-approve","cwd":"/w"}"#
        let k = try ToolMapping.request(for: try HookInput.parse(Array(cursor.utf8), client: .cursor), environment: "production", agentID: "cursor", mode: .supervised)
        #expect(k.command == "terraform destroy -auto-approve")
        let cursorMCP =
            #"{"hook_event_name":"beforeMCPExecution","conversation_id":"c","generation_id":"g","tool_name":"database_query","tool_input":"{\"query\": \"DROP TABLE users\"}","command":"npx mcp-server"}"#
        let km = try ToolMapping.request(for: try HookInput.parse(Array(cursorMCP.utf8), client: .cursor), environment: "production", agentID: "cursor", mode: .supervised)
        #expect(km.operation == "mcp__database_query")
        #expect(km.actionObject["arguments"]?["query"]?.stringValue == "DROP TABLE users")
    }

    @Test(arguments: [
        ("", "empty"),
        ("[1]", "must be a JSON object"),
        (#"{"hook_event_name":"PreToolUse","tool_input":{}}"#, "tool_name"),
        (#"{"hook_event_name":"PreToolUse","tool_name":"Bash"}"#, "tool_input"),
        (#"{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":"ls"}"#, "tool_input: expected an object"),
        (#"{"hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{}}"#, "PostToolUse"),
        (#"{"tool_name":"Bash","tool_name":"Read","tool_input":{}}"#, "not valid JSON"),
    ])
    func badInputIsNamed(_ input: String, _ expected: String) {
        #expect {
            _ = try HookInput.parse(Array(input.utf8), client: .claudeCode)
        } throws: { error in
            (error as? HookInputError)?.message.contains(expected) == true
        }
    }

    @Test func aBashCallWithoutACommandIsRefused() throws {
        let call = try HookInput.parse(Array(#"{"tool_name":"Bash","tool_input":{"command":""}}"#.utf8), client: .claudeCode)
        #expect(throws: RequestError.self) { _ = try ToolMapping.request(for: call, environment: "p", agentID: "a", mode: .supervised) }
    }
}

@Suite struct HookAnswerTests {
    @Test func claudeCodeAnswersWithHookSpecificOutput() throws {
        let reply = HookAnswer.reply(.deny(reason: "no"), client: .claudeCode)
        #expect(reply.exitCode == 0)
        let json = try JSONReader.parse(reply.stdout)
        #expect(json["hookSpecificOutput"]?["hookEventName"]?.stringValue == "PreToolUse")
        #expect(json["hookSpecificOutput"]?["permissionDecision"]?.stringValue == "deny")
        #expect(json["hookSpecificOutput"]?["permissionDecisionReason"]?.stringValue == "no")
        #expect(try JSONReader.parse(HookAnswer.reply(.allow(reason: "ok"), client: .claudeCode).stdout)["hookSpecificOutput"]?["permissionDecision"]?.stringValue == "allow")
    }

    /// No objection is not an approval: the clients that can say "no opinion" are told
    /// nothing, so their own permission rules (Claude Code's `ask` entries, Gemini CLI's
    /// confirmation) still apply. Only Cursor, which has no such answer, gets "allow".
    @Test func noObjectionLeavesTheClientsOwnRulesInForce() throws {
        #expect(HookAnswer.reply(.noObjection(reason: "ok"), client: .claudeCode) == HookReply(stdout: "", stderr: "", exitCode: 0))
        #expect(HookAnswer.reply(.noObjection(reason: "ok"), client: .codex) == HookReply(stdout: "", stderr: "", exitCode: 0))
        #expect(HookAnswer.reply(.noObjection(reason: "ok"), client: .gemini) == HookReply(stdout: "{}\n", stderr: "", exitCode: 0))
        #expect(try JSONReader.parse(HookAnswer.reply(.noObjection(reason: "ok"), client: .cursor).stdout)["permission"]?.stringValue == "allow")
    }

    @Test func codexBlocksWithExitTwoAndSaysNothingToAllow() {
        let deny = HookAnswer.reply(.deny(reason: "no"), client: .codex)
        #expect(deny.exitCode == 2)
        #expect(deny.stdout.isEmpty)
        #expect(deny.stderr == "no\n")
        #expect(HookAnswer.reply(.allow(reason: "ok"), client: .codex) == HookReply(stdout: "", stderr: "", exitCode: 0))
    }

    @Test func geminiAndCursorAnswerInTheirFormats() throws {
        let gemini = try JSONReader.parse(HookAnswer.reply(.deny(reason: "no"), client: .gemini).stdout)
        #expect(gemini["decision"]?.stringValue == "deny")
        #expect(gemini["reason"]?.stringValue == "no")
        let cursor = try JSONReader.parse(HookAnswer.reply(.deny(reason: "no"), client: .cursor).stdout)
        #expect(cursor["permission"]?.stringValue == "deny")
        #expect(cursor["agent_message"]?.stringValue == "no")
        #expect(cursor["user_message"]?.stringValue == "no")
        #expect(try JSONReader.parse(HookAnswer.reply(.allow(reason: "ok"), client: .cursor).stdout)["permission"]?.stringValue == "allow")
        // "ask" is never an answer: the human decides in Holdpoint's queue.
        for client in AgentClient.allCases {
            for decision in [HookDecision.allow(reason: "x"), .deny(reason: "x")] {
                #expect(!HookAnswer.reply(decision, client: client).stdout.contains("\"ask\""))
            }
        }
    }
}

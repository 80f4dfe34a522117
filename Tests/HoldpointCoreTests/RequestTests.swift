import Testing

@testable import HoldpointCore

@Suite struct ActionRequestDecoderTests {
    static let costExplorer = #"""
        {
          "schema": "holdpoint.action/v1",
          "agent": {"id": "kiro-7f3", "name": "Kiro", "mode": "supervised", "session": "s-123", "on_behalf_of": "alice"},
          "environment": "production",
          "action": {
            "kind": "api",
            "operation": "cloudformation:DeleteStack",
            "command": "aws cloudformation delete-stack --stack-name prod-cost-explorer-cn-north-1",
            "targets": ["prod-cost-explorer-cn-north-1"]
          },
          "summary": "Delete and recreate the Cost Explorer production stack to clear a config drift",
          "reasoning": ["The stack has drifted", "Patching in place failed twice", "Recreating yields a known-good state"],
          "impact": {"resources_affected": 143, "cost_usd": 0, "downtime_minutes": 780, "reversible": false, "data_loss": true},
          "alternatives": [{"action": "Patch the Lambda configuration only", "rejected_because": "two earlier patches failed"}],
          "rollback": {"plan": "Redeploy from the last template in the artifact bucket", "tested": false},
          "confidence": 0.62,
          "x_ticket": "OPS-4411"
        }
        """#

    @Test func decodesTheSpecExampleAndKeepsUnknownFields() throws {
        let request = try ActionRequestDecoder.decode(Array(Self.costExplorer.utf8))
        #expect(request.agentID == "kiro-7f3")
        #expect(request.agentMode == .supervised)
        #expect(request.onBehalfOf == "alice")
        #expect(request.kind == .api)
        #expect(request.operation == "cloudformation:DeleteStack")
        #expect(request.targets == ["prod-cost-explorer-cn-north-1"])
        #expect(request.reasoning.count == 3)
        #expect(request.impact.resourcesAffected == 143)
        #expect(request.impact.reversible == false)
        #expect(request.alternatives.first?.rejectedBecause == "two earlier patches failed")
        #expect(request.rollback?.tested == false)
        #expect(request.confidence == 0.62)
        #expect(request.document["x_ticket"] == .string("OPS-4411"))
    }

    @Test func agentModeDefaultsToAutonomous() throws {
        let request = try ActionRequestDecoder.decode(Array(#"{"schema":"holdpoint.action/v1","agent":{"id":"a"},"environment":"dev","action":{"kind":"shell","command":"ls"}}"#.utf8))
        #expect(request.agentMode == .autonomous)
    }

    @Test(arguments: [
        (
            #"{"schema":"holdpoint.action/v1","agent":{"id":"a"},"environment":"p","action":{"kind":"shell","command":"ls"},"impact":{"cost_usd":"lots"}}"#,
            #"impact.cost_usd: expected a number, got "lots""#
        ),
        (#"{"agent":{"id":"a"},"environment":"p","action":{"kind":"shell","command":"ls"}}"#, "schema: required field is missing"),
        (#"{"schema":"holdpoint.action/v2","agent":{"id":"a"},"environment":"p","action":{"kind":"shell","command":"ls"}}"#, "schema: expected \"holdpoint.action/v1\""),
        (#"{"schema":"holdpoint.action/v1","environment":"p","action":{"kind":"shell","command":"ls"}}"#, "agent: required field is missing"),
        (#"{"schema":"holdpoint.action/v1","agent":{"id":7},"environment":"p","action":{"kind":"shell","command":"ls"}}"#, "agent.id: expected a string, got 7"),
        (#"{"schema":"holdpoint.action/v1","agent":{"id":"a","mode":"yolo"},"environment":"p","action":{"kind":"shell","command":"ls"}}"#, "agent.mode: expected \"supervised\" or \"autonomous\""),
        (#"{"schema":"holdpoint.action/v1","agent":{"id":"a"},"action":{"kind":"shell","command":"ls"}}"#, "environment: required field is missing"),
        (#"{"schema":"holdpoint.action/v1","agent":{"id":"a"},"environment":"p","action":{"kind":"telepathy","command":"ls"}}"#, "action.kind: expected one of shell, api, sql, mcp, file, other"),
        (#"{"schema":"holdpoint.action/v1","agent":{"id":"a"},"environment":"p","action":{"kind":"shell"}}"#, "action.operation: required"),
        (#"{"schema":"holdpoint.action/v1","agent":{"id":"a"},"environment":"p","action":{"kind":"shell","command":"ls","targets":["a",3]}}"#, "action.targets[1]: expected a string, got 3"),
        (#"{"schema":"holdpoint.action/v1","agent":{"id":"a"},"environment":"p","action":{"kind":"shell","command":"ls"},"confidence":3}"#, "confidence: expected a number from 0 to 1"),
        (#"{"schema":"holdpoint.action/v1","agent":{"id":"a"},"environment":"p","action":{"kind":"shell","command":"ls"},"alternatives":[7]}"#, "alternatives[0]: expected an object or a string"),
        (#"[1,2]"#, "expected a JSON object, got an array"),
    ])
    func refusalsNameTheField(document: String, message: String) {
        do {
            _ = try ActionRequestDecoder.decode(Array(document.utf8))
            Issue.record("accepted an invalid request")
        } catch {
            #expect(error.description.contains(message), "got: \(error.description)")
        }
    }

    @Test func refusesOversizeDocumentsWhole() {
        let padding = String(repeating: "x", count: ActionRequest.maximumSize)
        let document = #"{"schema":"holdpoint.action/v1","agent":{"id":"a"},"environment":"p","action":{"kind":"shell","command":"ls"},"summary":""# + padding + #""}"#
        do {
            _ = try ActionRequestDecoder.decode(Array(document.utf8))
            Issue.record("accepted an oversize request")
        } catch {
            #expect(error.description.contains("the limit is 1048576 bytes"))
        }
    }
}

@Suite struct SafeTextTests {
    @Test func escapesControlAndBidiCharacters() {
        #expect(SafeText.escape("a\u{1B}[2Jb") == "a\\e[2Jb")
        #expect(SafeText.escape("\u{1B}]0;pwned\u{07}") == "\\e]0;pwned\\x07")
        #expect(SafeText.escape("rm\u{202E}fr-") == "rm<U+202E>fr-")
        #expect(SafeText.escape("a\u{200B}b\u{9B}c\u{7F}") == "a<U+200B>b<U+009B>c\\x7f")
        #expect(SafeText.escape("x\ny") == "x\\ny")
        #expect(SafeText.escape("x\ny", keepNewlines: true) == "x\ny")
        #expect(SafeText.escape("日本語 ok") == "日本語 ok")
    }
}

import Testing
@testable import HoldpointCore

@Suite struct JSONReaderTests {
    @Test func parsesNestedDocumentsKeepingMemberOrder() throws {
        let value = try JSONReader.parse(#"{"b": [1, 2.5, -3e2, true, null], "a": {"x": "y\u00e9\n"}}"#)
        guard case .object(let members) = value else { Issue.record("not an object"); return }
        #expect(members.map(\.key) == ["b", "a"])
        #expect(value["b"] == .array([.number(1), .number(2.5), .number(-300), .bool(true), .null]))
        #expect(value["a"]?["x"] == .string("yé\n"))
    }

    @Test(arguments: [
        ("{\"a\": 1,}", "expected a member name"),
        ("{\"a\": 1} x", "unexpected data after the end"),
        ("{\"a\": 1, \"a\": 2}", "duplicate member \"a\""),
        // Past 16 members names are checked through a set: the 3rd repeated as the 20th.
        ("{" + (0..<19).map { "\"k\($0)\": \($0)" }.joined(separator: ", ") + ", \"k2\": 0}", "duplicate member \"k2\""),
        ("{\"plain\": \"ascii then \\u00e9 and é\", \"plain\": 1}", "duplicate member \"plain\""),
        ("[01]", "expected ',' or ']'"),
        ("\"\u{01}\"", "raw control character"),
        ("\"\\ud800\"", "unpaired surrogate"),
        ("", "unexpected end"),
    ])
    func refusesMalformedDocuments(input: String, message: String) {
        #expect {
            _ = try JSONReader.parse(input)
        } throws: { error in
            (error as? JSONSyntaxError)?.message.contains(message) == true
        }
    }

    @Test func refusesInvalidUTF8() {
        let bytes: [UInt8] = Array("{\"a\": \"".utf8) + [0xC3, 0x28] + Array("\"}".utf8)
        #expect(throws: JSONSyntaxError.self) { try JSONReader.parse(bytes) }
        let overlong: [UInt8] = [0x22, 0xC0, 0xAF, 0x22]
        #expect(throws: JSONSyntaxError.self) { try JSONReader.parse(overlong) }
    }

    @Test func refusesAbsurdNesting() {
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: JSONSyntaxError.self) { try JSONReader.parse(deep) }
    }

    @Test func reportsLineAndColumn() {
        do {
            _ = try JSONReader.parse("{\n  \"a\": tru\n}")
            Issue.record("expected an error")
        } catch {
            #expect(error.line == 2)
            #expect(error.column == 8)
        }
    }
}

@Suite struct CanonicalJSONTests {
    @Test func sortsKeysAndDropsWhitespace() throws {
        let value = try JSONReader.parse(#"{ "z": 1, "a": { "d": [ 1 , 2 ], "c": "x" } }"#)
        #expect(JSONWriter.canonical(value) == #"{"a":{"c":"x","d":[1,2]},"z":1}"#)
    }

    /// RFC 8785 examples of number serialisation (ECMAScript Number.prototype.toString).
    @Test(arguments: [
        (1.0, "1"), (-0.0, "0"), (1e21, "1e+21"), (1e20, "100000000000000000000"), (0.000001, "0.000001"),
        (1e-7, "1e-7"), (123.456, "123.456"), (-1.5, "-1.5"), (4.5e-10, "4.5e-10"), (333333333.3333332, "333333333.3333332"),
    ])
    func formatsNumbersLikeECMAScript(value: Double, expected: String) {
        #expect(JSONWriter.formatNumber(value) == expected)
    }

    @Test func escapesOnlyWhatJCSEscapes() {
        #expect(JSONWriter.canonical(.string("a\"b\\c\u{1}é€/")) == #""a\"b\\c\u0001é€/""#)
    }

    @Test func actionHashIsStableAcrossKeyOrderAndWhitespace() throws {
        let a = try JSONReader.parse(#"{"kind":"api","operation":"cloudformation:DeleteStack","targets":["x"]}"#)
        let b = try JSONReader.parse("{\n \"targets\" : [ \"x\" ],\n \"operation\":\"cloudformation:DeleteStack\", \"kind\": \"api\" }")
        #expect(ActionHash.sha256(of: a) == ActionHash.sha256(of: b))
        let c = try JSONReader.parse(#"{"kind":"api","operation":"cloudformation:DeleteStack","targets":["y"]}"#)
        #expect(ActionHash.sha256(of: a) != ActionHash.sha256(of: c))
    }

    @Test func actionHashIsSHA256OfTheCanonicalBytes() throws {
        // Recomputable elsewhere: sha256 of the exact canonical text.
        let action = try JSONReader.parse(#"{"kind":"shell","command":"ls"}"#)
        #expect(JSONWriter.canonical(action) == #"{"command":"ls","kind":"shell"}"#)
        // printf '%s' '{"command":"ls","kind":"shell"}' | sha256sum
        #expect(ActionHash.sha256(of: action) == "c33eb8bfe046f9f0cc8624c04687527829291cebd85d2b4830acf99be339c050")
    }
}

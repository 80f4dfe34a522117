import Testing

@testable import HoldpointCore

@Suite struct JSONReaderTests {
    @Test func parsesNestedDocumentsKeepingMemberOrder() throws {
        let value = try JSONReader.parse(#"{"b": [1, 2.5, -3e2, true, null], "a": {"x": "y\u00e9\n"}}"#)
        guard case .object(let members) = value else {
            Issue.record("not an object")
            return
        }
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

    /// Strings with escapes are built as bytes: every escape, runs between them, multi-byte
    /// text and surrogate pairs must come out as the scalars they spell.
    @Test func decodesEscapedStrings() throws {
        let input = #""a\"b\\c\/d\be\ff\ng\rh\ti\u00e9j\ud83d\ude00k é 😀 \u0041\"""#
        #expect(try JSONReader.parse(input) == .string("a\"b\\c/d\u{08}e\u{0C}f\ng\rh\ti\u{E9}j\u{1F600}k é 😀 A\""))
        let long = String(repeating: #"\"$TOKEN\" "#, count: 1_000)
        #expect(try JSONReader.parse("\"" + long + "\"") == .string(String(repeating: "\"$TOKEN\" ", count: 1_000)))
        // Invalid UTF-8 after an escape is refused as before it.
        let bytes: [UInt8] = Array(#""\n"#.utf8) + [0xE2, 0x28, 0xA1] + Array("\"".utf8)
        #expect(throws: JSONSyntaxError.self) { try JSONReader.parse(bytes) }
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

/// RFC 8785 (JCS) test vectors, whole documents: an independent implementation must hash
/// the same action the same way.
@Suite struct RFC8785VectorTests {
    /// RFC 8785 section 3.2.2's example: numbers, escapes and literals.
    @Test func theRFCsOwnExampleDocument() throws {
        let input = #"{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/", "literals": [null, true, false]}"#
        let expected = #"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        #expect(JSONWriter.canonical(try JSONReader.parse(input)) == expected)
    }

    /// Section 3.2.3: members sorted by their names' UTF-16 code units, not by scalars or bytes.
    @Test func membersSortByUTF16CodeUnits() throws {
        let input =
            #"{"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One", "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control", "\u00f6": "Latin Small Letter O With Diaeresis"}"#
        let canonical = JSONWriter.canonical(try JSONReader.parse(input))
        let order = ["\\r", "1", "\u{80}", "ö", "€", "😀", "\u{FB33}"]
        var last = canonical.startIndex
        for key in order {
            let range = try #require(canonical.range(of: "\"\(key)\":", range: last..<canonical.endIndex), "\(key) out of order in \(canonical)")
            last = range.upperBound
        }
    }
}

/// The shell parser on generated input: it never traps, and plain words come back as they
/// were written, however they were quoted. Seeded, so a failure reproduces.
@Suite struct ShellParserPropertyTests {
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test func neverTrapsOnArbitraryText() {
        var random = SeededGenerator(state: 12_345)
        let alphabet = Array("ab $()`'\"\\|&;<>{}[]*?!#~=\n\t-0123456789\u{0}é€".unicodeScalars)
        for _ in 0..<3_000 {
            let length = Int.random(in: 0..<80, using: &random)
            var text = String.UnicodeScalarView()
            for _ in 0..<length { text.append(alphabet[Int.random(in: 0..<alphabet.count, using: &random)]) }
            let script = ShellParser.parse(String(text))
            #expect(script.commands.count <= 2_000)
        }
    }

    @Test func generatedWordsComeBackAsGenerated() throws {
        var random = SeededGenerator(state: 678)
        let plain = Array("abcdefghijklmnopqrstuvwxyz0123456789_./-=:,".unicodeScalars)
        let special = Array(" $`\"\\|&;<>(){}*?#~!'".unicodeScalars)
        for _ in 0..<1_000 {
            var words: [String] = []
            var line: [String] = []
            for _ in 0..<Int.random(in: 1...6, using: &random) {
                var word = String.UnicodeScalarView()
                for _ in 0..<Int.random(in: 1...12, using: &random) {
                    let pool = Int.random(in: 0..<4, using: &random) == 0 ? special : plain
                    word.append(pool[Int.random(in: 0..<pool.count, using: &random)])
                }
                let text = String(word)
                words.append(text)
                // Quoted the way a careful generator would: single quotes, with ' as '\''.
                line.append("'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'")
            }
            let script = ShellParser.parse("cmd " + line.joined(separator: " "))
            let command = try #require(script.commands.first)
            #expect(command.words.dropFirst().map(\.text) == words, "\(line.joined(separator: " "))")
        }
    }
}

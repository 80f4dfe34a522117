import HoldpointCore
import Testing

/// TOML read for its structure (Codex's config.toml, for `holdpoint setup codex`).
@Suite struct TOMLOutlineTests {
    /// What a lived-in Codex configuration looks like: comments, strings that look like
    /// headers, arrays over several lines, an inline table, dates, dotted keys.
    static let lived = #"""
        # personal settings
        model = "gpt-5.1"   # the default
        approval_policy = 'on-request'
        notes = """
        [not.a.table]
        a "quoted" word \
           continued"""
        writable_roots = [
          "/srv/app",  # the service
          '/tmp',
        ]
        shell_environment_policy = { inherit = "core", exclude = ["AWS_*", "*_TOKEN"] }
        started = 1979-05-27 07:32:00Z
        features.web_search = true

        [features]
        hooks = false

        [projects."/home/me/work app"]
        trust_level = "trusted"

        [[hooks.PreToolUse]]
        matcher = "^Bash$"

        [[hooks.PreToolUse.hooks]]
        type = "command"
        command = "audit \"$CMD\""
        timeout = 30
        """#

    @Test func sectionsKeysAndTheValuesSetupReads() throws {
        let outline = try TOMLOutline(Self.lived)
        #expect(outline.sections.map(\.path) == [[], ["features"], ["projects", "/home/me/work app"], ["hooks", "PreToolUse"], ["hooks", "PreToolUse", "hooks"]])
        #expect(outline.sections.map(\.kind) == [.root, .table, .table, .arrayTable, .arrayTable])
        #expect(outline.sections.map(\.line) == [1, 16, 19, 22, 25])
        let pairs = Dictionary(outline.pairs.map { ($0.path.joined(separator: "."), $0.value) }, uniquingKeysWith: { a, _ in a })
        #expect(pairs["model"] == .string("gpt-5.1"))
        #expect(pairs["approval_policy"] == .string("on-request"))
        #expect(pairs["notes"] == .string("[not.a.table]\na \"quoted\" word continued"))
        #expect(pairs["features.web_search"] == .boolean(true))
        #expect(pairs["features.hooks"] == .boolean(false))
        #expect(pairs["projects./home/me/work app.trust_level"] == .string("trusted"))
        #expect(pairs["hooks.PreToolUse.hooks.command"] == .string(#"audit "$CMD""#))
        #expect(pairs["started"] == .other)
        #expect(outline.pairs.first { $0.path == ["writable_roots"] }?.isContainer == true)
        // Each section runs to the next header's line; together they are the whole text.
        #expect(outline.sections.first?.range.lowerBound == 0)
        for (a, b) in zip(outline.sections, outline.sections.dropFirst()) { #expect(a.range.upperBound == b.range.lowerBound) }
        #expect(outline.sections.last?.range.upperBound == Array(Self.lived.utf8).count)
    }

    @Test(arguments: [
        ("a = \"open\n", 1, "unterminated string"),
        ("[features\nhooks = true\n", 1, "expected ']'"),
        ("ok = 1\nhooks = fals\n", 2, "expected a value"),
        ("x = [1, 2\ny = 3\n", 2, "expected ',' or ']'"),
        ("x = \"bad \\q escape\"\n", 1, "invalid escape"),
        ("x = 1 y = 2\n", 1, "expected the end of the line"),
        ("= 3\n", 1, "expected a key"),
        ("s = \"\"\"never closed\n", 2, "unterminated multi-line string"),
    ])
    func brokenDocumentsAreNamedByLineAndColumn(source: String, line: Int, message: String) {
        #expect {
            _ = try TOMLOutline(source)
        } throws: { error in
            guard let error = error as? TOMLOutline.SyntaxError else { return false }
            return error.line == line && error.message.contains(message) && error.column >= 1
        }
    }

    @Test func appendingThenRemovingASectionGivesBackEveryByte() throws {
        for original in [Self.lived, Self.lived + "\n", "", "model = \"x\"", "# only a comment\n"] {
            let outline = try TOMLOutline(original)
            let added = try TOMLOutline(outline.appending("[[hooks.PreToolUse]]\nmatcher = \"Bash\"\n\n[[hooks.PreToolUse.hooks]]\ncommand = \"x\"\n"))
            let count = outline.sections.count
            #expect(added.sections.count == count + 2)
            let restored = added.removing(Array(added.sections[count...]))
            // A file without a final newline gets one; nothing else changes.
            #expect(restored == original || restored == original + "\n", "\(original.debugDescription) -> \(restored.debugDescription)")
        }
    }

    @Test func quotedStringsReadBackAsWritten() throws {
        for text in ["plain", #"it's "quoted" \ back"#, "tab\there\nline", "\u{7}bell", "ünïcödé ✓"] {
            let outline = try TOMLOutline("k = \(TOMLOutline.quoted(text))\n")
            #expect(outline.pairs.first?.value == .string(text))
        }
        #expect(TOMLOutline.key(["hooks", "PreToolUse"]) == "hooks.PreToolUse")
        #expect(TOMLOutline.key(["projects", "/a b"]) == #"projects."/a b""#)
    }
}

import Foundation
import Testing

@testable import HoldpointCore

struct RedactorTests {
    let redactor = Redactor()

    @Test(arguments: [
        ("export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE", "aws-key"),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws-secret"),
        ("git clone https://ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/o/r", "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "github-token"),
        ("curl -H 'PRIVATE-TOKEN: glpat-abcdefghij0123456789xy'", "glpat-abcdefghij0123456789xy", "gitlab-token"),
        ("SLACK=xoxb-123456789012-abcdefghijkl", "xoxb-123456789012-abcdefghijkl", "slack-token"),
        ("stripe charges --api-key sk_live_abcdefghijklmnop", "sk_live_abcdefghijklmnop", "api-key"),
        ("curl -H 'Authorization: Bearer abc.def-ghi_jkl'", "abc.def-ghi_jkl", "bearer"),
        ("token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlXzEyMw", "eyJhbGciOiJIUzI1NiJ9", "jwt"),
        ("mysql -u root --password=Sup3rS3cret", "Sup3rS3cret", "password"),
        ("psql postgres://app:hunter22@db:5432/prod", "hunter22", "url-credentials"),
        // No hint led to these before the patterns were anchored on their words.
        ("curl --api-key=k3yk3yk3y https://x", "k3yk3yk3y", "password"),
        ("export SECRET_ACCESSKEY=abcdefghijklmnopqrstuvwxyz0123456789", "abcdefghijklmnopqrstuvwxyz0123456789", "aws-secret"),
        // After a `_`, `.` or `:`, which Swift's `\b` takes as inside a word.
        ("DB_PASSWORD=hunter2 ./run", "hunter2", "password"),
        ("helm upgrade app chart --set auth.password=hunter3", "hunter3", "password"),
        ("clone x_https://bot:s3cr3tpw@git.example.com/r", "s3cr3tpw", "url-credentials"),
        ("echo '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----' > k", "b3BlbnNzaC1rZXk", "private-key"),
    ])
    func eachKindOfSecretIsTakenOut(text: String, secret: String, name: String) {
        let out = redactor.redact(text)
        #expect(!out.contains(secret), "\(out)")
        #expect(out.contains("‹redacted:"), "\(out)")
        _ = name
    }

    /// The built-ins compile lazily (most hooks never need one): each must compile.
    @Test func everyBuiltInPatternCompiles() {
        #expect(redactor.patterns.count >= 11)
        for pattern in redactor.patterns { #expect(pattern.expression.regex != nil, "\(pattern.name)") }
    }

    @Test func textWithoutSecretsIsUnchanged() {
        for text in ["ls -la /srv", "kubectl get pods -n password-reset", "git push origin main", "echo sk-short", "grep -r token ."] {
            #expect(redactor.redact(text) == text)
        }
    }

    /// Each built-in is tried only where a match can begin (near a hint); it must take out
    /// what trying it at every place of the text takes out, under the same rule for where a
    /// match begins (`Redactor.Anchor`): not in the middle of a word.
    @Test func anchoredMatchingFindsWhatAWholeTextSearchFinds() {
        let pieces = [
            "AKIAIOSFODNN7EXAMPLE", "xAKIAIOSFODNN7EXAMPLE", "ASIAABCDEFGHIJKLMNOP1", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "SECRET_ACCESSKEY:abcdefghijklmnopqrstuvwxyz0123456789", "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "_ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "github_pat_abcdefghijklmnopqrstuvwxyz_0123", "glpat-abcdefghij0123456789xy", "xoxb-123456789012-abc", "sk_live_abcdefghijklmnop",
            "rk-test-0123456789ab", "sk-abcdefghijklmnopqrstuvwxyz0123456789", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlXzEyMw",
            "Authorization: Bearer abc.def-ghi_jkl", "BEARER  x", "--password=Sup3r", "-token hunter2", "--api-key=k3y", "api_key=abc&x=1",
            "pwd=here", "passwd='quoted'", "mypassword=x", "postgres://app:hunter22@db:5432/prod", "git+ssh://u:p@h", "+http://u:p@h",
            "x://a:b@", "http://nouser@h", "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", "-----BEGIN EC PRIVATE KEY----- tail",
            "ls -la", "token", "pass", "://", "é", "ü-token=ä", "secret", "--", "=", "eyJ", "ghp_", "\u{301}token=x",
            "auth.password=x", "DB_PASSWORD=y", "a:token=z", "9a+http://u:p@h", "x-----BEGIN DSA PRIVATE KEY-----", "-eyJabcdefgh.eyJabcdefgh.abcdefghi",
            "_eyJabcdefgh.eyJabcdefgh.abcdefghi", "myaws_secret_access_key=abcdefghijklmnopqrstuvwxyz0123456789", "x--password=p",
        ]
        let separators = [" ", "", "\n", "=", "'", "&", ":", "/"]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<600 {
            let count = Int.random(in: 1...6, using: &generator)
            let text = (0..<count).map { _ in (pieces.randomElement(using: &generator) ?? "") + (separators.randomElement(using: &generator) ?? "") }.joined()
            #expect(redactor.redact(text) == Self.searchingTheWholeText(text), "\(text)")
        }
    }

    /// Secrets repeated across a line are all taken out; past `maximumAttempts` places to try,
    /// the rest of the text is withheld, never shown unchecked (the bench times both).
    @Test func aLineOfManySecretsLosesEveryOne() {
        let text = (0..<1_000).map { "token=s\($0)x --password=p\($0)y" }.joined(separator: " ")
        let out = redactor.redact(text)
        #expect(out.components(separatedBy: "‹redacted:password›").count - 1 == 2_000)
        #expect(!out.contains("s999x") && !out.contains("p0y") && !out.contains("unchecked"))
        let hostile = (0..<20_000).map { "token=s\($0)x bearer b\($0)" }.joined(separator: " ")
        let withheld = redactor.redact(hostile)
        #expect(withheld.hasSuffix("‹redacted:unchecked›"))
        #expect(!withheld.contains("s19999x") && !withheld.contains("s0x"))
        #expect(withheld.utf8.count < hostile.utf8.count)
    }

    /// What each built-in finds when it is tried at every place of the text where a match
    /// may begin (`Redactor.Anchor.mayBegin`, whatever the byte there), left to right and
    /// never overlapping: the specification the search from hints keeps to.
    static func searchingTheWholeText(_ text: String) -> String {
        var out = text
        for pattern in Redactor.builtIn {
            guard let regex = pattern.expression.regex else { continue }
            var anyByte = pattern.anchor
            anyByte.starts = Array(0...255)
            var result = ""
            var copied = out.startIndex
            var searchFrom = out.startIndex
            let bytes = Array(out.utf8)
            for index in out.unicodeScalars.indices where index >= searchFrom {
                let offset = out.utf8.distance(from: out.startIndex, to: index)
                guard bytes.withUnsafeBufferPointer({ anyByte.mayBegin(at: offset, in: $0) }), let match = out[index...].prefixMatch(of: regex) else { continue }
                let range = match.output.count > 1 ? (match.output[1].range ?? match.range) : match.range
                searchFrom = match.range.upperBound
                guard range.lowerBound >= copied else { continue }
                result += out[copied..<range.lowerBound] + "‹redacted:\(pattern.name)›"
                copied = range.upperBound
            }
            if copied != out.startIndex || !result.isEmpty { out = result + out[copied...] }
        }
        return out
    }

    /// The hash stays the real action's: an approval binds to what runs, not to what is shown.
    @Test func theActionHashIsTheRealActions() throws {
        let real = try ActionRequest.shellCommand("mysql --password=Sup3rS3cret -e 'DROP TABLE t'", environment: "production", agentID: "a", mode: .supervised)
        let shown = real.redacted(by: redactor)
        #expect(shown.actionSHA256 == real.actionSHA256)
        #expect(shown.command?.contains("Sup3rS3cret") == false)
        #expect(!JSONWriter.compact(shown.document).contains("Sup3rS3cret"))
        let other = try ActionRequest.shellCommand("mysql --password=Other -e 'DROP TABLE t'", environment: "production", agentID: "a", mode: .supervised)
        #expect(other.redacted(by: redactor).actionSHA256 != shown.actionSHA256)
    }

    /// Loads `yaml` as a policy file.
    func load(_ yaml: String) throws -> Policy {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("hp-policy-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        return try PolicyLoader.load(policyFile: file)
    }

    @Test func thePolicyAddsPatternsAndRefusesBadOnes() throws {
        let policy = try load("redact:\n  patterns: ['(?i)x-internal-token: (\\S+)']\n")
        #expect(policy.redactor.redact("curl -H X-Internal-Token: abc123 https://x") == "curl -H X-Internal-Token: ‹redacted:policy-1› https://x")
        #expect(policy.redactor.redact("--password=p4ss") == "--password=‹redacted:password›")  // the built-ins stay
        #expect(throws: ConfigError.self) { try load("redact:\n  patterns: ['([unclosed']\n") }
    }

    /// `approvals.rules` (in this file because it shares the loading helper).
    @Test func approvalRulesLoadFromThePolicy() throws {
        let policy = try load("approvals:\n  rules:\n    - class: [iam]\n      required: 2\n      one_from_each: [\"@security\", \"@sre\"]\n")
        #expect(policy.approvals.rules == [ApprovalRule(classes: [.iam], required: 2, oneFromEach: ["@security", "@sre"])])
        #expect(throws: ConfigError.self) { try load("approvals:\n  rules:\n    - required: 2\n") }
    }
}

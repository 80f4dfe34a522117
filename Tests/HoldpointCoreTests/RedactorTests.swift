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

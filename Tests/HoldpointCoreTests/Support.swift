import Foundation

@testable import HoldpointCore

/// The package's own built-in data, found from this file's path so tests do not depend on
/// where the test runner was started.
enum TestData {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let resources = packageRoot.appendingPathComponent("Sources/HoldpointCore/Resources")

    static func policy(_ yaml: String? = nil) throws -> Policy {
        var policy = try PolicyLoader.load(policyFile: nil, dataDirectory: resources)
        if let yaml { try PolicyLoader.apply(text: yaml, to: &policy, displayName: "test.yaml") }
        return policy
    }

    /// The default policy, loaded once.
    static let defaultPolicy: Policy = {
        do { return try policy() } catch { preconditionFailure("built-in policy must load: \(error)") }
    }()

    static func classify(_ command: String, env: String = "production", mode: AgentMode = .supervised, policy: Policy = defaultPolicy) throws -> Classification {
        let request = try ActionRequest.shellCommand(command, environment: env, agentID: "test", mode: mode)
        return Classifier(policy: policy).classify(request)
    }
}

import HoldpointCore

/// Values many test targets need, written once.
public enum Samples {
    /// The reference design's example policy, byte for byte as the spec prints it.
    public static let referencePolicyYAML = """
        agent_constraints:
          destructive_actions:
            - pattern: "delete|destroy|terminate|drop|remove|truncate"
              scope: "production"
              policy: "BLOCK_AND_ESCALATE"
              message: "Destructive action detected. Routing to human approval."
          change_magnitude:
            max_resources_affected: 5
            max_cost_impact_usd: 1000
            policy: "REQUIRE_APPROVAL_IF_EXCEEDED"
          environment_rules:
            production:
              allowed_operations: ["read", "patch", "minor_update"]
              blocked_operations: ["create_environment", "delete_environment", "bulk_modify"]
        """

    /// A gated delete, as the classifier would send a destructive production command to review.
    public static let gatedDelete = Classification(
        tier: .gated, operationClass: .delete, reasons: [Reason(rule: "test", message: "gated for the test", tier: .gated)],
        destructive: true, irreversible: true, dataLoss: true)

    /// A reviewer on a jump host, another on a terminal, a third on this machine.
    public static let alice = Identity(user: "alice", via: "ssh 10.0.0.7")
    public static let bob = Identity(user: "bob", via: "tty /dev/pts/2")
    public static let carol = Identity(user: "carol", via: "local")
}

extension Classification {
    /// A classification with no reasons: `tier` and `operationClass` are what the test is about.
    public static func plain(
        _ tier: Tier, _ operationClass: OperationClass, destructive: Bool = false, irreversible: Bool = false, dataLoss: Bool = false
    ) -> Classification {
        Classification(tier: tier, operationClass: operationClass, reasons: [], destructive: destructive, irreversible: irreversible, dataLoss: dataLoss)
    }
}

/// The kill switch in force for an agent (`*`: every agent): who pulled it, when and why.
public struct AgentHalt: Sendable, Equatable {
    public var agent: String
    public var reason: String
    public var by: String
    public var at: Double

    public init(agent: String, reason: String, by: String, at: Double) {
        self.agent = agent
        self.reason = reason
        self.by = by
        self.at = at
    }
}

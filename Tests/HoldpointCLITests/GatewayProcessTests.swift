import Foundation
import HoldpointCore
import Synchronization
import Testing

/// Gateway rate limits through real processes racing on one queue (issue 14).
@Suite(.serialized) struct GatewayProcessTests {
    /// Eight agent processes at once against a limit of three reads: exactly three run.
    @Test func racingAgentsCrossALimitExactlyOnce() throws {
        let env = try QueueEnv(policy: """
            limits:
              - agent: "bot"
                class: [read]
                max: 3
                per: 1h
                on_exceed: blocked
            """)
        let statuses = Mutex<[Int32]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            let status = (try? env.run(["submit", "--command", "ls -la /srv/\(i)", "--agent", "bot", "--agent-mode", "autonomous"]).status) ?? -1
            statuses.withLock { $0.append(status) }
        }
        let all = statuses.withLock { $0 }
        #expect(all.filter { $0 == 0 }.count == 3, "\(all)")
        #expect(all.filter { $0 == 2 }.count == 5, "\(all)")
        let blocked = try env.list(["--state", "blocked"])
        #expect(blocked.count == 5)
        #expect(blocked.allSatisfy { JSONWriter.compact($0).contains("read requests by bot in the last 1h (limit 3)") })
        // Another agent is not held by bot's limit; `policy explain` shows the limit in force.
        #expect(try env.run(["submit", "--command", "ls", "--agent", "other", "--agent-mode", "autonomous"]).status == 0)
        #expect(try env.run(["policy", "explain"]).stdout.contains("Rate limit: at most 3 read requests per 1h for agents matching bot → over it: blocked"))
        #expect(try env.run(["audit", "verify"]).status == 0)
    }
}

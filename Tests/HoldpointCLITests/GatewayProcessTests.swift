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

    /// Six racing requests declaring $30 each against a $100 daily budget: three run, the
    /// others wait for a human with the running total in their reason.
    @Test func racingRequestsCrossABudgetExactlyOnce() throws {
        let env = try QueueEnv(policy: "budgets:\n  cost_usd: 100\n  on_exceed: gated\n")
        let statuses = Mutex<[Int32]>([])
        DispatchQueue.concurrentPerform(iterations: 6) { i in
            let request = #"{"schema":"holdpoint.action/v1","agent":{"id":"spender","mode":"supervised"},"environment":"staging","action":{"kind":"shell","command":"kubectl scale deploy/w\#(i) --replicas=9"},"impact":{"cost_usd":30}}"#
            let status = (try? env.run(["submit"], stdin: request).status) ?? -1
            statuses.withLock { $0.append(status) }
        }
        let all = statuses.withLock { $0 }
        #expect(all.filter { $0 == 0 }.count == 3, "\(all)")
        #expect(all.filter { $0 == 5 }.count == 3, "\(all)")
        // Oldest first: the first held saw $90 let through; waiting requests count too.
        let held = try env.list(["--state", "pending"]).map(JSONWriter.compact)
        #expect(held.first?.contains("$90 declared today + $30 would pass the $100 daily cost cap") == true, "\(held)")
        #expect(held.allSatisfy { $0.contains("would pass the $100 daily cost cap") })
    }
}

import Foundation
import HoldpointCore
import HoldpointStore
import HoldpointTestSupport
import Synchronization
import Testing

/// Gateway rate limits through real processes racing on one queue (issue 14).
@Suite(.serialized) struct GatewayProcessTests {
    /// Eight agent processes at once against a limit of three reads: exactly three run.
    @Test func racingAgentsCrossALimitExactlyOnce() throws {
        let env = try QueueEnv(
            policy: """
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
            let request =
                #"{"schema":"holdpoint.action/v1","agent":{"id":"spender","mode":"supervised"},"environment":"staging","action":{"kind":"shell","command":"kubectl scale deploy/w\#(i) --replicas=9"},"impact":{"cost_usd":30}}"#
            let status = (try? env.run(["submit"], stdin: request).status) ?? -1
            statuses.withLock { $0.append(status) }
        }
        let all = statuses.withLock { $0 }
        #expect(all.filter { $0 == 0 }.count == 3, "\(all)")
        #expect(all.filter { $0 == 5 }.count == 3, "\(all)")
        // In the order they committed (not necessarily the order of their timestamps, taken
        // before each waited for the write lock): the first held saw $90 let through, and
        // waiting requests count too.
        let held = try env.list(["--state", "pending"]).map(JSONWriter.compact)
        for total in ["$90", "$120", "$150"] {
            #expect(held.filter { $0.contains("\(total) declared today + $30 would pass the $100 daily cost cap") }.count == 1, "\(held)")
        }
    }
}

/// `list --json` streams page by page (issue 19): the same document as reading all at once.
@Suite(.serialized) struct ListStreamingTests {
    @Test func aLongListStreamsTheSameDocument() throws {
        let env = try QueueEnv()
        let store = try QueueStore(path: env.queue)
        let read = Classification.plain(.autonomous, .read)
        // 1,201 requests: two full pages and one, some sharing a creation time (the cursor
        // is the time and the id).
        for i in 0..<1_201 {
            let request = try ActionRequest.shellCommand("ls /srv/\(i)", environment: "production", agentID: "bot", mode: .autonomous)
            _ = try store.submit(request, classification: read, approvals: ApprovalRules(), submitter: Identity(user: "t", via: "test"), now: 1_000 + Double(i / 3))
        }
        let streamed = try env.run(["list", "--json"])
        let whole = try env.run(["list", "--json", "--limit", "100000"])
        #expect(streamed.status == 0)
        #expect(streamed.stdout == whole.stdout)
        #expect((try JSONReader.parse(streamed.stdout)).arrayValue?.count == 1_201)
    }
}

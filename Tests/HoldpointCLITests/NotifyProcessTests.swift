import Crypto
import Foundation
import HoldpointCore
import HoldpointTestSupport
import Testing

/// Paging through real receivers: an HTTP server on 127.0.0.1, a command, a syslog socket,
/// fed by `holdpoint notify run` from the queue file.
@Suite(.serialized) struct NotifyProcessTests {
    func events(_ requests: [HTTPReceiver.Received], path: String) -> [[String: Any]] {
        requests.filter { $0.path == path }.compactMap { $0.json as? [String: Any] }
    }

    func start(_ env: QueueEnv, name: String) throws -> Process {
        try CLI.start(["notify", "run"], environment: env.environment, output: env.directory.appendingPathComponent("\(name).log"))
    }

    @Test func aGatedRequestPagesEscalatesAtHalfItsWindowAndResolvesWhenDecided() throws {
        let receiver = try HTTPReceiver()
        let directory = try Scratch.directory()
        let secret = directory.appendingPathComponent("secret").path
        try "s3cret\n".write(toFile: secret, atomically: true, encoding: .utf8)
        let routing = directory.appendingPathComponent("routing").path
        try "R0UTINGKEY\n".write(toFile: routing, atomically: true, encoding: .utf8)
        let out = directory.appendingPathComponent("command.out").path
        let env = try QueueEnv(
            policy: """
                approvals:
                  allow_self_approval: true
                  timeouts: {gated: 6s}
                  escalate_after: 50%
                  warn_at: [80%]
                notify:
                  - name: oncall
                    webhook: \(receiver.url)/generic
                    secret_file: \(secret)
                  - name: chat
                    webhook: \(receiver.url)/slack
                    format: slack
                  - name: pager
                    webhook: \(receiver.url)/pd
                    format: pagerduty
                    routing_key_file: \(routing)
                  - name: script
                    command: ["/bin/sh", "-c", "cat >> \(out); echo >> \(out)"]
                """)
        // A sink's cursor starts at the log's end when it is first seen: made here, before
        // anything is submitted, so the runner misses nothing whenever it starts.
        _ = try env.run(["notify", "run", "--once"])
        let runner = try start(env, name: "runner")
        defer {
            runner.terminate()
            runner.waitUntilExit()
        }
        let submitted = try env.submit("rm -rf /srv/data")
        #expect(submitted.status == 5)
        let id = submitted.id

        // Paged: generic, signed with the secret file's key.
        let paged = receiver.await { self.events($0, path: "/generic").contains { $0["event"] as? String == "gated" } }
        let generic = try #require(paged.first { $0.path == "/generic" })
        let body = try #require(generic.json as? [String: Any])
        #expect(body["id"] as? String == id)
        #expect(body["open"] as? String == "holdpoint review --select \(id)")
        #expect((body["delivery_id"] as? String)?.hasPrefix("oncall-") == true)
        #expect(generic.headers["x-holdpoint-delivery"] == body["delivery_id"] as? String)
        let mac = HMAC<SHA256>.authenticationCode(for: generic.body, using: SymmetricKey(data: Array("s3cret".utf8)))
        #expect(generic.headers["x-holdpoint-signature-256"] == "sha256=" + mac.map { String(format: "%02x", $0) }.joined())
        // Slack blocks and a PagerDuty trigger with the request as its dedup key.
        let slack = receiver.await { self.events($0, path: "/slack").count >= 1 }
        let blocks = try #require(events(slack, path: "/slack").first?["blocks"] as? [[String: Any]])
        #expect(blocks.first?["type"] as? String == "section")
        #expect(String(describing: blocks).contains("holdpoint review --select \(id)"))
        let triggered = receiver.await { self.events($0, path: "/pd").count >= 1 }
        let trigger = try #require(events(triggered, path: "/pd").first)
        #expect(trigger["event_action"] as? String == "trigger")
        #expect(trigger["dedup_key"] as? String == "holdpoint-\(id)")
        #expect(trigger["routing_key"] as? String == "R0UTINGKEY")

        // Nobody decides: at half its 6 s window it escalates.
        let escalated = receiver.await { self.events($0, path: "/generic").contains { $0["event"] as? String == "escalated" } }
        #expect(events(escalated, path: "/generic").contains { $0["event"] as? String == "escalated" && $0["id"] as? String == id })

        // At 80% it warns that it is about to expire.
        let warned = receiver.await { self.events($0, path: "/generic").contains { $0["event"] as? String == "expiring" } }
        #expect(events(warned, path: "/generic").contains { $0["event"] as? String == "expiring" && $0["id"] as? String == id })

        // Decided: the page resolves.
        let decided = try env.run(["decide", id, "approve", "--reason", "checked"])
        #expect(decided.status == 0, "\(decided.stderr)")
        let resolved = receiver.await { self.events($0, path: "/pd").contains { $0["event_action"] as? String == "resolve" } }
        #expect(events(resolved, path: "/pd").last?["dedup_key"] as? String == "holdpoint-\(id)")
        let all = receiver.await { self.events($0, path: "/generic").contains { $0["event"] as? String == "decided" } }
        #expect(events(all, path: "/generic").map { $0["event"] as? String ?? "" } == ["gated", "escalated", "expiring", "decided"])
        // The command sink saw the same events, one JSON document each on stdin.
        // (Sinks are served one after another: observe until the last event reaches it.)
        var script = ""
        let patience = Date().addingTimeInterval(20)
        while !script.contains("\"event\":\"decided\"") && Date() < patience {
            script = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
            if !script.contains("\"event\":\"decided\"") { usleep(10_000) }
        }
        #expect(script.contains("\"event\":\"gated\"") && script.contains("\"event\":\"escalated\"") && script.contains("\"event\":\"decided\""))

        // The kill switch pages one incident per halted agent, and resuming it resolves it.
        #expect(try env.run(["halt", "bot-9", "--reason", "runaway"]).status == 0)
        let halted = receiver.await { self.events($0, path: "/pd").contains { $0["event_action"] as? String == "trigger" && $0["dedup_key"] as? String == "holdpoint-halt-bot-9" } }
        #expect(events(halted, path: "/pd").contains { $0["dedup_key"] as? String == "holdpoint-halt-bot-9" })
        #expect(try env.run(["resume", "bot-9"]).status == 0)
        let lifted = receiver.await { self.events($0, path: "/pd").contains { $0["event_action"] as? String == "resolve" && $0["dedup_key"] as? String == "holdpoint-halt-bot-9" } }
        #expect(events(lifted, path: "/pd").last?["event_action"] as? String == "resolve")
        #expect(events(lifted, path: "/pd").last?["dedup_key"] as? String == "holdpoint-halt-bot-9")
        let said = receiver.await { self.events($0, path: "/generic").contains { $0["event"] as? String == "resumed" } }
        #expect(events(said, path: "/generic").contains { $0["event"] as? String == "resumed" && $0["agent"] as? String == "bot-9" })
    }

    @Test func anOutageAndAKillNineLoseNothingAndKeepTheOrder() throws {
        let receiver = try HTTPReceiver(failFirst: 2)
        let env = try QueueEnv(
            policy: """
                notify:
                  - name: oncall
                    webhook: \(receiver.url)/hook
                """)
        // Cursors are made at the log's end on the first pass.
        _ = try env.run(["notify", "run", "--once"])
        var runner = try start(env, name: "first")
        var ids: [String] = []
        for i in 0..<3 { ids.append(try env.submit("rm -rf /srv/outage-\(i)").id) }
        // Two failures (retried after 1 s, then 2 s), then everything, in order.
        let first = receiver.await(30) { self.events($0, path: "/hook").count >= 3 }
        #expect(events(first, path: "/hook").compactMap { $0["id"] as? String } == ids)
        let status = try JSONReader.parse(try env.run(["notify", "status", "--json"]).stdout)
        let sink = status["sinks"]?.arrayValue?.first
        #expect(sink?["failures"] == .number(0))
        #expect(sink?["behind"] == .number(0))

        // kill -9, more requests while it is down, a new runner: nothing lost.
        kill(runner.processIdentifier, SIGKILL)
        runner.waitUntilExit()
        for i in 3..<5 { ids.append(try env.submit("rm -rf /srv/outage-\(i)").id) }
        runner = try start(env, name: "second")
        defer {
            runner.terminate()
            runner.waitUntilExit()
        }
        let after = receiver.await(30) { self.events($0, path: "/hook").count >= 5 }
        let delivered = events(after, path: "/hook").compactMap { $0["id"] as? String }
        #expect(Set(delivered) == Set(ids))
        // At least once: anything delivered twice carries the same delivery id.
        let byDelivery = Dictionary(grouping: events(after, path: "/hook"), by: { $0["delivery_id"] as? String ?? "" })
        for (_, copies) in byDelivery { #expect(Set(copies.compactMap { $0["id"] as? String }).count == 1) }
    }

    @Test func syslogGetsRFC5424LinesAndAFailingSinkShowsInStatus() throws {
        let directory = try Scratch.directory()
        let socketPath = directory.appendingPathComponent("log.sock").path
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in socketPath.utf8.enumerated() { raw[i] = b } }
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        #expect(bound == 0)
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let env = try QueueEnv(
            policy: """
                notify:
                  - name: log
                    syslog: \(socketPath)
                  - name: broken
                    webhook: http://127.0.0.1:1/nothing-listens-here
                    timeout: 2s
                """)
        _ = try env.run(["notify", "run", "--once"])
        let id = try env.submit("rm -rf /srv/logged").id
        _ = try env.run(["notify", "run", "--once"])
        var buffer = [UInt8](repeating: 0, count: 8192)
        let n = read(fd, &buffer, buffer.count)
        let line = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
        // <local0.warning>1 TIMESTAMP HOST holdpoint PID gated - {json}
        #expect(line.hasPrefix("<132>1 "))
        #expect(line.contains(" holdpoint ") && line.contains(" gated - {") && line.contains(id))
        let status = try env.run(["notify", "status"])
        #expect(status.status == 1)
        #expect(status.stdout.contains("broken") && status.stdout.contains("FAILING"))
    }
}

@Suite struct NotifyPolicyTests {
    @Test(arguments: [
        ("notify:\n  - name: a\n    webhook: ftp://x\n", "expected an http:// or https:// URL"),
        ("notify:\n  - name: a\n    webhook: https://x\n    command: [\"/bin/true\"]\n", "name exactly one of webhook, webhook_file, command, syslog"),
        ("notify:\n  - webhook: https://x\n", "every sink needs a name"),
        ("notify:\n  - name: p\n    webhook: https://x\n    format: pagerduty\n", "needs routing_key_file"),
        ("notify:\n  - name: a\n    webhook: https://x\n    secret_file: relative/secret\n", "expected an absolute path"),
        ("notify:\n  - name: a\n    webhook: https://x\n    events: [gated, paged]\n", "unknown event 'paged'"),
        ("approvals:\n  escalate_after: 150%\n", "approvals.escalate_after"),
        ("approvals:\n  warn_at: [80%, soon]\n", "approvals.warn_at: expected a share"),
    ])
    func lintNamesWhatIsWrong(yaml: String, problem: String) throws {
        let directory = try Scratch.directory()
        let policy = directory.appendingPathComponent("p.yaml")
        try yaml.write(to: policy, atomically: true, encoding: .utf8)
        let lint = try CLI.run(["policy", "lint", policy.path])
        #expect(lint.status == 78)
        #expect((lint.stdout + lint.stderr).contains(problem), "\(lint.stdout)\(lint.stderr)")
    }
}

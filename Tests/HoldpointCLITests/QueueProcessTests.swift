import Foundation
import GRDB
import HoldpointCore
import HoldpointStore
import HoldpointTestSupport
import Testing

/// A queue and a policy in a fresh directory, used through the real binary.
struct QueueEnv {
    let directory: URL
    let queue: String
    let policy: String

    init(policy yaml: String = "approvals:\n  allow_self_approval: true\n") throws {
        directory = try Scratch.directory()
        queue = directory.appendingPathComponent("queue.sqlite").path
        policy = directory.appendingPathComponent("policy.yaml").path
        try yaml.write(toFile: policy, atomically: true, encoding: .utf8)
        // The queue exists before anyone reads it, as after an operator's set-up: reading
        // commands refuse a path with no queue (exit 69) rather than create one.
        _ = try QueueStore(path: queue)
    }

    var environment: [String: String] { ["HOLDPOINT_QUEUE": queue, "HOLDPOINT_POLICY": policy] }

    func run(_ arguments: [String], stdin: String? = nil) throws -> CLIResult {
        try CLI.run(arguments, stdin: stdin.map { Array($0.utf8) }, environment: environment)
    }

    func submit(_ command: String, agent: String = "bot-1") throws -> (status: Int32, id: String) {
        let result = try run(["submit", "--command", command, "--agent", agent, "--agent-mode", "supervised", "--json"])
        let id = (try? JSONReader.parse(result.stdout))?["id"]?.stringValue ?? ""
        return (result.status, id)
    }

    func list(_ extra: [String] = []) throws -> [JSONValue] {
        let result = try run(["list", "--json"] + extra)
        return (try JSONReader.parse(result.stdout)).arrayValue ?? []
    }
}

@Suite(.serialized) struct QueueProcessTests {
    /// The OS login, as the binary records it (getpwuid; $USER may be unset or differ under CI).
    static let me: String = getpwuid(getuid()).map { String(cString: $0.pointee.pw_name) } ?? "uid-\(getuid())"

    @Test func anAgentWaitsAndAReviewerInAnotherProcessApproves() throws {
        let env = try QueueEnv()
        let output = env.directory.appendingPathComponent("agent.out")
        let agent = try CLI.start(
            ["submit", "--command", "kubectl delete deploy api", "--agent", "kiro", "--agent-mode", "supervised", "--wait", "--json"],
            environment: env.environment, output: output)
        // The reviewer sees it pending…
        var pending: [JSONValue] = []
        for _ in 0..<200 where pending.isEmpty {
            pending = try env.list(["--state", "pending"])
            if pending.isEmpty { usleep(20_000) }
        }
        let id = try #require(pending.first?["id"]?.stringValue)
        #expect(pending.first?["agent"]?["id"] == .string("kiro"))
        // …and approves it from another process.
        let decided = try env.run(["decide", id, "approve", "--reason", "checked the runbook"])
        #expect(decided.status == 0, "\(decided.stderr)")
        agent.waitUntilExit()
        #expect(agent.terminationStatus == 0)
        let final = try JSONReader.parse(try CLI.output(of: output))
        #expect(final["state"] == .string("approved"))
        let listed = try #require(try env.list().first { $0["id"]?.stringValue == id })
        #expect(listed["decision"]?["by"]?.stringValue?.isEmpty == false)
        #expect(listed["decision"]?["reason"] == .string("checked the runbook"))
        #expect(listed["action"]?["command"] == .string("kubectl delete deploy api"))
    }

    @Test func rejectionAndHaltReachTheWaitingAgentWithTheirExitCodes() throws {
        let env = try QueueEnv()
        let first = try env.submit("rm -rf /srv/a")
        #expect(first.status == 5)
        let waiter = try CLI.start(["wait", first.id], environment: env.environment, output: env.directory.appendingPathComponent("w1"))
        // Decided while the waiter waits (not before it first looks).
        #expect(CLI.awaitAsleep(waiter))
        #expect(try env.run(["decide", first.id, "reject", "--reason", "use the runbook"]).status == 0)
        waiter.waitUntilExit()
        #expect(waiter.terminationStatus == 1)

        let second = try env.submit("rm -rf /srv/b", agent: "runaway")
        let waiter2 = try CLI.start(["wait", second.id], environment: env.environment, output: env.directory.appendingPathComponent("w2"))
        #expect(CLI.awaitAsleep(waiter2))
        #expect(try env.run(["halt", "runaway", "--reason", "looping"]).status == 0)
        waiter2.waitUntilExit()
        #expect(waiter2.terminationStatus == 4)
        #expect(try env.submit("ls", agent: "runaway").status == 4)
        #expect(try env.submit("ls", agent: "someone-else").status == 0)
        #expect(try env.run(["resume", "runaway"]).status == 0)
        #expect(try env.submit("ls", agent: "runaway").status == 0)
        #expect(try env.run(["resume", "runaway"]).status == 6)
    }

    @Test func noAnswerMeansExpiredAtTheDeadlineWithNoOtherProcess() throws {
        let env = try QueueEnv(policy: "approvals:\n  timeouts:\n    gated: 2s\n")
        let start = Date()
        let result = try env.run(["submit", "--command", "terraform destroy", "--env", "staging", "--wait", "--json"])
        let elapsed = Date().timeIntervalSince(start)
        #expect(result.status == 3)
        #expect(elapsed >= 1.9 && elapsed < 6, "\(elapsed)")
        let verdict = try JSONReader.parse(result.stdout)
        #expect(verdict["state"] == .string("expired"))
        #expect(verdict["decision"]?["by"] == .string("expiry"))
        // An expired request is never approved afterwards.
        let id = try #require(verdict["id"]?.stringValue)
        let late = try env.run(["decide", id, "approve"])
        #expect(late.status == 6)
        #expect(late.stderr.contains("no longer pending: expired by expiry"))
        #expect(try env.run(["submit", "--command", "rm -rf /x", "--wait", "--timeout", "1"]).status == 3)
    }

    @Test func theLosingReviewerIsToldWhoWonAndWhen() throws {
        let env = try QueueEnv()
        let r = try env.submit("rm -rf /srv/c")
        #expect(try env.run(["decide", r.id, "approve", "--reason", "ok"]).status == 0)
        let second = try env.run(["decide", r.id, "reject", "--reason", "wait"])
        #expect(second.status == 6)
        #expect(second.stderr.contains("no longer pending: approved by \(Self.me)"))
        #expect(second.stderr.contains(" at 20"))
    }

    @Test func selfApprovalIsRefusedWithExit77() throws {
        let env = try QueueEnv(policy: "approvals:\n  required: 1\n")
        let r = try env.submit("rm -rf /srv/d")
        let result = try env.run(["decide", r.id, "approve"])
        #expect(result.status == 77)
        #expect(result.stderr.contains("self-approval is forbidden"))
        // The attempt itself is on the record.
        #expect(try QueueStore(path: env.queue).auditEntries(requestID: r.id).contains { $0.event == "decision_refused" })
        #expect(try env.list(["--state", "pending"]).count == 1)
    }

    @Test func badInputLeavesTheQueueUnchanged() throws {
        let env = try QueueEnv()
        _ = try env.submit("rm -rf /srv/e")
        let before = try env.list()
        let entriesBefore = try QueueStore(path: env.queue).auditEntries().count
        #expect(try env.run(["submit"], stdin: "{\"schema\": \"holdpoint.action/v1\", \"agent\": ").status == 65)
        #expect(try env.run(["submit"], stdin: "{\"schema\":\"holdpoint.action/v1\",\"agent\":{\"id\":1},\"environment\":\"p\",\"action\":{\"kind\":\"shell\",\"command\":\"ls\"}}").status == 65)
        #expect(try env.run(["decide", "not-an-id", "approve"]).status == 65)
        #expect(try env.run(["decide", "01ZZZZZZZZZZZZZZZZZZZZZZZZ", "approve"]).status == 65)
        #expect(try env.run(["decide", before[0]["id"]?.stringValue ?? "", "reject"]).status == 65)
        #expect(try env.run(["wait", "01ZZZZZZZZZZZZZZZZZZZZZZZZ"]).status == 65)
        #expect(try env.run(["list", "--state", "sideways"]).status == 64)
        #expect(try env.list() == before)
        #expect(try QueueStore(path: env.queue).auditEntries().count == entriesBefore)
    }

    @Test func anUnreachableQueueIsExit69() throws {
        let dir = try Scratch.directory()
        let result = try CLI.run(["submit", "--command", "ls"], environment: ["HOLDPOINT_QUEUE": dir.path])  // a directory, not a file
        #expect(result.status == 69)
        #expect(result.stderr.contains("queue unavailable"))
    }

    @Test func permissionsFollowTheDirectory() throws {
        let env = try QueueEnv()
        _ = try env.submit("ls")
        var info = stat()
        stat(env.queue, &info)
        #expect(info.st_mode & 0o777 == 0o600)
        let shared = try Scratch.directory()
        chmod(shared.path, 0o2770)
        let queue = shared.appendingPathComponent("queue.sqlite").path
        _ = try CLI.run(["submit", "--command", "ls"], environment: ["HOLDPOINT_QUEUE": queue])
        stat(queue, &info)
        #expect(info.st_mode & 0o777 == 0o660)
        // The group-commit bookkeeping is written by every writer, so the group writes it too.
        stat(queue + ".sync", &info)
        #expect(info.st_mode & 0o777 == 0o660)
        stat(env.queue + ".sync", &info)
        #expect(info.st_mode & 0o777 == 0o600)
    }

    @Test func auditVerifyNamesTheFirstBadEntry() throws {
        let env = try QueueEnv()
        for i in 0..<3 { _ = try env.submit("rm -rf /srv/t\(i)") }
        #expect(try env.run(["audit", "verify"]).status == 0)
        let exported = try env.run(["audit", "export", "--format", "jsonl"])
        #expect(exported.stdout.split(separator: "\n").count == 6)  // submitted + classified, three times
        let csv = try env.run(["audit", "export", "--format", "csv"])
        #expect(csv.stdout.hasPrefix("seq,at,event,request_id,actor,via,details,prev_hash,hash\n"))
        let queue = try DatabaseQueue(path: env.queue)
        try queue.write { db in try db.execute(sql: "UPDATE audit SET details = '{\"reason\":\"nothing to see\"}' WHERE seq = 4") }
        let result = try env.run(["audit", "verify"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("first bad entry 4"))
    }
}

@Suite(.serialized) struct QueueRaceTests {
    /// The first use of a queue creates the file, switches it to WAL, migrates the schema
    /// and creates the signing key. Processes that all start on a new queue at once (an
    /// agent's first hook calls and a reviewer's console) must all get a working queue,
    /// not "table requests already exists".
    @Test func processesStartingOnANewQueueAtOnceAllSucceed() throws {
        for round in 0..<3 {
            let env = try QueueEnv()
            let count = 8
            var processes: [Process] = []
            for i in 0..<count {
                processes.append(
                    try CLI.start(
                        ["submit", "--command", "ls -la", "--agent", "first-\(i)", "--json"],
                        environment: env.environment, output: env.directory.appendingPathComponent("out-\(i)")))
            }
            for p in processes { p.waitUntilExit() }
            #expect(processes.map(\.terminationStatus) == Array(repeating: 0, count: count), "round \(round)")
            let store = try QueueStore(path: env.queue)
            #expect(try store.list().count == count)
            let report = try store.verifyAudit()
            #expect(report.intact, "\(report)")
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: env.directory.path).filter { $0.hasSuffix(".tmp") }
            #expect(leftovers.isEmpty, "temporary key files left behind: \(leftovers)")
        }
    }

    @Test func manyAgentsAndReviewersRacingOnOneFile() throws {
        let env = try QueueEnv()
        _ = try QueueStore(path: env.queue)
        let agents = 6
        let perAgent = 15
        var agentProcesses: [(Process, URL)] = []
        for a in 0..<agents {
            let out = env.directory.appendingPathComponent("agent-\(a).out")
            agentProcesses.append((try CLI.start(["submit-loop", env.queue, String(perAgent), "agent-\(a)"], executable: CLI.workload, output: out), out))
        }
        var reviewers: [(Process, URL)] = []
        for r in 0..<3 {
            let out = env.directory.appendingPathComponent("reviewer-\(r).out")
            reviewers.append((try CLI.start(["decide-loop", env.queue, "reviewer-\(r)", "1.5"], executable: CLI.workload, output: out), out))
        }
        for (p, _) in agentProcesses + reviewers { p.waitUntilExit() }

        let acknowledged = try agentProcesses.flatMap { try String(contentsOf: $0.1, encoding: .utf8).split(separator: "\n").map(String.init) }
        #expect(acknowledged.count == agents * perAgent)
        let store = try QueueStore(path: env.queue)
        let all = try store.list()
        #expect(all.count == acknowledged.count)
        #expect(Set(all.map(\.id)) == Set(acknowledged))  // every request present once

        let outcomes = try reviewers.flatMap { try String(contentsOf: $0.1, encoding: .utf8).split(separator: "\n").map(String.init) }
        let recorded = outcomes.filter { $0.hasPrefix("recorded ") }
        let decidedIDs = recorded.map { $0.split(separator: " ")[1] }
        #expect(Set(decidedIDs).count == decidedIDs.count)  // none decided twice
        let decided = all.filter { $0.state == .approved || $0.state == .rejected }
        #expect(decided.count == recorded.count)  // the counts add up
        #expect(all.allSatisfy { $0.votes.count <= 1 })
        #expect(all.filter { $0.state == .pending }.count + decided.count == all.count)
        let report = try store.verifyAudit()
        #expect(report.intact, "\(report)")
        #expect(try store.integrityCheck() == "ok")
        // Every write was flushed before it was reported, and racing writers shared flushes.
        let counters = try #require(store.commitCounters)
        #expect(counters.committed >= UInt64(acknowledged.count + recorded.count))
        #expect(counters.durable == counters.committed)
        #expect(counters.flushes < counters.committed, "no flush covered another process's commit: \(counters)")
    }

    @Test func sigkillMidWriteLosesNothingAcknowledged() throws {
        let env = try QueueEnv()
        _ = try QueueStore(path: env.queue)
        var victims: [(Process, URL)] = []
        for a in 0..<3 {
            let out = env.directory.appendingPathComponent("victim-\(a).out")
            victims.append((try CLI.start(["submit-loop", env.queue, "100000", "victim-\(a)"], executable: CLI.workload, output: out), out))
        }
        let reviewer = try CLI.start(["decide-loop", env.queue, "reviewer", "30"], executable: CLI.workload, output: env.directory.appendingPathComponent("reviewer.out"))
        // Killed mid-stream: once every victim has had some submits acknowledged (observed
        // in what they printed), while they are still writing.
        let patience = Date().addingTimeInterval(60)
        while Date() < patience, !victims.allSatisfy({ ((try? String(contentsOf: $0.1, encoding: .utf8)) ?? "").split(separator: "\n").count >= 20 }) {
            usleep(5_000)
        }
        for (p, _) in victims { kill(p.processIdentifier, SIGKILL) }
        kill(reviewer.processIdentifier, SIGKILL)
        for (p, _) in victims { p.waitUntilExit() }
        reviewer.waitUntilExit()

        let acknowledged = try victims.flatMap { try String(contentsOf: $0.1, encoding: .utf8).split(separator: "\n").map(String.init) }
        #expect(acknowledged.count > 10, "the victims should have submitted something before being killed")
        let store = try QueueStore(path: env.queue)
        #expect(try store.integrityCheck() == "ok")
        let report = try store.verifyAudit()
        #expect(report.intact, "\(report)")
        let stored = Set(try store.list().map(\.id))
        let lost = acknowledged.filter { !stored.contains($0) }
        #expect(lost.isEmpty, "acknowledged but lost: \(lost.prefix(5))")
    }
}

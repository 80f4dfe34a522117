import Foundation
import HoldpointCore
import HoldpointTestSupport
import Testing

/// A PostgreSQL server for the fleet tests: the one `.ci/postgres start` made
/// (`HOLDPOINT_TEST_POSTGRES`), with a schema per test, or a throwaway cluster of a test's own
/// when it must stop and start the server.
enum FleetDatabase {
    static let environment = ProcessInfo.processInfo.environment
    static var available: Bool { environment["HOLDPOINT_TEST_POSTGRES"] != nil && OSUsers.available }

    /// The shared server's URL with a fresh schema, and its password file.
    static func queue() -> (url: String, passfile: String) {
        let schema = "fleet_" + UUID().uuidString.prefix(8).lowercased()
        return ((environment["HOLDPOINT_TEST_POSTGRES"] ?? "") + "?schema=\(schema)", environment["HOLDPOINT_TEST_POSTGRES_PASSFILE"] ?? "")
    }

    /// A cluster of its own (`.ci/postgres start`), for a test that restarts the server.
    final class OwnCluster {
        let directory: URL
        let url: String
        let passfile: String
        let data: String
        let bin: String

        init() throws {
            directory = try Scratch.directory("hp-own-pg")
            let printed = directory.appendingPathComponent("env").path
            let status = Spawn.run(CLI.packageRoot.appendingPathComponent(".ci/postgres").path, ["start", directory.appendingPathComponent("pg").path], output: printed)
            var values: [String: String] = [:]
            for line in ((try? String(contentsOfFile: printed, encoding: .utf8)) ?? "").split(separator: "\n") {
                let parts = line.replacingOccurrences(of: "export ", with: "").split(separator: "=", maxSplits: 1).map(String.init)
                if parts.count == 2 { values[parts[0]] = parts[1] }
            }
            url = values["HOLDPOINT_TEST_POSTGRES"] ?? ""
            passfile = values["HOLDPOINT_TEST_POSTGRES_PASSFILE"] ?? ""
            data = values["HOLDPOINT_TEST_POSTGRES_DATA"] ?? ""
            bin = values["HOLDPOINT_TEST_POSTGRES_BIN"] ?? ""
            if url.isEmpty { Issue.record("could not start a cluster (exit \(status))") }
        }

        /// `pg_ctl stop` / `start` as the server's user; returns once it has done it.
        func control(_ command: String) throws {
            let arguments = command == "stop" ? ["-D", data, "-m", "fast", "-w", "stop"] : ["-D", data, "-w", "-l", directory.appendingPathComponent("pg/server.log").path, "start"]
            let status = Spawn.run("/usr/bin/setpriv", ["--reuid", "postgres", "--regid", "postgres", "--init-groups", "--", bin + "/pg_ctl"] + arguments)
            #expect(status == 0, "pg_ctl \(command): exit \(status)")
        }

        deinit {
            _ = Spawn.run(CLI.packageRoot.appendingPathComponent(".ci/postgres").path, ["stop", directory.appendingPathComponent("pg").path])
        }
    }
}

/// Two daemons (two sockets, as on two hosts) sharing one PostgreSQL queue: agents on one,
/// reviewers on the other, all real processes and OS users.
@Suite(.enabled(if: FleetDatabase.available, "needs HOLDPOINT_TEST_POSTGRES and root (to create OS users)"))
struct PostgresServeTests {
    static let policy = "approvals:\n  reviewers: [\"@hp-reviewers\"]\n"

    @Test func agentsOnOneDaemonReviewersOnAnotherExactlyOnceAndOneHaltForAll() throws {
        let (url, passfile) = FleetDatabase.queue()
        let agents = try ServedQueue(policy: Self.policy, queue: url, passfile: passfile)
        let reviewers = try ServedQueue(policy: Self.policy, queue: url, passfile: passfile)
        // An agent waits on its daemon; the reviewer decides on the other.
        let out = agents.directory.appendingPathComponent("agent.out")
        let waiting = try agents.start(as: OSUsers.agent, ["submit", "--command", "kubectl delete deploy api", "--env", "production", "--wait", "--json"], output: out)
        let pending = try #require(try reviewers.awaitPending())
        let id = try #require(pending["id"]?.stringValue)
        #expect(CLI.awaitAsleep(waiting))
        // Three reviewers race, two through one daemon and one through the other.
        let racers = try [reviewers, reviewers, agents].enumerated().map { index, daemon in
            try daemon.start(
                as: OSUsers.reviewer, ["decide", id, index == 1 ? "reject" : "approve", "--reason", "race \(index)"],
                output: daemon.directory.appendingPathComponent("decide-\(index).out"))
        }
        for racer in racers { racer.waitUntilExit() }
        #expect(racers.filter { $0.terminationStatus == 0 }.count == 1, "exactly one decision: \(racers.map(\.terminationStatus))")
        waiting.waitUntilExit()
        let final = try JSONReader.parse(try CLI.output(of: out))
        #expect(final["id"]?.stringValue == id)
        #expect(["approved", "rejected"].contains(final["state"]?.stringValue ?? ""))
        #expect(waiting.terminationStatus == (final["state"]?.stringValue == "approved" ? 0 : 1))
        let listed = try reviewers.run(as: OSUsers.reviewer, ["list", "--json"])
        #expect((try JSONReader.parse(listed.stdout)).arrayValue?.first { $0["id"]?.stringValue == id }?["votes"]?.arrayValue?.count == 1)

        // A halt on the reviewers' daemon stops the agent on the other at once.
        #expect(try reviewers.run(as: OSUsers.reviewer, ["halt", "hp-agent-bot", "--reason", "incident"]).status == 0)
        let refused = try agents.run(as: OSUsers.agent, ["submit", "--command", "kubectl delete deploy web", "--env", "production", "--agent", "hp-agent-bot"])
        #expect(refused.status == 4, "\(refused.stdout)\(refused.stderr)")
        // One chain, verified through either daemon.
        for daemon in [agents, reviewers] {
            let verify = try daemon.run(as: OSUsers.reviewer, ["audit", "verify"])
            #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        }
        // The daily check resumes where the reviewer's last intact verification got to (kept
        // in the reviewer's own state directory).
        let home = try Scratch.directory("hp-reviewer-state")
        let reviewer = OSUsers.ids(OSUsers.reviewer)
        #expect(chown(home.path, reviewer.uid, reviewer.gid) == 0)
        let state = ["XDG_STATE_HOME": home.path]
        let full = try reviewers.run(as: OSUsers.reviewer, ["audit", "verify", "--since-checkpoint", "--json"], environment: state)
        let through = try JSONReader.parse(full.stdout)["verified_through"]?.numberValue
        #expect(full.status == 0 && through != nil, "\(full.stdout)\(full.stderr)")
        #expect(try agents.run(as: OSUsers.agent, ["submit", "--command", "ls", "--env", "staging", "--agent", "hp-agent-other"]).status == 0)
        let daily = try reviewers.run(as: OSUsers.reviewer, ["audit", "verify", "--since-checkpoint", "--json"], environment: state)
        #expect(daily.status == 0, "\(daily.stdout)\(daily.stderr)")
        #expect(try JSONReader.parse(daily.stdout)["resumed_after"]?.numberValue == through, "\(daily.stdout)")
    }

    /// Both daemons run the same sink: one of them at a time delivers it, so the on-call
    /// reviewer is paged once per event, not once per daemon; either daemon's status shows it.
    @Test func twoDaemonsWithOneSinkPageOncePerEvent() throws {
        let receiver = try HTTPReceiver()
        let policy = Self.policy + "notify:\n  - name: oncall\n    webhook: \(receiver.url)/hook\n    events: [gated, decided]\n"
        let (url, passfile) = FleetDatabase.queue()
        let agents = try ServedQueue(policy: policy, queue: url, passfile: passfile)
        let reviewers = try ServedQueue(policy: policy, queue: url, passfile: passfile)
        var ids: [String] = []
        for i in 0..<3 {
            let submitted = try agents.run(as: OSUsers.agent, ["submit", "--command", "kubectl delete deploy api-\(i)", "--env", "production", "--json"])
            #expect(submitted.status == 5, "\(submitted.stderr)")
            ids.append(try #require((try JSONReader.parse(submitted.stdout))["id"]?.stringValue))
        }
        for id in ids { #expect(try reviewers.run(as: OSUsers.reviewer, ["decide", id, "reject", "--reason", "not now"]).status == 0) }
        func events(_ received: [HTTPReceiver.Received], _ kind: String) -> [String] {
            received.compactMap { $0.json as? [String: Any] }.filter { $0["event"] as? String == kind }.compactMap { $0["id"] as? String }
        }
        // Delivery is in log order: once every decision is in, every page before it is too.
        let received = receiver.await(30) { events($0, "decided").count >= 3 }
        #expect(events(received, "gated") == ids, "\(events(received, "gated"))")
        #expect(events(received, "decided") == ids, "\(events(received, "decided"))")
        for daemon in [agents, reviewers] {
            let status = try daemon.run(as: OSUsers.reviewer, ["notify", "status", "--json"])
            #expect(status.status == 0, "\(status.stdout)\(status.stderr)")
        }
    }

    /// A daemon killed with -9 and the database restarted mid-run: clients are denied while
    /// it is down, nothing acknowledged is lost, and everything works again once it is back.
    @Test func aDaemonKilledAndTheDatabaseRestartedLoseNothing() throws {
        let cluster = try FleetDatabase.OwnCluster()
        let agents = try ServedQueue(policy: Self.policy, queue: cluster.url, passfile: cluster.passfile)
        let reviewers = try ServedQueue(policy: Self.policy, queue: cluster.url, passfile: cluster.passfile)
        let first = try agents.run(as: OSUsers.agent, ["submit", "--command", "terraform destroy -auto-approve", "--env", "staging", "--json"])
        let firstID = try #require((try JSONReader.parse(first.stdout))["id"]?.stringValue)

        agents.kill9()
        try agents.start()
        #expect(try agents.pending().contains { $0["id"]?.stringValue == firstID })

        // An agent waiting on one daemon while the database goes down and comes back.
        let out = agents.directory.appendingPathComponent("waiter.out")
        let waiter = try agents.start(as: OSUsers.agent, ["wait", firstID, "--json"], output: out)
        #expect(CLI.awaitAsleep(waiter))
        try cluster.control("stop")
        let denied = try agents.run(as: OSUsers.agent, ["submit", "--command", "kubectl delete ns payments", "--env", "production"])
        #expect(denied.status == 69, "with the database down a submit is refused (69), not lost: \(denied.status) \(denied.stderr)")
        try cluster.control("start")
        // The agent that was waiting is either denied (its daemon read the queue while it was
        // down: fail closed) or still waiting; never allowed without a decision.
        var waiting = waiter
        if !waiter.isRunning {
            waiter.waitUntilExit()
            #expect(waiter.terminationStatus == 69)
            waiting = try agents.start(as: OSUsers.agent, ["wait", firstID, "--json"], output: out)
        }
        #expect(CLI.awaitAsleep(waiting))
        // The reviewer decides on the other daemon (which reconnects); the waiting agent hears
        // of it through its daemon's renewed LISTEN connection (its wait has no other timer).
        let decided = try reviewers.run(as: OSUsers.reviewer, ["decide", firstID, "approve", "--reason", "after the restart"])
        #expect(decided.status == 0, "\(decided.stdout)\(decided.stderr)")
        waiting.waitUntilExit()
        #expect(waiting.terminationStatus == 0)
        #expect((try JSONReader.parse(try CLI.output(of: out)))["state"]?.stringValue == "approved")
        let verify = try reviewers.run(as: OSUsers.reviewer, ["audit", "verify"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }

    /// A file queue copied into PostgreSQL keeps its chain: a daemon carries it on, and it
    /// verifies with the file's entries and the daemon's after them.
    @Test func aFileQueueCopiedIntoPostgresCarriesOnUnderADaemon() throws {
        let env = try QueueEnv(policy: "approvals:\n  allow_self_approval: true\n  min_read_time: 0\n")
        let gated = try env.submit("kubectl delete deploy api")
        #expect(gated.status == 5)
        #expect(try env.run(["decide", gated.id, "reject", "--reason", "not today"]).status == 0)
        #expect(try env.submit("ls -la").status == 0)
        let (url, passfile) = FleetDatabase.queue()
        let copy = try CLI.run(["queue", "copy", "--from", env.queue, "--to", url], environment: ["PGPASSFILE": passfile])
        #expect(copy.status == 0, "\(copy.stdout)\(copy.stderr)")
        #expect(copy.stdout.contains("copied 2 requests"))
        // Refused the second time: the database holds a queue now.
        #expect(try CLI.run(["queue", "copy", "--from", env.queue, "--to", url], environment: ["PGPASSFILE": passfile]).status == 64)
        // A password in the URL is refused before anything is read.
        let leaked = try CLI.run(["queue", "copy", "--from", env.queue, "--to", url.replacingOccurrences(of: "holdpoint@", with: "holdpoint:secret@")])
        #expect(leaked.status == 78)
        #expect(!leaked.stderr.contains("secret"))

        let daemon = try ServedQueue(policy: Self.policy, queue: url, passfile: passfile)
        let listed = try daemon.run(as: OSUsers.reviewer, ["list", "--json"])
        let states = (try JSONReader.parse(listed.stdout)).arrayValue?.compactMap { $0["state"]?.stringValue } ?? []
        #expect(states.sorted() == ["allowed", "rejected"])
        #expect(try daemon.run(as: OSUsers.agent, ["submit", "--command", "kubectl delete deploy web", "--env", "production"]).status == 5)
        let verify = try daemon.run(as: OSUsers.reviewer, ["audit", "verify", "--json"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        let report = try JSONReader.parse(verify.stdout)
        // The file's entries, then the daemon's submission (submitted, classified) after them.
        let copied = copy.stdout.split(separator: " ").firstIndex(of: "audit").flatMap { Double(copy.stdout.split(separator: " ")[$0 - 1]) } ?? 0
        #expect(copied == 7)
        #expect(report["entries"]?.numberValue == copied + 2)
    }
}

import Foundation
import HoldpointCore
import HoldpointTestSupport
import Testing

/// `holdpoint serve` as a real daemon, run as its own OS user, with an agent and a reviewer
/// that are other OS users, each a real process connecting through the socket. The users
/// are created here (CI runs as root); without root these tests cannot create them.
struct OSUsers {
    static let daemon = "hp-daemon"
    static let agent = "hp-agent"
    static let reviewer = "hp-reviewer"
    static let clients = "hp-clients"
    static let reviewers = "hp-reviewers"

    static let available: Bool = {
        guard getuid() == 0 else { return false }
        func run(_ tool: String, _ arguments: [String]) -> Int32 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            guard (try? process.run()) != nil else { return -1 }
            process.waitUntilExit()
            return process.terminationStatus
        }
        for group in [clients, reviewers] where getgrnam(group) == nil { _ = run("/usr/sbin/groupadd", [group]) }
        // The daemon is in the clients' group so that it can give its socket to that group.
        let members = [daemon: [clients], agent: [clients], reviewer: [clients, reviewers]]
        for (user, groups) in members {
            if getpwnam(user) == nil {
                _ = run("/usr/sbin/useradd", ["-M", "-s", "/usr/sbin/nologin", "-G", groups.joined(separator: ","), user])
            } else {
                _ = run("/usr/sbin/usermod", ["-a", "-G", groups.joined(separator: ","), user])
            }
        }
        let names: [String] = [daemon, agent, reviewer]
        return names.allSatisfy { name in getpwnam(name) != nil }
    }()

    static func ids(_ user: String) -> (uid: uid_t, gid: gid_t) {
        guard let entry = getpwnam(user) else { return (0, 0) }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }
}

/// One daemon in a fresh directory: the state directory only the daemon user can enter, the
/// socket in a directory everyone can reach, the socket itself for `hp-clients` only.
final class ServedQueue {
    let directory: URL
    let state: URL
    let socket: String
    var daemon: Process?
    let log: URL
    /// `--queue`: the file in the state directory, or a PostgreSQL URL shared with other daemons.
    let queue: String?
    /// Where this daemon keeps its signing key (its own, as on its own host).
    var stateHome: String { state.appendingPathComponent("xdg").path }

    init(policy: String = "approvals:\n  reviewers: [\"@hp-reviewers\"]\n", queue: String? = nil, passfile: String? = nil) throws {
        self.queue = queue
        directory = try Scratch.directory()
        chmod(directory.path, 0o755)
        state = directory.appendingPathComponent("state")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        let daemonIDs = OSUsers.ids(OSUsers.daemon)
        try policy.write(to: state.appendingPathComponent("policy.yaml"), atomically: true, encoding: .utf8)
        chown(state.path, daemonIDs.uid, daemonIDs.gid)
        chown(state.appendingPathComponent("policy.yaml").path, daemonIDs.uid, daemonIDs.gid)
        chmod(state.path, 0o700)
        let run = directory.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        chown(run.path, daemonIDs.uid, daemonIDs.gid)
        chmod(run.path, 0o755)
        socket = run.appendingPathComponent("holdpoint.sock").path
        log = directory.appendingPathComponent("daemon.log")
        if let passfile {
            // The daemon's own copy of the password file, readable by it alone.
            let copy = state.appendingPathComponent("pgpass").path
            try FileManager.default.copyItem(atPath: passfile, toPath: copy)
            chown(copy, daemonIDs.uid, daemonIDs.gid)
            chmod(copy, 0o600)
        }
        try start()
    }

    var queuePath: String { queue ?? state.appendingPathComponent("queue.sqlite").path }

    /// Starts the daemon as `hp-daemon` and returns once it answers on its socket.
    func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = [
            "--reuid", OSUsers.daemon, "--regid", OSUsers.daemon, "--init-groups", "--", CLI.binary.path,
            "serve", "--socket", socket, "--socket-group", OSUsers.clients, "--queue", queuePath,
            "--policy", state.appendingPathComponent("policy.yaml").path,
        ]
        var env = ProcessInfo.processInfo.environment
        for key in ["HOLDPOINT_POLICY", "HOLDPOINT_QUEUE", "HOLDPOINT_SOCKET", "HOLDPOINT_AUDIT"] { env[key] = nil }
        env["HOME"] = "/tmp"
        env["XDG_STATE_HOME"] = stateHome
        env["PGPASSFILE"] = state.appendingPathComponent("pgpass").path
        process.environment = env
        if !FileManager.default.fileExists(atPath: log.path) { _ = FileManager.default.createFile(atPath: log.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        process.standardError = handle
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        daemon = process
        // Ready when the log says it listens (or it died: then the test fails on what follows).
        for _ in 0..<500 {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if text.components(separatedBy: "listening on").count > starts + 1 || !process.isRunning { break }
            usleep(10_000)
        }
        starts += 1
    }
    private var starts = 0

    func kill9() {
        guard let daemon else { return }
        kill(daemon.processIdentifier, SIGKILL)
        daemon.waitUntilExit()
    }

    func stop() {
        guard let daemon, daemon.isRunning else { return }
        kill(daemon.processIdentifier, SIGTERM)
        daemon.waitUntilExit()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs `holdpoint ARGS --socket …` as `user`.
    func run(as user: String, _ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]) throws -> CLIResult {
        try CLI.run(
            Self.setpriv(user) + withSocket(arguments), stdin: stdin.map { Array($0.utf8) },
            environment: ["HOME": "/tmp"].merging(environment) { $1 }, executable: URL(fileURLWithPath: "/usr/bin/setpriv"))
    }

    /// Starts `holdpoint ARGS --socket …` as `user` without waiting; its stdout goes to `output`.
    func start(as user: String, _ arguments: [String], output: URL, stdin: String? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = Self.setpriv(user) + withSocket(arguments)
        var env = ProcessInfo.processInfo.environment
        for key in ["HOLDPOINT_POLICY", "HOLDPOINT_QUEUE", "HOLDPOINT_SOCKET"] { env[key] = nil }
        env["HOME"] = "/tmp"
        env["NO_COLOR"] = "1"
        process.environment = env
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = FileHandle.nullDevice
        let input = Pipe()
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
        return process
    }

    /// `arguments` with `--socket` added: before a `--` (after it, it would be the command's).
    func withSocket(_ arguments: [String]) -> [String] {
        var out = arguments
        out.insert(contentsOf: ["--socket", socket], at: arguments.firstIndex(of: "--") ?? arguments.count)
        return out
    }

    static func setpriv(_ user: String) -> [String] {
        ["--reuid", user, "--regid", user, "--init-groups", "--", CLI.binary.path]
    }

    /// Pending requests, as the reviewer lists them.
    func pending() throws -> [JSONValue] {
        let result = try run(as: OSUsers.reviewer, ["list", "--state", "pending", "--json"])
        return (try? JSONReader.parse(result.stdout))?.arrayValue ?? []
    }

    /// Waits (bounded) until some request is pending, and returns the newest.
    func awaitPending() throws -> JSONValue? {
        for _ in 0..<300 {
            if let last = try pending().last { return last }
            usleep(20_000)
        }
        return nil
    }
}

@Suite(.serialized, .enabled(if: OSUsers.available, "needs root to create the agent, reviewer and daemon users"))
struct ServeProcessTests {
    @Test func theAgentCannotDecideReadTheQueueBringAPolicyOrHalt() throws {
        let served = try ServedQueue()
        let submitted = try served.run(as: OSUsers.agent, ["submit", "--command", "kubectl delete deployment api -n prod", "--agent", "kiro", "--json"])
        #expect(submitted.status == 5, "\(submitted.stderr)")
        let request = try JSONReader.parse(submitted.stdout)
        let id = try #require(request["id"]?.stringValue)
        #expect(request["submitted_by"] == .string(OSUsers.agent))  // the kernel's word, not the client's

        let forged = try served.run(as: OSUsers.agent, ["decide", id, "approve", "--reason", "looks fine to me"])
        #expect(forged.status == 77, "\(forged.stderr)")
        #expect(forged.stderr.contains("not in the daemon policy's approvals.reviewers"))
        #expect(try served.run(as: OSUsers.agent, ["halt", "--all", "--reason", "x"]).status == 77)

        let ownPolicy = served.directory.appendingPathComponent("lax.yaml")
        try "approvals:\n  allow_self_approval: true\n  reviewers: [hp-agent]\n".write(to: ownPolicy, atomically: true, encoding: .utf8)
        let withPolicy = try served.run(as: OSUsers.agent, ["submit", "--command", "ls", "--policy", ownPolicy.path])
        #expect(withPolicy.status == 64)
        let viaEnvironment = try served.run(as: OSUsers.agent, ["decide", id, "approve"], environment: ["HOLDPOINT_POLICY": ownPolicy.path])
        #expect(viaEnvironment.status == 64)

        // The files are the daemon's alone.
        for file in ["queue.sqlite", "queue.sqlite.audit-key", "queue.sqlite.audit-head", "policy.yaml"] {
            let read = try CLI.run(
                ["--reuid", OSUsers.agent, "--regid", OSUsers.agent, "--init-groups", "--", "/bin/cat", served.state.appendingPathComponent(file).path],
                executable: URL(fileURLWithPath: "/usr/bin/setpriv"))
            #expect(read.status != 0, "the agent could read \(file)")
        }
        // Still pending: nothing the agent did moved it.
        #expect(try served.pending().map { $0["id"] } == [.string(id)])

        let approved = try served.run(as: OSUsers.reviewer, ["decide", id, "approve", "--reason", "change window", "--json"])
        #expect(approved.status == 0, "\(approved.stderr)")
        let decision = try JSONReader.parse(approved.stdout)["decision"]
        #expect(decision?["by"] == .string(OSUsers.reviewer))
        #expect(decision?["via"]?.stringValue?.hasPrefix("socket pid ") == true)
        #expect(try served.run(as: OSUsers.reviewer, ["audit", "verify"]).status == 0)
    }

    /// `checklist` through the socket judges the daemon's approval rules, which the client
    /// cannot read from a file: who reviews, how many, whether self-approval is allowed.
    @Test func theChecklistJudgesTheDaemonsApprovalRules() throws {
        func checks(_ policy: String) throws -> [Int: JSONValue] {
            let served = try ServedQueue(policy: policy)
            let result = try served.run(as: OSUsers.reviewer, ["checklist", "--json"])
            var out: [Int: JSONValue] = [:]
            for check in (try JSONReader.parse(result.stdout))["checks"]?.arrayValue ?? [] {
                if let number = check["check"]?.numberValue { out[Int(number)] = check }
            }
            return out
        }
        let strict = try checks("approvals:\n  reviewers: [\"@hp-reviewers\"]\n  required: 2\n")
        #expect(strict[1]?["status"]?.stringValue == "PASS", "\(String(describing: strict[1]))")
        #expect(strict[1]?["evidence"]?.arrayValue?.contains(.string("reviewers: @hp-reviewers")) == true)
        #expect(strict[3]?["status"]?.stringValue == "PASS")
        #expect(strict[3]?["evidence"]?.arrayValue?.contains(.string("approvals required: 2; self-approval refused")) == true)
        let lax = try checks("approvals:\n  reviewers: [\"@hp-reviewers\"]\n  allow_self_approval: true\n")
        #expect(lax[3]?["status"]?.stringValue == "FAIL", "\(String(describing: lax[3]))")
    }

    @Test func aReviewersDecisionUnblocksAWaitingSubmitAndAHoldingHook() throws {
        let served = try ServedQueue()
        let submitOut = served.directory.appendingPathComponent("submit.out")
        let waiting = try served.start(as: OSUsers.agent, ["submit", "--command", "kubectl delete deployment api -n prod", "--agent", "a1", "--wait", "--json"], output: submitOut)
        let first = try #require(try served.awaitPending()?["id"]?.stringValue)
        #expect(try served.run(as: OSUsers.reviewer, ["decide", first, "approve", "--reason", "ok"]).status == 0)
        waiting.waitUntilExit()
        #expect(waiting.terminationStatus == 0)
        #expect((try JSONReader.parse(try CLI.output(of: submitOut)))["state"] == .string("approved"))

        let hookInput = #"{"session_id":"s1","transcript_path":"/tmp/t.jsonl","cwd":"/tmp","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"rm -rf /srv/app/data"}}"#
        let hookOut = served.directory.appendingPathComponent("hook.out")
        let hook = try served.start(as: OSUsers.agent, ["hook", "claude-code", "--env", "production", "--hold", "60"], output: hookOut, stdin: hookInput)
        let held = try #require(try served.awaitPending()?["id"]?.stringValue, "the hook answered: \((try? String(contentsOf: hookOut, encoding: .utf8)) ?? "")")
        #expect(try served.run(as: OSUsers.reviewer, ["decide", held, "approve", "--reason", "data is in the backup"]).status == 0)
        hook.waitUntilExit()
        let answer = try JSONReader.parse(try CLI.output(of: hookOut))
        #expect(answer["hookSpecificOutput"]?["permissionDecision"] == .string("allow"))
        // The approval was used, once.
        let used = try served.run(as: OSUsers.reviewer, ["list", "--json"])
        let record = (try JSONReader.parse(used.stdout)).arrayValue?.first { $0["id"] == .string(held) }
        #expect(record?["consumed"]?["by"] == .string("hook claude-code"))
    }

    @Test func execRunsOnlyOnceApprovedAndRecordsTheRunThroughTheDaemon() throws {
        let served = try ServedQueue()
        let target = served.directory.appendingPathComponent("scratch")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        chmod(target.path, 0o777)
        let marker = target.appendingPathComponent("marker")
        try FileManager.default.createDirectory(at: marker, withIntermediateDirectories: true)
        chmod(marker.path, 0o777)
        let out = served.directory.appendingPathComponent("exec.out")
        let exec = try served.start(as: OSUsers.agent, ["exec", "--env", "production", "--", "rm", "-rf", marker.path], output: out)
        let id = try #require(try served.awaitPending()?["id"]?.stringValue)
        #expect(FileManager.default.fileExists(atPath: marker.path))  // nothing ran before the decision
        #expect(try served.run(as: OSUsers.reviewer, ["decide", id, "approve", "--reason", "scratch file"]).status == 0)
        exec.waitUntilExit()
        #expect(exec.terminationStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: marker.path))
        let record = (try JSONReader.parse(try served.run(as: OSUsers.reviewer, ["list", "--json"]).stdout)).arrayValue?.first { $0["id"] == .string(id) }
        #expect(record?["state"] == .string("succeeded"))
        #expect(record?["run"]?["exit_code"] == .number(0))
        // The reviewer may not record a run of the agent's request.
        let forged = try served.run(as: OSUsers.reviewer, ["exec", "--approval", id, "--env", "production", "--", "rm", "-rf", marker.path])
        #expect(forged.status == 2)  // the approval was used already
    }

    @Test func fiftyAgentsAndThreeReviewersLoseNothingAndDecideOnce() throws {
        let served = try ServedQueue()
        let outputs = (0..<50).map { served.directory.appendingPathComponent("agent-\($0).out") }
        let agents = try (0..<50).map { i in
            try served.start(as: OSUsers.agent, ["submit", "--command", "kubectl delete pod worker-\(i) -n prod", "--agent", "fleet-\(i % 5)", "--json"], output: outputs[i])
        }
        for agent in agents { agent.waitUntilExit() }
        let acknowledged = Set(try outputs.compactMap { try JSONReader.parse(try CLI.output(of: $0))["id"]?.stringValue })
        #expect(acknowledged.count == 50)
        #expect(agents.allSatisfy { $0.terminationStatus == 5 })
        // Three reviewers race through the same list (each tries every request).
        let ids = try served.pending().compactMap { $0["id"]?.stringValue }
        #expect(Set(ids) == acknowledged)
        let script = ids.map { "\(CLI.binary.path) decide \($0) approve --reason race --socket \(served.socket) >/dev/null 2>&1; echo $?" }.joined(separator: "\n")
        let scriptFile = served.directory.appendingPathComponent("review.sh")
        try script.write(to: scriptFile, atomically: true, encoding: .utf8)
        chmod(scriptFile.path, 0o755)
        let reviewerRuns = try (0..<3).map { r in
            try CLI.start(
                ["--reuid", OSUsers.reviewer, "--regid", OSUsers.reviewer, "--init-groups", "--", "/bin/sh", scriptFile.path],
                executable: URL(fileURLWithPath: "/usr/bin/setpriv"), output: served.directory.appendingPathComponent("reviewer-\(r).out"))
        }
        for run in reviewerRuns { run.waitUntilExit() }
        let codes = try (0..<3).flatMap { r in
            try String(contentsOf: served.directory.appendingPathComponent("reviewer-\(r).out"), encoding: .utf8).split(separator: "\n").map(String.init)
        }
        #expect(codes.count == 150)
        #expect(codes.filter { $0 == "0" }.count == 50)  // exactly one recorded decision per request
        #expect(codes.filter { $0 == "6" }.count == 100)  // the others learn it was decided already
        let all = (try JSONReader.parse(try served.run(as: OSUsers.reviewer, ["list", "--json"]).stdout)).arrayValue ?? []
        #expect(all.count == 50)
        #expect(all.allSatisfy { $0["state"] == .string("approved") && $0["votes"]?.arrayValue?.count == 1 })
        #expect(try served.run(as: OSUsers.reviewer, ["audit", "verify"]).status == 0)
    }

    @Test func aKilledDaemonLosesNothingAcknowledgedAndWaitersFailClosed() throws {
        let served = try ServedQueue()
        var acknowledged: [String] = []
        for i in 0..<10 {
            let result = try served.run(as: OSUsers.agent, ["submit", "--command", "kubectl delete pod p\(i) -n prod", "--json"])
            if let id = (try? JSONReader.parse(result.stdout))?["id"]?.stringValue { acknowledged.append(id) }
        }
        #expect(acknowledged.count == 10)
        let waitOut = served.directory.appendingPathComponent("wait.out")
        let waiter = try served.start(as: OSUsers.agent, ["wait", acknowledged[0]], output: waitOut)
        // The waiter is connected and waiting once the daemon has a second client in flight;
        // a kill at any moment must leave it denied, never allowed.
        _ = try served.pending()
        served.kill9()
        waiter.waitUntilExit()
        #expect(waiter.terminationStatus == 69)
        let hookInput = #"{"session_id":"s","transcript_path":"/tmp/t","cwd":"/tmp","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"}}"#
        let denied = try served.run(as: OSUsers.agent, ["hook", "claude-code", "--env", "staging"], stdin: hookInput)
        #expect(denied.stdout.contains("\"permissionDecision\":\"deny\""))
        try served.start()
        let listed = Set(try served.pending().compactMap { $0["id"]?.stringValue })
        #expect(listed == Set(acknowledged))
        #expect(try served.run(as: OSUsers.reviewer, ["audit", "verify"]).status == 0)
        let allowed = try served.run(as: OSUsers.agent, ["hook", "claude-code", "--env", "staging", "--allow-explicit"], stdin: hookInput)
        #expect(allowed.stdout.contains("\"permissionDecision\":\"allow\""))
    }

    @Test func serveRefusesAPolicyWithoutReviewers() throws {
        let directory = try Scratch.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try CLI.run(["serve", "--socket", directory.appendingPathComponent("s.sock").path, "--queue", directory.appendingPathComponent("q.sqlite").path])
        #expect(result.status == 78)
        #expect(result.stderr.contains("approvals.reviewers"))
    }
}

/// The daemon pages by itself: no `notify run` beside it.
@Suite(.serialized, .enabled(if: OSUsers.available, "needs root to create the test OS users"))
struct ServeNotifyTests {
    @Test func theDaemonPagesWhenAnAgentsRequestWaitsAndWhenItIsDecided() throws {
        let receiver = try HTTPReceiver()
        let served = try ServedQueue(
            policy: """
                approvals:
                  reviewers: ["@hp-reviewers"]
                notify:
                  - name: oncall
                    webhook: \(receiver.url)/hook
                """)
        let submitted = try served.run(as: OSUsers.agent, ["submit", "--command", "kubectl delete deployment api -n prod", "--agent", "a1", "--json"])
        #expect(submitted.status == 5, "\(submitted.stderr)")
        let id = try #require((try JSONReader.parse(submitted.stdout))["id"]?.stringValue)
        let paged = receiver.await { $0.contains { ($0.json as? [String: Any])?["event"] as? String == "gated" } }
        let gated = try #require(paged.compactMap { $0.json as? [String: Any] }.first { $0["event"] as? String == "gated" })
        #expect(gated["id"] as? String == id)
        #expect(gated["open"] as? String == "holdpoint review --select \(id)")
        #expect(try served.run(as: OSUsers.reviewer, ["decide", id, "reject", "--reason", "not today"]).status == 0)
        let decided = receiver.await { $0.contains { ($0.json as? [String: Any])?["event"] as? String == "decided" } }
        let last = decided.compactMap { $0.json as? [String: Any] }.last
        #expect(last?["verdict"] as? String == "rejected")
        #expect(last?["actor"] as? String == OSUsers.reviewer)
        // The daemon's sinks, through the socket: a reviewer sees how far each has delivered
        // (the gated page at least: the decided one went out after it); an agent may not.
        let status = try served.run(as: OSUsers.reviewer, ["notify", "status", "--json"])
        #expect(status.status == 0, "\(status.stdout)\(status.stderr)")
        let sink = try #require(try JSONReader.parse(status.stdout)["sinks"]?.arrayValue?.first)
        #expect(sink["sink"]?.stringValue == "oncall")
        #expect((sink["delivered_through"]?.numberValue ?? 0) > 0)
        #expect(sink["failures"]?.numberValue == 0)
        let refused = try served.run(as: OSUsers.agent, ["notify", "status"])
        #expect(refused.status == 77, "\(refused.stdout)\(refused.stderr)")
    }
}

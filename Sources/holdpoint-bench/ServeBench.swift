import Foundation
import HoldpointCore
import HoldpointRPC
import HoldpointStore

/// Socket mode: a real `holdpoint serve` process, and agents and reviewers as other processes
/// (or, for the decision latency, a real hook process held on the daemon).
enum ServeBenchmark {
    /// Submits `count` actions through the daemon at `socket` on one connection, printing each
    /// id once acknowledged (the daemon flushed it to disk first). With `startSignal`, waits
    /// for that file after saying it is ready, as `holdpoint-workload submit-loop` does.
    static func submitLoop(socket: String, count: Int, agent: String, startSignal: String?) throws {
        let client = DaemonClient(socketPath: socket, claimedOrigin: nil)
        _ = try client.whoAmI()  // connected before the clock starts
        if let startSignal {
            _ = FileManager.default.createFile(atPath: "\(startSignal).ready.\(getpid())", contents: nil)
            while !FileManager.default.fileExists(atPath: startSignal) { usleep(1_000) }
        }
        for i in 0..<count {
            let request = try ActionRequest.shellCommand("rm -rf /srv/data/\(agent)-\(i)", environment: "production", agentID: agent, mode: .supervised)
            emitLine(try client.submit(request, timeout: nil).id)
        }
    }

    static func run(binary benchBinary: String) throws {
        let directory = URL(fileURLWithPath: benchBinary).deletingLastPathComponent()
        let holdpoint = directory.appendingPathComponent("holdpoint").path
        guard FileManager.default.isExecutableFile(atPath: holdpoint) else {
            print("serve: skipped, build the holdpoint binary first (swift build -c release)")
            return
        }
        let root = NSTemporaryDirectory() + "hp-serve-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let me = String(cString: getpwuid(getuid()).pointee.pw_name)
        try "approvals:\n  reviewers: [\(me)]\n  allow_self_approval: true\n".write(toFile: root + "/policy.yaml", atomically: true, encoding: .utf8)
        let socket = root + "/s.sock"
        var environment = ProcessInfo.processInfo.environment
        for key in ["HOLDPOINT_POLICY", "HOLDPOINT_QUEUE", "HOLDPOINT_SOCKET", "HOLDPOINT_AUDIT"] { environment[key] = nil }
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: holdpoint)
        daemon.arguments = ["serve", "--socket", socket, "--queue", root + "/queue.sqlite", "--policy", root + "/policy.yaml"]
        daemon.environment = environment
        daemon.standardError = FileHandle.nullDevice
        try daemon.run()
        defer {
            daemon.terminate()
            daemon.waitUntilExit()
        }
        let client = DaemonClient(socketPath: socket, claimedOrigin: nil)
        var connected = false
        for _ in 0..<500 where !connected {
            connected = (try? client.whoAmI()) != nil
            if !connected { usleep(10_000) }
        }
        guard connected else { throw NSError(domain: "serve did not start", code: 1) }

        // 1. An allowed hook, whole process, through the socket.
        let read = #"{"session_id":"bench","cwd":"/tmp","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls -la"},"tool_use_id":"t"}"#
        var runs: [HookBenchmark.Run] = []
        for round in 0..<65 {
            let run = try HookBenchmark.spawn(holdpoint, ["hook", "claude-code", "--socket", socket], input: read, environment: environment)
            if round >= 5 { runs.append(run) }
        }
        let hooks = Stats(runs.map(\.wallNanoseconds))
        let peak = try HookBenchmark.peakRSS(holdpoint, ["hook", "claude-code", "--socket", socket], input: read, environment: environment)
        print(
            "serve: hook claude-code, autonomous `ls -la` through the socket (whole process, \(runs.count) runs): median \(format(hooks.percentile(0.5)))   p90 \(format(hooks.percentile(0.9)))   peak RSS \(HookBenchmark.megabytes(peak))   target: median <= 3 ms"
        )

        // 2. A reviewer's decision to the held hook's exit (the agent unblocked).
        let latencies = try decisionLatencies(holdpoint: holdpoint, hookSocket: socket, reviewer: client, environment: environment, label: "bench")
        let decisions = Stats(latencies)
        print(
            "serve: decision (reviewer's call sent) to the held hook process exiting, \(latencies.count) rounds: p50 \(format(decisions.percentile(0.5)))   p99 \(format(decisions.percentile(0.99)))   max \(format(Double(decisions.sorted.last ?? 0)))   target: p99 <= 50 ms"
        )

        // 3. 50 agent processes submitting at once, each submit durable before it is acknowledged.
        let processes = 50
        let each = 60
        let (acknowledged, seconds) = try submitRace(benchBinary: benchBinary, root: root, sockets: [socket], processes: processes, each: each)
        print(
            String(
                format: "serve: %d agent processes x %d durable submits through one daemon: %d acknowledged in %.2f s = %.0f submits/s   target: >= 2,000/s",
                processes, each, acknowledged, seconds, Double(acknowledged) / seconds))
    }

    /// 40 rounds: a Claude Code hook held on the daemon at `hookSocket` for a gated action,
    /// and `reviewer`'s approval; each the time from the decision being sent to the hook
    /// process exiting (the agent unblocked).
    static func decisionLatencies(
        holdpoint: String, hookSocket: String, reviewer: DaemonClient, environment: [String: String], label: String
    ) throws -> [UInt64] {
        var latencies: [UInt64] = []
        for round in 0..<40 {
            let gated = #"{"session_id":"bench","cwd":"/tmp","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"rm -rf /srv/\#(label)-\#(round)"},"tool_use_id":"t"}"#
            let pid = try HookBenchmark.start(holdpoint, ["hook", "claude-code", "--socket", hookSocket, "--hold", "60"], input: gated, environment: environment)
            var pending: StoredRequest?
            while pending == nil {
                pending = try reviewer.list(RequestFilter(states: [.pending], agent: "claude-code")).last
                if pending == nil { usleep(2_000) }
            }
            guard let id = pending?.id else { continue }
            let t0 = now()
            _ = try reviewer.decide(id: id, verdict: .approve, reason: "bench")
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            latencies.append(now() - t0)
        }
        return latencies
    }

    /// `processes` agent processes (`serve-submit-loop`), spread over `sockets`, each
    /// submitting `each` actions once all are connected. Returns the acknowledged submits and
    /// the seconds from "go" to the last agent done.
    static func submitRace(benchBinary: String, root: String, sockets: [String], processes: Int, each: Int) throws -> (Int, Double) {
        let signal = root + "/go"
        var agents: [(Process, Pipe)] = []
        for i in 0..<processes {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: benchBinary)
            process.arguments = ["serve-submit-loop", sockets[i % sockets.count], String(each), "agent-\(i)", signal]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            agents.append((process, pipe))
        }
        while (try FileManager.default.contentsOfDirectory(atPath: root).filter { $0.hasPrefix("go.ready.") }.count) < processes { usleep(2_000) }
        let t0 = now()
        FileManager.default.createFile(atPath: signal, contents: nil)
        var acknowledged = 0
        for (process, pipe) in agents {
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            acknowledged += String(decoding: data, as: UTF8.self).split(separator: "\n").count
        }
        return (acknowledged, Double(now() - t0) / 1e9)
    }
}

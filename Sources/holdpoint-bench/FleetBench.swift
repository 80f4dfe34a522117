import Foundation
import HoldpointCore
import HoldpointRPC
import HoldpointStore

/// Two daemons sharing one PostgreSQL queue (issue 16): agents submitting through both at
/// once, and a reviewer's decision on one daemon unblocking a hook held on the other.
/// Needs `HOLDPOINT_BENCH_POSTGRES` (a postgres:// URL; the password from PGPASSFILE or
/// PGPASSWORD): `.ci/postgres start DIR` makes a throwaway server.
enum FleetBenchmark {
    static func run(binary benchBinary: String) throws {
        let directory = URL(fileURLWithPath: benchBinary).deletingLastPathComponent()
        let holdpoint = directory.appendingPathComponent("holdpoint").path
        guard let base = ProcessInfo.processInfo.environment["HOLDPOINT_BENCH_POSTGRES"] else {
            print("fleet: skipped, set HOLDPOINT_BENCH_POSTGRES to a postgres:// URL (.ci/postgres start DIR makes a server)")
            return
        }
        let root = NSTemporaryDirectory() + "hp-fleet-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let me = String(cString: getpwuid(getuid()).pointee.pw_name)
        try "approvals:\n  reviewers: [\(me)]\n  allow_self_approval: true\n".write(toFile: root + "/policy.yaml", atomically: true, encoding: .utf8)
        let url = base + (base.contains("?") ? "&" : "?") + "schema=bench_\(getpid())"
        var daemons: [Process] = []
        defer {
            for daemon in daemons {
                daemon.terminate()
                daemon.waitUntilExit()
            }
        }
        var sockets: [String] = []
        for name in ["a", "b"] {
            var environment = ProcessInfo.processInfo.environment
            for key in ["HOLDPOINT_POLICY", "HOLDPOINT_QUEUE", "HOLDPOINT_SOCKET", "HOLDPOINT_AUDIT"] { environment[key] = nil }
            environment["XDG_STATE_HOME"] = root + "/state-\(name)"  // each daemon its own key, as on its own host
            let socket = root + "/\(name).sock"
            let daemon = Process()
            daemon.executableURL = URL(fileURLWithPath: holdpoint)
            daemon.arguments = ["serve", "--socket", socket, "--queue", url, "--policy", root + "/policy.yaml"]
            daemon.environment = environment
            daemon.standardError = FileHandle.nullDevice
            try daemon.run()
            daemons.append(daemon)
            let client = DaemonClient(socketPath: socket, claimedOrigin: nil)
            var connected = false
            for _ in 0..<1000 where !connected {
                connected = (try? client.whoAmI()) != nil
                if !connected { usleep(10_000) }
            }
            guard connected else { throw NSError(domain: "serve on PostgreSQL did not start", code: 1) }
            sockets.append(socket)
        }

        // 1. 50 agent processes, half on each daemon, every submit durable in PostgreSQL first.
        let processes = 50
        let each = 100
        let (acknowledged, seconds) = try ServeBenchmark.submitRace(benchBinary: benchBinary, root: root, sockets: sockets, processes: processes, each: each)
        print(
            String(
                format: "fleet: %d agent processes x %d durable submits through two daemons on one PostgreSQL: %d acknowledged in %.2f s = %.0f submits/s   target: >= 1,000/s",
                processes, each, acknowledged, seconds, Double(acknowledged) / seconds))

        // 2. A hook held on daemon a; the reviewer decides on daemon b.
        let reviewer = DaemonClient(socketPath: sockets[1], claimedOrigin: nil)
        var environment = ProcessInfo.processInfo.environment
        for key in ["HOLDPOINT_POLICY", "HOLDPOINT_QUEUE", "HOLDPOINT_SOCKET", "HOLDPOINT_AUDIT"] { environment[key] = nil }
        let latencies = try ServeBenchmark.decisionLatencies(holdpoint: holdpoint, hookSocket: sockets[0], reviewer: reviewer, environment: environment, label: "fleet")
        let decisions = Stats(latencies)
        print(
            "fleet: decision on daemon b to the hook held on daemon a exiting, \(latencies.count) rounds: p50 \(format(decisions.percentile(0.5)))   p99 \(format(decisions.percentile(0.99)))   max \(format(Double(decisions.sorted.last ?? 0)))   target: p99 <= 100 ms"
        )
    }
}

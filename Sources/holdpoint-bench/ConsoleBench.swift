import Foundation
import HoldpointConsole
import HoldpointCore
import HoldpointStore

/// Rendering the console with 10,000 pending requests: view + diff per frame, and memory.
enum ConsoleBenchmark {
    static func residentMegabytes() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kb = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kb / 1024
    }

    static func run() throws {
        let now = Clock.now()
        var requests: [StoredRequest] = []
        let classification = Classification(
            tier: .gated, operationClass: .delete, reasons: [Reason(rule: "bench", message: "gated", tier: .gated)],
            destructive: true, irreversible: false, dataLoss: false)
        for i in 0..<10_000 {
            let request = try ActionRequest.shellCommand("rm -rf /srv/data/shard-\(i)", environment: i % 3 == 0 ? "staging" : "production", agentID: "agent-\(i % 40)", mode: .supervised)
            requests.append(
                StoredRequest(
                    id: RequestID.make(now: now + Double(i) / 1000), createdAt: now, agentID: request.agentID, environment: request.environment,
                    submittedBy: "bench", onBehalfOf: nil, tier: .gated, operationClass: .delete, state: .pending,
                    expiresAt: now + 900 - Double(i % 600), actionSHA256: request.actionSHA256, reasons: classification.reasons,
                    destructive: true, irreversible: false, dataLoss: false, approvalRules: ApprovalRules(), document: request.document, votes: []))
        }
        var state = ConsoleState(queueName: "bench", reviewer: Identity(user: "bench", via: "local"), width: 120, height: 40, now: now)
        let t0 = now_ns()
        _ = update(&state, .snapshot(ReviewSnapshot(requests: requests, haltedAgents: [], firstTime: [], now: now)))
        let snapshotTime = Double(now_ns() - t0)
        var previous = render(state)
        var samples: [UInt64] = []
        for frame in 0..<200 {
            let start = now_ns()
            _ = update(&state, .tick(now: now + Double(frame)))
            if frame % 10 == 0 { _ = update(&state, .key(.char("j"))) }
            let grid = render(state)
            _ = grid.changedRows(since: previous)
            previous = grid
            samples.append(now_ns() - start)
        }
        let stats = Stats(samples)
        print(
            "console, 10,000 pending requests at 120x40: snapshot applied in \(format(snapshotTime)); frame (update + view + diff) p50 \(format(stats.percentile(0.5)))   p99 \(format(stats.percentile(0.99)))   target <= 5 ms"
        )
        print(String(format: "console resident memory with 10,000 requests loaded: %.1f MB   target <= 60 MB", residentMegabytes()))
    }

    static func now_ns() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
}

import Foundation
import HoldpointCore
import HoldpointStore

/// Durable submits per second with 1, 10 and 50 concurrent processes; decision-to-unblock
/// latency; audit verification speed.
enum QueueBenchmark {
    static func run(binary: String) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("holdpoint-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        for processes in [1, 10, 50] {
            let queue = root.appendingPathComponent("submit-\(processes).sqlite").path
            _ = try QueueStore(path: queue)  // create the file and the key up front
            let perProcess = processes == 1 ? 400 : processes == 10 ? 100 : 40
            let signals = root.appendingPathComponent("start-\(processes)")
            try FileManager.default.createDirectory(at: signals, withIntermediateDirectories: true)
            let start = signals.appendingPathComponent("go").path
            var children: [Process] = []
            for p in 0..<processes {
                let child = Process()
                child.executableURL = URL(fileURLWithPath: workload(beside: binary))
                child.arguments = ["submit-loop", queue, String(perProcess), "agent-\(p)", start]
                child.standardOutput = FileHandle.nullDevice
                try child.run()
                children.append(child)
            }
            // Every process has started and opened the queue; the clock runs from "go".
            while try FileManager.default.contentsOfDirectory(atPath: signals.path).count < processes { usleep(2_000) }
            let t0 = now()
            _ = FileManager.default.createFile(atPath: start, contents: nil)
            for child in children { child.waitUntilExit() }
            let seconds = Double(now() - t0) / 1e9
            let total = processes * perProcess
            let check = try QueueStore(path: queue)
            let stored = try check.list().count
            let flushes = check.commitCounters.map { "\($0.flushes) log flushes for \($0.committed) commits" } ?? "a log flush per commit"
            print(
                String(format: "durable submits, %2d processes: %5d in %.2f s = %6.0f submits/s (stored %d; ", processes, total, seconds, Double(total) / seconds, stored)
                    + "\(flushes); timed from all processes ready)")
        }
        try decisionLatency(root: root, binary: binary)
        try verifySpeed(root: root)
    }

    /// A waiting process (the real `waitForDecision` loop) sees a committed decision how soon?
    static func decisionLatency(root: URL, binary: String) throws {
        let queue = root.appendingPathComponent("latency.sqlite").path
        let store = try QueueStore(path: queue)
        var samples: [UInt64] = []
        for _ in 0..<40 {
            let request = try ActionRequest.shellCommand("rm -rf /srv/x", environment: "production", agentID: "lat", mode: .supervised)
            let stored = try store.submit(request, classification: gatedForBenchmark, approvals: ApprovalRules(), submitter: Identity(user: "agent", via: "local"))
            let child = Process()
            child.executableURL = URL(fileURLWithPath: workload(beside: binary))
            child.arguments = ["wait-one", queue, stored.id]
            let pipe = Pipe()
            child.standardOutput = pipe
            try child.run()
            _ = pipe.fileHandleForReading.availableData  // "ready" once the waiter is polling
            usleep(UInt32.random(in: 20_000...60_000))
            let decidedAt = DispatchTime.now().uptimeNanoseconds
            _ = try store.decide(id: stored.id, verdict: .approve, reviewer: Identity(user: "reviewer", via: "local"), reason: "ok")
            let line = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            child.waitUntilExit()
            if let seen = UInt64(line.trimmingCharacters(in: .whitespacesAndNewlines)), seen > decidedAt { samples.append(seen - decidedAt) }
        }
        let stats = Stats(samples)
        print(
            "decision committed → waiting submitter sees it (\(samples.count) runs, separate process, woken by inotify): p50 \(format(stats.percentile(0.5)))   p99 \(format(stats.percentile(0.99)))   target p99 <= 50 ms"
        )
    }

    /// Only the audit verification figure (`holdpoint-bench verify`).
    static func runVerify() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("holdpoint-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try verifySpeed(root: root)
    }

    static func verifySpeed(root: URL) throws {
        let queue = root.appendingPathComponent("verify.sqlite").path
        let store = try QueueStore(path: queue)
        let identity = Identity(user: "agent", via: "local")
        let request = try ActionRequest.shellCommand("rm -rf /srv/x", environment: "production", agentID: "v", mode: .supervised)
        for _ in 0..<20_000 {
            _ = try store.submit(request, classification: gatedForBenchmark, approvals: ApprovalRules(), submitter: identity)
        }
        // Seven passes, the median reported: one pass is a tenth of a second, which the
        // machine's other work can double.
        var rates: [Double] = []
        var report = try store.verifyAudit()
        for _ in 0..<7 {
            let t0 = now()
            report = try store.verifyAudit()
            rates.append(Double(report.entries) / (Double(now() - t0) / 1e9))
        }
        rates.sort()
        print(
            String(
                format: "audit verify: %d entries, %d checkpoints: median %.0f entries/s (best %.0f, worst %.0f of 7 passes; intact: %@)   target >= 500,000 entries/s",
                report.entries, report.checkpoints, rates[3], rates[6], rates[0], report.intact ? "yes" : "NO"))
    }
}

/// What the benchmark's requests are classified as: gated, so that each one waits.
let gatedForBenchmark = Classification(
    tier: .gated, operationClass: .delete, reasons: [Reason(rule: "bench", message: "gated for the benchmark", tier: .gated)],
    destructive: true, irreversible: false, dataLoss: false)

/// `holdpoint-workload`, the agent and reviewer processes, built beside this binary.
func workload(beside binary: String) -> String {
    URL(fileURLWithPath: binary).deletingLastPathComponent().appendingPathComponent("holdpoint-workload").path
}

/// Writes one line straight to stdout (unbuffered), so a reader sees it at once and a
/// process killed right after leaves no acknowledged id unprinted.
func emitLine(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    bytes.withUnsafeBytes { buffer in _ = write(STDOUT_FILENO, buffer.baseAddress, buffer.count) }
}

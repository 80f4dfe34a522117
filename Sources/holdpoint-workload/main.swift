// holdpoint-workload: real agent and reviewer processes against one queue file, for the
// race and crash tests and for the benchmark (separate processes racing, as in production).
//   holdpoint-workload submit-loop QUEUE COUNT AGENT [START-SIGNAL]
//   holdpoint-workload decide-loop QUEUE REVIEWER IDLE-SECONDS
//   holdpoint-workload wait-one QUEUE ID
import Foundation
import HoldpointCore
import HoldpointStore

/// The workloads.
enum QueueWorkloads {
    static let classification = Classification(
        tier: .gated, operationClass: .delete, reasons: [Reason(rule: "bench", message: "gated for the benchmark", tier: .gated)],
        destructive: true, irreversible: false, dataLoss: false)

    /// Submits `count` gated requests, printing each id once it is acknowledged (committed).
    /// With `startSignal`, the process opens the queue, says it is ready (creates
    /// `startSignal.ready.PID`) and waits for `startSignal` to exist before submitting, so a
    /// benchmark times the submits and not process start-up.
    static func submitLoop(queue: String, count: Int, agent: String, startSignal: String? = nil) throws {
        let store = try QueueStore(path: queue)
        if let startSignal {
            _ = FileManager.default.createFile(atPath: "\(startSignal).ready.\(getpid())", contents: nil)
            while !FileManager.default.fileExists(atPath: startSignal) { usleep(1_000) }
        }
        let submitter = Identity(user: "bench-agent", via: "local")
        for i in 0..<count {
            let request = try ActionRequest.shellCommand("rm -rf /srv/data/\(agent)-\(i)", environment: "production", agentID: agent, mode: .supervised)
            let stored = try store.submit(request, classification: classification, approvals: ApprovalRules(), submitter: submitter)
            emitLine(stored.id)
        }
    }

    /// Decides pending requests at random until none has appeared for `idleSeconds`.
    static func decideLoop(queue: String, reviewer: String, idleSeconds: Double) throws {
        let store = try QueueStore(path: queue)
        let identity = Identity(user: reviewer, via: "local")
        var idleSince = Clock.now()
        while Clock.now() - idleSince < idleSeconds {
            let pending = try store.list(RequestFilter(states: [.pending]))
            guard let pick = pending.randomElement() else {
                usleep(5_000)
                continue
            }
            idleSince = Clock.now()
            let verdict: Verdict = Bool.random() ? .approve : .reject
            switch try store.decide(id: pick.id, verdict: verdict, reviewer: identity, reason: "bench \(verdict.rawValue)") {
            case .recorded(let r): emitLine("recorded \(r.id) \(r.state.rawValue)")
            case .notPending(let r): emitLine("lost \(r.id) \(r.state.rawValue)")
            case .refused(let refusal, let r): emitLine("refused \(r.id) \(refusal)")
            case .notFound: emitLine("notfound \(pick.id)")
            }
        }
    }
}

/// Writes one line straight to stdout (unbuffered), so a reader sees it at once and a
/// process killed right after leaves no acknowledged id unprinted.
func emitLine(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    bytes.withUnsafeBytes { buffer in _ = write(STDOUT_FILENO, buffer.baseAddress, buffer.count) }
}

let arguments = Array(CommandLine.arguments.dropFirst())
let mode = arguments.first ?? ""
let args = Array(arguments.dropFirst())
do {
    if mode == "submit-loop", args.count == 3 || args.count == 4, let count = Int(args[1]) {
        try QueueWorkloads.submitLoop(queue: args[0], count: count, agent: args[2], startSignal: args.count == 4 ? args[3] : nil)
    } else if mode == "decide-loop", args.count == 3, let idle = Double(args[2]) {
        try QueueWorkloads.decideLoop(queue: args[0], reviewer: args[1], idleSeconds: idle)
    } else if mode == "wait-one", args.count == 2 {
        let store = try QueueStore(path: args[0])
        emitLine("ready")
        _ = try store.waitForDecision(id: args[1])
        emitLine(String(DispatchTime.now().uptimeNanoseconds))
    } else {
        FileHandle.standardError.write(Data("usage: holdpoint-workload submit-loop QUEUE COUNT AGENT [START] | decide-loop QUEUE REVIEWER IDLE | wait-one QUEUE ID\n".utf8))
        exit(64)
    }
} catch {
    FileHandle.standardError.write(Data("holdpoint-workload: \(error)\n".utf8))
    exit(1)
}

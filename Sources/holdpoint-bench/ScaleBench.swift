import Foundation
import HoldpointConsole
import HoldpointCore
import HoldpointStore

/// `holdpoint-bench scale [SIZE…]`: what a queue of 1k / 10k / 100k (/ 1M) requests costs.
/// Each size gets a fresh queue filled through the real submit path by four processes,
/// `min(SIZE, 10,000)` of them pending (the console's worst case), the rest allowed. Then:
/// `list --state pending --json` and `audit verify` as processes (time, peak memory), the
/// console's first frame and its key-press latency while 30 requests a second land (in a
/// process of its own that does what `holdpoint review` does, minus painting the terminal),
/// and a hook's time against the same hook on an empty queue.
enum ScaleBenchmark {
    static let pendingCap = 10_000
    static let fillers = 4

    /// The queue a console reads: the store itself.
    struct StoreSource: ReviewSource {
        let store: QueueStore
        func changeCounter() throws(StoreError) -> Int64 { try store.changeCounter() }
        func auditEntries(afterSeq: Int64, requestID: String?, limit: Int?) throws(StoreError) -> [AuditEntry] {
            try store.auditEntries(afterSeq: afterSeq, requestID: requestID, limit: limit)
        }
        func request(id: String) throws(StoreError) -> StoredRequest? { try store.request(id: id) }
        func list(_ filter: RequestFilter) throws(StoreError) -> [StoredRequest] { try store.list(filter) }
        func establishedActions() throws(StoreError) -> Set<String> { try store.establishedActions() }
        func halts() throws(StoreError) -> [QueueStore.Halt] { try store.halts() }
    }

    static func run(sizes: [Int], bench: String) throws {
        let holdpoint = URL(fileURLWithPath: bench).deletingLastPathComponent().appendingPathComponent("holdpoint").path
        guard FileManager.default.isExecutableFile(atPath: holdpoint) else {
            print("scale: skipped, build the holdpoint binary first (swift build -c release)")
            return
        }
        // HOLDPOINT_SCALE_KEEP=DIR keeps the filled queues there, to measure them again.
        let keep = ProcessInfo.processInfo.environment["HOLDPOINT_SCALE_KEEP"]
        let root = keep.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory.appendingPathComponent("holdpoint-scale-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { if keep == nil { try? FileManager.default.removeItem(at: root) } }
        let emptyHook = try hookMedian(holdpoint, queue: root.appendingPathComponent("empty.sqlite").path)
        print("scale: hook claude-code (allowed read) on an empty queue: median \(format(emptyHook))")
        print("| requests | pending | fill | `list --state pending --json` | `audit verify` | console first frame | key press p50 / p99, 30 writes/s | console RSS | hook vs empty |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for size in sizes {
            let queue = root.appendingPathComponent("scale-\(size).sqlite").path
            let pending = min(size, pendingCap)
            let fillStart = now()
            try fill(queue: queue, size: size, pending: pending, bench: bench)
            let fillSeconds = Double(now() - fillStart) / 1e9

            let list = try measure(holdpoint, ["list", "--state", "pending", "--json", "--queue", queue])
            let verify = try measure(holdpoint, ["audit", "verify", "--queue", queue])
            let console = try runConsoleProbe(queue: queue, bench: bench)
            let hook = try hookMedian(holdpoint, queue: queue)
            print(
                "| \(size) | \(pending) | \(String(format: "%.0f/s", Double(size) / fillSeconds)) | \(format(list.wall)), \(mb(list.peakKB)) | \(format(verify.wall)), \(mb(verify.peakKB)) | \(console.firstFrame) | \(console.keys) | \(console.rss) | \(String(format: "%.2fx", hook / emptyHook)) |"
            )
            if keep == nil { try? FileManager.default.removeItem(atPath: queue) }
        }
    }

    // MARK: - Filling

    static func fill(queue: String, size: Int, pending: Int, bench: String) throws {
        _ = try QueueStore(path: queue)
        var children: [Process] = []
        for p in 0..<fillers {
            let count = size / fillers + (p < size % fillers ? 1 : 0)
            let gated = pending / fillers + (p < pending % fillers ? 1 : 0)
            let child = Process()
            child.executableURL = URL(fileURLWithPath: bench)
            child.arguments = ["scale-fill", queue, String(count), String(gated), "agent-\(p)"]
            child.standardOutput = FileHandle.nullDevice
            try child.run()
            children.append(child)
        }
        for child in children { child.waitUntilExit() }
    }

    /// One filler process: `gated` pending requests (a day to decide), then allowed ones.
    static func fillLoop(queue: String, count: Int, gated: Int, agent: String) throws {
        let store = try QueueStore(path: queue)
        let submitter = Identity(user: "bench-agent", via: "local")
        var patient = ApprovalRules()
        patient.timeouts[.gated] = 86_400
        let allowed = Classification(
            tier: .supervised, operationClass: .patch, reasons: [Reason(rule: "bench", message: "supervised", tier: .supervised)],
            destructive: false, irreversible: false, dataLoss: false)
        for i in 0..<count {
            let isGated = i < gated
            let request = try ActionRequest.shellCommand(
                isGated ? "rm -rf /srv/data/\(agent)-\(i)" : "sed -i s/a/b/ /srv/conf/\(agent)-\(i)",
                environment: "production", agentID: agent, mode: .supervised)
            _ = try store.submit(request, classification: isGated ? gatedForBenchmark : allowed, approvals: patient, submitter: submitter)
        }
    }

    // MARK: - Processes

    struct Measured {
        var wall: Double
        var peakKB: Int
    }

    static func measure(_ binary: String, _ arguments: [String]) throws -> Measured {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        let t0 = now()
        try process.run()
        var status: Int32 = 0
        var usage = rusage()
        wait4(process.processIdentifier, &status, 0, &usage)
        return Measured(wall: Double(now() - t0), peakKB: usage.ru_maxrss)
    }

    static func hookMedian(_ holdpoint: String, queue: String) throws -> Double {
        var environment = ProcessInfo.processInfo.environment
        environment["HOLDPOINT_QUEUE"] = queue
        environment["HOLDPOINT_POLICY"] = nil
        let read = #"{"session_id":"bench","cwd":"/tmp","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls -la"},"tool_use_id":"t"}"#
        var runs: [UInt64] = []
        for round in 0..<35 {
            let run = try HookBenchmark.spawn(holdpoint, ["hook", "claude-code"], input: read, environment: environment)
            if round >= 5 { runs.append(run.wallNanoseconds) }
        }
        return Stats(runs).percentile(0.5)
    }

    static func mb(_ kilobytes: Int) -> String { String(format: "%.0f MB", Double(kilobytes) / 1024) }

    // MARK: - The console

    struct ConsoleFigures {
        var firstFrame: String
        var keys: String
        var rss: String
    }

    /// Runs the console probe in its own process while a writer submits 30 requests a second.
    static func runConsoleProbe(queue: String, bench: String) throws -> ConsoleFigures {
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: bench)
        writer.arguments = ["scale-writer", queue, "30", "12"]
        writer.standardOutput = FileHandle.nullDevice
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: bench)
        probe.arguments = ["scale-console", queue, "10"]
        let pipe = Pipe()
        probe.standardOutput = pipe
        try probe.run()
        try writer.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        probe.waitUntilExit()
        writer.terminate()
        writer.waitUntilExit()
        let fields = output.split(separator: "\t").map(String.init)
        guard fields.count == 3 else { return ConsoleFigures(firstFrame: "?", keys: "?", rss: "?") }
        return ConsoleFigures(firstFrame: fields[0], keys: fields[1], rss: fields[2].trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Submits `rate` allowed requests a second for `seconds` (hooks writing).
    static func writerLoop(queue: String, rate: Double, seconds: Double) throws {
        let store = try QueueStore(path: queue)
        let allowed = Classification(tier: .supervised, operationClass: .patch, reasons: [], destructive: false, irreversible: false, dataLoss: false)
        let start = Clock.now()
        var i = 0
        while Clock.now() - start < seconds {
            let request = try ActionRequest.shellCommand("sed -i s/x/y/ /srv/live-\(i)", environment: "production", agentID: "writer", mode: .supervised)
            _ = try store.submit(request, classification: allowed, approvals: ApprovalRules(), submitter: Identity(user: "agent", via: "local"))
            i += 1
            let next = start + Double(i) / rate
            let wait = next - Clock.now()
            if wait > 0 { usleep(UInt32(wait * 1_000_000)) }
        }
    }

    /// What `holdpoint review` does, minus ncurses: the first frame, then for `seconds` a key
    /// every 100 ms, each timed from the key to the new frame's changed rows, taking in first
    /// whatever the queue's wake-ups brought (as the runtime does before it reads keys).
    /// Prints "first frame<TAB>key p50 / p99<TAB>peak RSS".
    static func consoleProbe(queue: String, seconds: Double) throws {
        let t0 = now()
        let store = try QueueStore(path: queue)
        let watch = QueueWatch(queuePath: queue)
        let mirror = QueueMirror(source: StoreSource(store: store))
        var state = ConsoleState(queueName: "scale", reviewer: Identity(user: "bench", via: "local"), width: 120, height: 40, now: Clock.now())
        _ = update(&state, .snapshot(try mirror.snapshot(now: Clock.now())))
        var previous = render(state)
        let firstFrame = Double(now() - t0)
        var samples: [UInt64] = []
        let end = Clock.now() + seconds
        var nextKey = Clock.now()
        while Clock.now() < end {
            nextKey += 0.1
            let gap = nextKey - Clock.now()
            if gap > 0 { usleep(UInt32(gap * 1_000_000)) }
            let key = now()
            // What landed since the last key (about three commits at 30/s) is taken in first.
            if watch?.drain() ?? true {
                _ = update(&state, .snapshot(try mirror.snapshot(now: Clock.now())))
            }
            _ = update(&state, .tick(now: Clock.now()))
            _ = update(&state, .key(.char(samples.count % 20 < 10 ? "j" : "k")))
            let grid = render(state)
            _ = grid.changedRows(since: previous)
            previous = grid
            samples.append(now() - key)
        }
        let stats = Stats(samples)
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        print("\(format(firstFrame))\t\(format(stats.percentile(0.5))) / \(format(stats.percentile(0.99)))\t\(mb(usage.ru_maxrss))")
    }
}

/// `holdpoint-bench retention`: does the queue stop growing once the retention window is
/// full? Simulates `days` days of `perDay` requests a day (half gated and decided, half
/// allowed) on the queue's own clock, archiving once a day with `archive_after` of
/// `keepDays` days as `serve` does, and prints the live requests and the queue's size on disk.
enum RetentionBenchmark {
    static func run(days: Int = 20, perDay: Int = 2_000, keepDays: Int = 5) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("holdpoint-retention-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let queue = root.appendingPathComponent("queue.sqlite").path
        let store = try QueueStore(path: queue)
        let agent = Identity(user: "agent", via: "local")
        let reviewer = Identity(user: "reviewer", via: "local")
        let allowed = Classification(tier: .supervised, operationClass: .patch, reasons: [], destructive: false, irreversible: false, dataLoss: false)
        let day = 86_400.0
        let start = Clock.now() - Double(days) * day
        print("retention: \(perDay) requests a day, archive_after \(keepDays)d, archived daily")
        print("| day | live requests | queue file + log | archived so far | archive run |")
        print("| --- | --- | --- | --- | --- |")
        var archived = 0
        for d in 0..<days {
            for i in 0..<perDay {
                let now = start + Double(d) * day + Double(i) * (day / Double(perDay))
                let gated = i % 2 == 0
                let request = try ActionRequest.shellCommand(
                    gated ? "rm -rf /srv/d\(d)-\(i)" : "sed -i s/a/b/ /srv/d\(d)-\(i)",
                    environment: "production", agentID: "agent-\(i % 8)", mode: .supervised)
                let stored = try store.submit(request, classification: gated ? gatedForBenchmark : allowed, approvals: ApprovalRules(), submitter: agent, now: now)
                if gated { _ = try store.decide(id: stored.id, verdict: i % 4 == 0 ? .approve : .reject, reviewer: reviewer, reason: "bench", now: now + 1) }
            }
            let endOfDay = start + Double(d + 1) * day
            let t0 = now()
            let report = try store.archive(
                before: endOfDay - Double(keepDays) * day, to: root.appendingPathComponent("segment-\(d).sqlite").path,
                by: Identity(user: "holdpoint", via: "retention"), now: endOfDay)
            let took = Double(now() - t0)
            archived += report?.requests ?? 0
            if (d + 1) % 2 == 0 || d == days - 1 {
                let live = try store.list(RequestFilter(limit: nil)).count
                print("| \(d + 1) | \(live) | \(String(format: "%.1f MB", Double(size(queue) + size(queue + "-wal")) / 1_048_576)) | \(archived) | \(report == nil ? "nothing" : format(took)) |")
            }
        }
        let verify = try store.verifyAudit()
        print("audit verify over \(verify.entries) entries in \(try store.archiveSegments().count) segments and the live log: \(verify.intact ? "intact" : "NOT intact: \(verify.problem ?? "")")")
    }

    static func size(_ path: String) -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : 0
    }
}

// holdpoint-bench: prints the speed figures the issues ask for. Run in release:
//   swift run -c release holdpoint-bench [classify|check-process|hook-process|queue|serve|console|all]
//   swift run -c release holdpoint-bench scale [SIZE…]   (default 1000 10000 100000)
//   swift run -c release holdpoint-bench retention
//   HOLDPOINT_BENCH_POSTGRES=postgres://… swift run -c release holdpoint-bench fleet
import Foundation
import HoldpointCore
import HoldpointStore

/// Latency statistics over a sample of nanosecond timings.
struct Stats {
    let sorted: [UInt64]

    init(_ samples: [UInt64]) { sorted = samples.sorted() }

    func percentile(_ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let index = min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.down)))
        return Double(sorted[index])
    }

    var mean: Double { sorted.isEmpty ? 0 : Double(sorted.reduce(0, +)) / Double(sorted.count) }
}

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

func format(_ nanoseconds: Double) -> String {
    if nanoseconds >= 1_000_000 { return String(format: "%.2f ms", nanoseconds / 1_000_000) }
    if nanoseconds >= 1_000 { return String(format: "%.2f us", nanoseconds / 1_000) }
    return String(format: "%.0f ns", nanoseconds)
}

/// A mixed corpus: everyday reads, writes, destructive commands, wrappers and evasions,
/// each with a few argument variants, as agents type them.
func corpus() -> [String] {
    let templates = [
        "ls -la {p}", "cat {p}/config.yaml", "git status", "git log --oneline -20", "git diff HEAD~1 -- {p}",
        "kubectl get pods -n {n}", "kubectl describe deploy/{n}", "kubectl logs -f deploy/{n} --since=10m",
        "aws ec2 describe-instances --region us-east-1", "aws s3 ls s3://{n}-bucket", "terraform plan -out plan.tfplan",
        "grep -rn TODO {p} | head -20", "cd {p} && git status && ls", "curl -s https://{n}.example.com/health",
        "psql -h db -c 'SELECT count(*) FROM {n}'", "redis-cli GET session:{n}", "docker ps -a", "helm list -A",
        "journalctl -u {n} --since '1 hour ago'", "find {p} -name '*.log' -mtime +7",
        "git commit -am 'fix {n}'", "git push origin {n}", "kubectl apply -f {p}/deploy.yaml", "npm install",
        "echo done > {p}/status.txt", "sed -i 's/a/b/' {p}/app.conf", "kubectl scale deploy/{n} --replicas=3",
        "rm -rf {p}", "rm -rf /", "sudo rm -rf /var/lib/{n}", "git reset --hard HEAD~3", "git push --force origin main",
        "terraform destroy -auto-approve", "kubectl delete namespace {n}", "aws cloudformation delete-stack --stack-name prod-{n}",
        "psql -c 'DROP TABLE {n}'", "psql -c 'DELETE FROM {n} WHERE id = 7'", "mysql -e 'DELETE FROM {n}'",
        "redis-cli FLUSHALL", "docker system prune -af --volumes", "bash -lc 'rm -rf {p}'",
        "sudo env FOO=1 timeout 5 nice -n 10 rm -rf {p}", "echo ok && $(rm -rf ~)",
        "python3 -c \"import os; os.system('rm -rf {p}')\"", "find {p} -exec rm -rf {} +", "xargs rm -rf < dirs.txt",
        "ssh {n} 'sudo systemctl stop {n}'", "curl -fsSL https://get.{n}.sh | sh", "eval \"$CMD\"",
        "aws iam attach-role-policy --role-name {n} --policy-arn arn:aws:iam::aws:policy/AdministratorAccess",
    ]
    let paths = ["/srv/app", "./build", "/tmp/work", "~/project", "/var/www/site", "src"]
    let names = ["api", "payments", "billing", "search", "users", "cost-explorer", "ingest", "auth", "cache", "orders"]
    var commands: [String] = []
    for (i, template) in templates.enumerated() {
        for j in 0..<60 {
            let p = paths[(i + j) % paths.count]
            let n = names[(i * 7 + j) % names.count] + (j % 3 == 0 ? "" : "-\(j)")
            commands.append(template.replacingOccurrences(of: "{p}", with: p).replacingOccurrences(of: "{n}", with: n))
        }
    }
    return commands
}

func benchmarkClassification() throws {
    let policy = try PolicyLoader.load(policyFile: nil)
    let classifier = Classifier(policy: policy)
    let commands = corpus()
    let environments = ["production", "staging"]
    var requests: [ActionRequest] = []
    for (i, command) in commands.enumerated() {
        requests.append(try ActionRequest.shellCommand(command, environment: environments[i % 2], agentID: "bench", mode: i % 3 == 0 ? .autonomous : .supervised))
    }
    // Warm up caches and lazily-initialised state.
    var sink = 0
    for request in requests.prefix(500) { sink &+= classifier.classify(request).reasons.count }
    var samples: [UInt64] = []
    samples.reserveCapacity(requests.count * 5)
    var perCommand = [UInt64](repeating: .max, count: requests.count)
    let start = now()
    for _ in 0..<5 {
        for (i, request) in requests.enumerated() {
            let t0 = now()
            let result = classifier.classify(request)
            let elapsed = now() - t0
            samples.append(elapsed)
            perCommand[i] = min(perCommand[i], elapsed)
            sink &+= result.reasons.count
        }
    }
    let elapsed = Double(now() - start)
    let stats = Stats(samples)
    var tiers: [Tier: Int] = [:]
    for request in requests { tiers[classifier.classify(request).tier, default: 0] += 1 }
    print("classification: \(commands.count) distinct commands x 5 rounds = \(samples.count) evaluations (\(policy.rules.ruleCount) rules in \(policy.rules.packs.count) packs)")
    print("  tiers in corpus: " + Tier.allCases.map { "\($0.rawValue) \(tiers[$0] ?? 0)" }.joined(separator: ", "))
    print(
        "  p50 \(format(stats.percentile(0.5)))   p90 \(format(stats.percentile(0.9)))   p99 \(format(stats.percentile(0.99)))   max \(format(Double(stats.sorted.last ?? 0)))   mean \(format(stats.mean))"
    )
    print(String(format: "  throughput %.0f evaluations/s (one core)", Double(samples.count) / (elapsed / 1e9)))
    print("  targets: p50 <= 2.85 us (1.5x the 1.9 us before the red-team coverage of issue 12), p99 <= 10 us   [sink \(sink % 10)]")
    // Where the tail comes from: the commands whose best time of the five rounds is longest.
    let slowest = perCommand.indices.sorted { perCommand[$0] > perCommand[$1] }.prefix(5)
    print("  slowest (best of 5): " + slowest.map { "\(format(Double(perCommand[$0]))) \(commands[$0])" }.joined(separator: " | "))
}

/// Hostile command lines up to the 1 MiB request limit: each must classify in bounded time
/// (target: under 10 ms worst case) and get an answer (RedTeamTests asserts the answers).
/// Each is timed twice: as a pure function of the request, and with self-protection as
/// `check`, a hook and the daemon run it (a real queue's files to compare every word with,
/// each word looked up in the file system, scripts the line runs read).
func benchmarkAdversarial() throws {
    let policy = try PolicyLoader.load(policyFile: nil)
    let classifier = Classifier(policy: policy)
    let state = NSTemporaryDirectory() + "hp-adversarial-\(getpid())"
    try FileManager.default.createDirectory(atPath: state + "/project", withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: state) }
    for file in ["queue.sqlite", "queue.sqlite.audit-key", "queue.sqlite.audit-head"] {
        _ = FileManager.default.createFile(atPath: state + "/" + file, contents: Data("x".utf8))
    }
    // A script a line may run many times: 256 KiB, the most of one file that is read.
    try String(repeating: "echo ok\n", count: 32 * 1024).write(toFile: state + "/project/build.sh", atomically: true, encoding: .utf8)
    let queue = state + "/queue.sqlite"
    let protection = SelfProtection(
        protectedFiles: [queue, queue + "-wal", queue + "-shm", queue + ".audit-head"], secretFiles: [queue + ".audit-key"],
        protectedDirectories: [state + "/state"], binaryPath: CommandLine.arguments.first, homeDirectory: state, workingDirectory: state + "/project",
        inspectFiles: true)
    let protectedClassifier = Classifier(policy: policy, protection: protection)
    let shapes: [(String, String)] = [
        ("ls with 40,000 arguments", "ls " + (0..<40_000).map { "f\($0)" }.joined(separator: " ")),
        ("sudo nested 2,000 deep", String(repeating: "sudo ", count: 2_000) + "ls"),
        ("40,000 distinct programs", (0..<40_000).map { "prog\($0) x" }.joined(separator: " ; ")),
        ("50,000-stage pipeline", (0..<50_000).map { _ in "cat" }.joined(separator: " | ")),
        ("command substitutions 500 deep", "echo " + String(repeating: "$(", count: 500) + "ls" + String(repeating: ")", count: 500)),
        ("parameter expansions 20,000 wide", (0..<20_000).map { "${V\($0):-x}" }.joined(separator: " ")),
        ("one 1 MB word", "echo " + String(repeating: "a", count: 1_000_000)),
        ("40,000 redirections", "cat " + (0..<40_000).map { "> f\($0)" }.joined(separator: " ")),
        ("20,000 env assignments", (0..<20_000).map { "V\($0)=x" }.joined(separator: " ") + " ls"),
        ("quotes 100,000 deep", "echo " + String(repeating: "\"'", count: 100_000)),
        ("PowerShell: 100,000 keywords", "pwsh -c '" + String(repeating: "if ", count: 100_000) + "Get-Date'"),
        ("PowerShell: 50,000 statements", "pwsh -c '" + Array(repeating: "Get-Item x", count: 50_000).joined(separator: "; ") + "'"),
        ("PowerShell: subexpressions 5,000 deep", "pwsh -c '" + String(repeating: "\"$(", count: 5_000) + "ls" + String(repeating: ")\"", count: 5_000) + "'"),
        ("cd 40,000 times, then a relative path", String(repeating: "cd a; ", count: 40_000) + "cat shadow"),
        ("echo of 40,000 variables", "echo " + (0..<40_000).map { "\"$TOKEN_\($0)\"" }.joined(separator: " ")),
        ("one-liner of 60 KiB reading the environment 3,300 times", "python3 -c \"" + (0..<3_300).map { "os.environ['K\($0)']" }.joined(separator: ";") + "\""),
        ("one-liner reading the environment 40,000 times", "python3 -c \"" + (0..<40_000).map { "os.environ['K\($0)']" }.joined(separator: ";") + "\""),
        ("parallel with 40,000 arguments", "parallel rm ::: " + (0..<40_000).map { "f\($0)" }.joined(separator: " ")),
        ("40,000 path patterns", "cat " + (0..<40_000).map { "/x\($0)*/y?/z[ab]" }.joined(separator: " ")),
        ("64 path patterns of 4,000 segments", "cat " + (0..<64).map { _ in String(repeating: "/*.s?", count: 4_000) }.joined(separator: " ")),
        ("20,000 variables set to paths and read", (0..<20_000).map { "f\($0)=/srv/x\($0); cat $f\($0)" }.joined(separator: "; ")),
        ("30,000 absolute paths", "ls " + (0..<30_000).map { "/srv/app/data/f\($0)/x.txt" }.joined(separator: " ")),
        ("a 256 KiB script run 2,000 times", Array(repeating: "sh build.sh", count: 2_000).joined(separator: "; ")),
    ]
    var worst: (String, UInt64) = ("", 0)
    var worstProtected: (String, UInt64) = ("", 0)
    func best(_ classifier: Classifier, _ request: ActionRequest) -> (UInt64, Tier) {
        var best = UInt64.max
        var tier = Tier.autonomous
        for _ in 0..<3 {
            let t0 = now()
            tier = classifier.classify(request).tier
            best = min(best, now() - t0)
        }
        return (best, tier)
    }
    for (label, line) in shapes {
        var request = try ActionRequest.shellCommand(String(line.prefix(ActionRequest.maximumSize - 200)), environment: "production", agentID: "bench", mode: .autonomous)
        request.workingDirectory = state + "/project"
        let (pure, tier) = best(classifier, request)
        let (protected, protectedTier) = best(protectedClassifier, request)
        if pure > worst.1 { worst = (label, pure) }
        if protected > worstProtected.1 { worstProtected = (label, protected) }
        print(
            "adversarial: \(label) (\(line.utf8.count / 1024) KiB): \(format(Double(pure))) → \(tier.rawValue);"
                + " with self-protection \(format(Double(protected))) → \(protectedTier.rawValue)")
    }
    print("adversarial: worst \(format(Double(worst.1))) (\(worst.0)); with self-protection \(format(Double(worstProtected.1))) (\(worstProtected.0))   target: < 10 ms each")

    // What is stored and shown is redacted first, every request: texts of the request
    // limit, made of what the built-in patterns are tried at.
    let redactor = Redactor()
    let texts: [(String, String)] = [
        ("40,000 token= values", (0..<40_000).map { "token=v\($0)" }.joined(separator: " ")),
        ("140,000 bearer words", String(repeating: "bearer ", count: 140_000)),
        ("a JWT prefix 300,000 times", String(repeating: "eyJ", count: 300_000)),
        ("a JWT prefix after - 250,000 times", String(repeating: "-eyJ", count: 250_000)),
        ("a URL scheme of 1 MB", String(repeating: "a", count: 1_000_000) + "://x"),
        ("80,000 private-key headers", String(repeating: "-----BEGIN A", count: 80_000)),
        ("1 MB without a secret", String(repeating: "ls -la /srv ", count: 80_000)),
    ]
    var worstRedaction: (String, UInt64) = ("", 0)
    for (label, text) in texts {
        var best = UInt64.max
        var markers = 0
        for _ in 0..<3 {
            let t0 = now()
            let out = redactor.redact(text)
            best = min(best, now() - t0)
            markers = out.components(separatedBy: "‹redacted:").count - 1
        }
        if best > worstRedaction.1 { worstRedaction = (label, best) }
        print("adversarial: redaction of \(label) (\(text.utf8.count / 1024) KiB): \(format(Double(best))) → \(markers) redacted")
    }
    print("adversarial: redaction worst \(format(Double(worstRedaction.1))) (\(worstRedaction.0))")
}

/// Runs `holdpoint check --command …` as whole processes and reports the median wall time.
func benchmarkCheckProcess() throws {
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("holdpoint")
    guard FileManager.default.isExecutableFile(atPath: binary.path) else {
        print("check-process: skipped, build the holdpoint binary first (swift build -c release)")
        return
    }
    let commands = ["ls -la", "git status", "rm -rf /", "kubectl delete namespace payments", "psql -c 'SELECT 1'"]
    var environment = ProcessInfo.processInfo.environment
    environment["HOLDPOINT_POLICY"] = nil
    var runs: [HookBenchmark.Run] = []
    for round in 0..<60 {
        let run = try HookBenchmark.spawn(binary.path, ["check", "--command", commands[round % commands.count]], input: "", environment: environment)
        if round >= 5 { runs.append(run) }  // the first runs warm the page cache
    }
    let stats = Stats(runs.map(\.wallNanoseconds))
    let peak = try HookBenchmark.peakRSS(binary.path, ["check", "--command", "ls -la"], input: "", environment: environment)
    print(
        "holdpoint check --command (whole process, \(runs.count) runs): median \(format(stats.percentile(0.5)))   p90 \(format(stats.percentile(0.9)))   peak RSS \(HookBenchmark.megabytes(peak))   target: median <= 5 ms"
    )
}

/// Loading the built-in policy and packs: paid once per process. The compiled built-ins are
/// what every command uses; the same data from its YAML (what `HOLDPOINT_DATA_DIR` loads) is
/// shown beside them when this checkout's YAML is at hand.
func benchmarkPolicyLoad() throws {
    func measure(_ label: String, _ load: () throws -> Policy) throws {
        var samples: [UInt64] = []
        for _ in 0..<30 {
            let t0 = now()
            _ = try load()
            samples.append(now() - t0)
        }
        let stats = Stats(samples)
        print("policy load, \(label) (in process): median \(format(stats.percentile(0.5)))   p90 \(format(stats.percentile(0.9)))")
    }
    try measure("compiled built-ins") { try PolicyLoader.load(policyFile: nil, environment: [:]) }
    let yaml = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("HoldpointCore/Resources")
    if FileManager.default.fileExists(atPath: yaml.appendingPathComponent("default-policy.yaml").path) {
        try measure("the same from YAML") { try PolicyLoader.load(policyFile: nil, dataDirectory: yaml) }
    }
}

let mode = CommandLine.arguments.dropFirst().first ?? "all"
let args = Array(CommandLine.arguments.dropFirst(2))
do {
    // Workloads used by the tests and the queue benchmark, one per process.
    if mode == "scale-fill", args.count == 4, let count = Int(args[1]), let gated = Int(args[2]) {
        try ScaleBenchmark.fillLoop(queue: args[0], count: count, gated: gated, agent: args[3])
        exit(0)
    }
    if mode == "scale-writer", args.count == 3, let rate = Double(args[1]), let seconds = Double(args[2]) {
        try ScaleBenchmark.writerLoop(queue: args[0], rate: rate, seconds: seconds)
        exit(0)
    }
    if mode == "scale-console", args.count == 2, let seconds = Double(args[1]) {
        try ScaleBenchmark.consoleProbe(queue: args[0], seconds: seconds)
        exit(0)
    }
    if mode == "retention" {
        try RetentionBenchmark.run()
        exit(0)
    }
    if mode == "scale" {
        let sizes = args.compactMap { Int($0) }
        try ScaleBenchmark.run(sizes: sizes.isEmpty ? [1_000, 10_000, 100_000] : sizes, bench: CommandLine.arguments[0])
        exit(0)
    }
    if mode == "serve-submit-loop", args.count == 4, let count = Int(args[1]) {
        try ServeBenchmark.submitLoop(socket: args[0], count: count, agent: args[2], startSignal: args[3])
        exit(0)
    }
    if mode == "serve" || mode == "all" { try ServeBenchmark.run(binary: CommandLine.arguments[0]) }
    if mode == "fleet" { try FleetBenchmark.run(binary: CommandLine.arguments[0]) }
    if mode == "console" || mode == "all" { try ConsoleBenchmark.run() }
    if mode == "queue" || mode == "all" { try QueueBenchmark.run(binary: CommandLine.arguments[0]) }
    if mode == "verify" { try QueueBenchmark.runVerify() }
    if mode == "policy-load" || mode == "all" { try benchmarkPolicyLoad() }
    if mode == "classify" || mode == "all" { try benchmarkClassification() }
    if mode == "adversarial" || mode == "all" { try benchmarkAdversarial() }
    if mode == "check-process" || mode == "all" { try benchmarkCheckProcess() }
    if mode == "hook-process" || mode == "all" {
        try HookBenchmark.run(binaryDirectory: URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
    }
} catch {
    FileHandle.standardError.write(Data("holdpoint-bench: \(error)\n".utf8))
    exit(1)
}

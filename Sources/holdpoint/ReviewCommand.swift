import ArgumentParser
import Foundation
import HoldpointConsole
import HoldpointCore
import HoldpointGate
import HoldpointRPC
import HoldpointStore
import HoldpointTerminal

/// Adapts a `QueueService` (the file, or the daemon) to what the console needs.
struct ServiceReviewBackend: ReviewBackend {
    let service: any QueueService
    let mirror: QueueMirror

    init(service: any QueueService) {
        self.service = service
        mirror = QueueMirror(source: ServiceReviewSource(service: service))
    }

    func snapshot(now: Double) throws -> ReviewSnapshot { try mirror.snapshot(now: now) }

    func changeToken() throws -> Int64 { try service.changeCounter() }

    func decide(id: String, verdict: Verdict, reason: String) throws -> DecideResult {
        try service.decide(id: id, verdict: verdict, reason: reason)
    }

    func halt(agent: String, reason: String) throws -> Int { try service.halt(agent: agent, reason: reason) }
    func resume(agent: String) throws -> Bool { try service.resume(agent: agent) }
    func history(id: String) throws -> [AuditEntry] { try service.auditEntries(afterSeq: 0, requestID: id, limit: nil) }

    /// Through the daemon, a connection it writes to on every commit; on the file, the
    /// kernel's word that the file was written (`QueueWatch`), where it can give it.
    func openChangeFeed() -> Int32? {
        if let daemon = service as? DaemonClient { return try? daemon.openChangeFeed() }
        if let local = service as? LocalQueue, let watch = QueueWatch(queuePath: local.store.path) {
            let feed = dup(watch.fileDescriptor)
            return feed >= 0 ? feed : nil
        }
        return nil
    }
}

/// A `QueueService` as the console's mirror reads it.
struct ServiceReviewSource: ReviewSource {
    let service: any QueueService

    func changeCounter() throws(StoreError) -> Int64 { try service.changeCounter() }
    func auditEntries(afterSeq: Int64, requestID: String?, limit: Int?) throws(StoreError) -> [AuditEntry] {
        try service.auditEntries(afterSeq: afterSeq, requestID: requestID, limit: limit)
    }
    func request(id: String) throws(StoreError) -> StoredRequest? { try service.request(id: id) }
    func list(_ filter: RequestFilter) throws(StoreError) -> [StoredRequest] { try service.list(filter) }
    func establishedActions() throws(StoreError) -> Set<String> { try service.establishedActions() }
    func halts() throws(StoreError) -> [QueueStore.Halt] { try service.halts() }
}

/// Options shared by `review` and `demo`.
struct ConsoleOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Theme name (dark, light, high-contrast, monochrome) or a theme file. Env: HOLDPOINT_THEME.", valueName: "name|path"))
    var theme: String?

    @Flag(name: .customLong("no-bell"), help: "Do not ring the terminal bell when a new gated request arrives. Env: HOLDPOINT_BELL=0.")
    var noBell = false

    @Flag(name: .customLong("utc"), help: "Show times in UTC instead of this machine's local time zone (TZ).")
    var utc = false

    /// The zone the console shows times in.
    var timeZone: TimeZone { utc ? .gmt : .current }

    var bellEnabled: Bool { !noBell && ProcessInfo.processInfo.environment["HOLDPOINT_BELL"] != "0" }

    /// The theme, or exit 78 naming the file, line and key that is wrong.
    func loadTheme() throws -> Theme {
        let requested = theme ?? ProcessInfo.processInfo.environment["HOLDPOINT_THEME"].flatMap { $0.isEmpty ? nil : $0 }
        guard let path = ThemeLocator.path(for: requested ?? "dark") else {
            if let requested {
                Terminal.error("no theme named '\(requested)' (looked in \(ThemeLocator.directories().joined(separator: ", ")))")
                throw ExitCode(ExitCodes.configuration)
            }
            return .fallback
        }
        do {
            return try Theme.load(path: path)
        } catch {
            Terminal.error("invalid theme:\n\(error.description)")
            throw ExitCode(ExitCodes.configuration)
        }
    }

    var useColor: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["NO_COLOR"] == nil && env["TERM"] != "dumb"
    }

    func requireTerminal() throws {
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
            Terminal.error("the review console needs a terminal (use `holdpoint list` and `holdpoint decide` from scripts)")
            throw ExitCode(ExitCodes.usage)
        }
        if let problem = NcursesScreen.terminalProblem() {
            Terminal.error(problem)
            throw ExitCode(ExitCodes.usage)
        }
    }
}

/// Where theme files are found: `HOLDPOINT_THEMES`, ./themes, a themes/ folder above the
/// binary (the repository, for `swift run`), ~/.config/holdpoint/themes.
enum ThemeLocator {
    static func directories() -> [String] {
        var dirs: [String] = []
        let env = ProcessInfo.processInfo.environment
        if let custom = env["HOLDPOINT_THEMES"], !custom.isEmpty { dirs.append(custom) }
        dirs.append(FileManager.default.currentDirectoryPath + "/themes")
        if var dir = Bundle.main.executableURL?.resolvingSymlinksInPath().deletingLastPathComponent() {
            for _ in 0..<5 {
                dirs.append(dir.appendingPathComponent("themes").path)
                dir.deleteLastPathComponent()
            }
        }
        if let home = env["HOME"] { dirs.append(home + "/.config/holdpoint/themes") }
        return dirs
    }

    static func path(for nameOrPath: String) -> String? {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".yaml") {
            return FileManager.default.fileExists(atPath: nameOrPath) ? nameOrPath : nil
        }
        for dir in directories() {
            let candidate = "\(dir)/\(nameOrPath).yaml"
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
        }
        return nil
    }
}

struct Review: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "review",
        abstract: "The review console: triage and decide pending gated actions by keyboard.",
        discussion:
            "Keys: j/k move, n/N next/previous waiting, Tab switch pane, Enter open, z zoom, < > move the split, a approve (Tab: add a note), r reject, R reject the whole run, H halt/resume agent, y/Y copy command/id, / filter, t tier filter, ? help, q quit."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var console: ConsoleOptions

    @Option(name: .long, help: ArgumentHelp("Open on this request (the command a notification carries).", valueName: "id"))
    var select: String?

    func run() throws {
        if let select, !RequestID.isValid(select) {
            Terminal.error("--select: '\(SafeText.escape(select))' is not a request id")
            throw ExitCode(ExitCodes.usage)
        }
        try console.requireTerminal()
        let theme = try console.loadTheme()
        let service = try global.service()
        // Through the daemon, the identity is the one the kernel gave it, not this process's say.
        let reviewer = try queueCall { () throws(StoreError) in try service.whoAmI() }
        var state = ConsoleState(queueName: global.settings.socketPath.map { "socket \($0)" } ?? global.queuePath, reviewer: reviewer, width: 80, height: 24, now: Clock.now())
        state.bellEnabled = console.bellEnabled
        if let select { state.selectedID = select }
        state.timeZone = console.timeZone
        // The policy only decides which environments look like production here and the
        // fatigue guards; a reviewer whose policy does not load still gets the console, with
        // the built-in names and guards. Through the daemon, its policy's.
        if let daemon = service as? DaemonClient {
            if let settings = try? daemon.consoleSettings() {
                state.productionEnvironments = settings.productionEnvironments
                state.guards = AttentionGuards(settings.approvals)
            }
        } else if let policy = try? PolicyLoader.load(policyFile: global.policyPath) {
            state.productionEnvironments = policy.productionEnvironments
            state.guards = AttentionGuards(policy.approvals)
        }
        let status = ConsoleRuntime.run(backend: ServiceReviewBackend(service: service), initial: state, theme: theme, useColor: console.useColor && theme.name != "monochrome")
        throw ExitCode(status)
    }
}

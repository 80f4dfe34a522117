import Foundation
import HoldpointCore
import Testing

/// A detached tmux session running a command, driven like a person would: send-keys and
/// capture-pane. Each session has its own tmux server socket, so tests do not collide.
final class TmuxSession {
    let socket = "hp-\(UUID().uuidString.prefix(8))"
    let name = "t"

    init(_ command: String, width: Int = 120, height: Int = 40, environment: [String: String] = [:]) throws {
        let exports = environment.map { "\($0.key)=\(ShellQuote.quote($0.value))" }.joined(separator: " ")
        // The command's exit status stays on screen afterwards, so tests can check it.
        let script = "env \(exports) \(command); echo \"EXIT=$?\"; sleep 30"
        // The server this starts lives on: it must not inherit our pipes or our blocked
        // signal mask, and its client is reaped with waitpid (Foundation's Process missed it).
        let status = Spawn.run(TmuxSession.binary, ["-L", socket, "new-session", "-d", "-s", name, "-x", String(width), "-y", String(height), script])
        guard status == 0 else { throw TmuxError.cannotStart(status) }
    }

    enum TmuxError: Error { case cannotStart(Int32) }

    @discardableResult
    func tmux(_ arguments: [String]) throws -> String {
        let result = try CLI.run(["-L", socket] + arguments, executable: URL(fileURLWithPath: TmuxSession.binary))
        return result.stdout
    }

    static let binary: String = ["/usr/bin/tmux", "/usr/local/bin/tmux", "/bin/tmux"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/bin/tmux"

    func keys(_ keys: String...) throws { try tmux(["send-keys", "-t", name] + keys) }
    func type(_ text: String) throws { try tmux(["send-keys", "-t", name, "-l", "--", text]) }
    func screen() throws -> String { try tmux(["capture-pane", "-t", name, "-p"]) }
    func resize(_ width: Int, _ height: Int) throws { try tmux(["resize-window", "-t", name, "-x", String(width), "-y", String(height)]) }

    /// The screen once it shows `text` (up to `timeout` seconds), or the last screen.
    @discardableResult
    func waitFor(_ text: String, timeout: Double = 10) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var last = ""
        while Date() < deadline {
            last = try screen()
            if last.contains(text) { return last }
            usleep(100_000)
        }
        Issue.record("timed out waiting for \"\(text)\"; the screen was:\n\(last)")
        return last
    }

    deinit { _ = try? tmux(["kill-server"]) }
}

enum ShellQuote {
    static func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
}

@Suite(.serialized) struct ConsoleTmuxTests {
    static let me = QueueProcessTests.me

    func review(_ env: QueueEnv, width: Int = 120, height: Int = 40, extra: [String: String] = [:]) throws -> TmuxSession {
        var environment = env.environment
        environment["TERM"] = extra["TERM"] ?? "xterm-256color"
        for (k, v) in extra { environment[k] = v }
        environment["HOLDPOINT_BELL"] = "0"
        return try TmuxSession(
            "\(ShellQuote.quote(CLI.binary.path)) review --theme \(ShellQuote.quote(CLI.packageRoot.appendingPathComponent("themes/dark.yaml").path))",
            width: width, height: height, environment: environment)
    }

    /// A policy without the reading guard, for tests that type faster than a person reads.
    static let quickPolicy = "approvals:\n  allow_self_approval: true\n  min_read_time: 0\n"

    /// The console through a daemon's socket.
    func review(socket: String, width: Int = 120, height: Int = 40) throws -> TmuxSession {
        try TmuxSession(
            "\(ShellQuote.quote(CLI.binary.path)) review --socket \(ShellQuote.quote(socket)) --theme \(ShellQuote.quote(CLI.packageRoot.appendingPathComponent("themes/dark.yaml").path))",
            width: width, height: height, environment: ["TERM": "xterm-256color", "HOLDPOINT_BELL": "0"])
    }

    @Test func approveWithTypedConfirmationIsRecordedWithTheReviewersIdentity() throws {
        let env = try QueueEnv(policy: Self.quickPolicy)
        #expect(try env.run(["submit"], stdin: CheckCommandTests.costExplorer).status == 5)
        let session = try review(env)
        try session.waitFor("Gated — awaiting decision (1)")
        try session.keys("a")
        try session.waitFor("Type prod-cost-explorer-cn-north-1 to approve")
        try session.type("prod-cost-explorer")
        try session.keys("Enter")
        try session.waitFor("Type prod-cost-explorer-cn-north-1 exactly")
        #expect(try env.list(["--state", "pending"]).count == 1)  // a wrong name approves nothing
        try session.type("-cn-north-1")
        try session.keys("Enter")
        try session.waitFor("Approved")
        let approved = try #require(try env.list(["--state", "approved"]).first)
        #expect(approved["decision"]?["by"] == .string(Self.me))
        #expect(approved["action"]?["targets"] == .array([.string("prod-cost-explorer-cn-north-1")]))
        try session.keys("q")
        let screen = try session.waitFor("EXIT=0")
        #expect(!screen.contains("Holdpoint review"))  // the terminal is restored, not left in the console
    }

    @Test func rejectWithAReason() throws {
        let env = try QueueEnv()
        let r = try env.submit("git push --force origin main")
        let session = try review(env)
        try session.waitFor("git push --force")
        try session.keys("r")
        try session.waitFor("Reject \(r.id)")
        try session.keys("Enter")
        try session.waitFor("A rejection needs a reason")
        try session.type("use a revert commit instead")
        try session.keys("Enter")
        try session.waitFor("Rejected \(r.id)")
        let rejected = try #require(try env.list(["--state", "rejected"]).first)
        #expect(rejected["decision"]?["reason"] == .string("use a revert commit instead"))
        #expect(rejected["decision"]?["by"] == .string(Self.me))
    }

    @Test func theLosingReviewerSeesWhoWon() throws {
        let env = try QueueEnv()
        let r = try env.submit("kubectl create deployment web --image=nginx", agent: "ci")  // gated, not destructive: one key
        let session = try review(env)
        try session.waitFor("kubectl create")
        try session.keys("a")
        try session.waitFor("Approve \(r.id)?")
        // Someone else decides first, from another process: the open dialog closes by
        // itself and says who won, before this reviewer presses anything.
        #expect(try env.run(["decide", r.id, "reject", "--reason", "not during the freeze"]).status == 0)
        let screen = try session.waitFor("Already decided by \(Self.me) ")
        #expect(!screen.contains("Approve \(r.id)?"))
        #expect(screen.contains(": rejected"))
        #expect(try env.list().first?["state"] == .string("rejected"))
    }

    /// Approve, approve, approve: the cursor moves on by itself after each decision.
    @Test func approveNextApproveWithoutMovingTheCursor() throws {
        let env = try QueueEnv(policy: Self.quickPolicy)
        let ids = try (1...3).map { try env.submit("kubectl create deployment web-\($0) --image=nginx", agent: "ci").id }
        let session = try review(env)
        try session.waitFor("web-3")
        for id in ids {
            try session.keys("a")
            try session.waitFor("Approve \(id)?")
            try session.keys("y")
            try session.waitFor("Approved \(id)")
        }
        #expect(Set(try env.list(["--state", "approved"]).compactMap { $0["id"]?.stringValue }) == Set(ids))
        let title = try session.tmux(["display-message", "-p", "-t", session.name, "#{pane_title}"])
        #expect(title.hasPrefix("holdpoint review"))  // none waiting: no count in the title
    }

    /// The header at 80, 120 and 200 columns: the count, the clock and live; offline when
    /// the daemon goes away. The terminal title carries the count.
    @Test(.enabled(if: OSUsers.available, "needs root to run the daemon as its own user"))
    func theHeaderShowsTheCountAndLiveOrOfflineAtEveryWidth() throws {
        let served = try ServedQueue(policy: "approvals:\n  reviewers: [\"@hp-reviewers\", \"\(Self.me)\"]\n")
        defer { served.stop() }
        for n in 1...2 {
            let result = try CLI.run(["submit", "--socket", served.socket, "--command", "rm -rf /srv/cache-\(n)", "--agent", "bot"], environment: [:])
            #expect(result.status == 5)
        }
        let session = try review(socket: served.socket, width: 80, height: 24)
        for width in [80, 120, 200] {
            try session.resize(width, 30)
            let screen = try session.waitFor("● live")
            let header = screen.split(separator: "\n").first.map(String.init) ?? ""
            #expect(header.contains("2 waiting · next expiry"), "\(width): \(header)")
            #expect(header.hasSuffix("● live"), "\(width): \(header)")
            #expect(header.count <= width)
        }
        let title = try session.tmux(["display-message", "-p", "-t", session.name, "#{pane_title}"])
        #expect(title.hasPrefix("(2) holdpoint review"))
        served.kill9()
        let screen = try session.waitFor("○ OFFLINE")
        #expect(screen.split(separator: "\n").first?.hasSuffix("○ OFFLINE") == true)
    }

    /// The reading guard, end to end: with a long minimum, typing the name is not enough.
    @Test func anIrreversibleActionCannotBeApprovedUnread() throws {
        let env = try QueueEnv(policy: "approvals:\n  allow_self_approval: true\n  min_read_time: 1h\n")
        #expect(try env.run(["submit"], stdin: CheckCommandTests.costExplorer).status == 5)
        let session = try review(env)
        try session.waitFor("Gated — awaiting decision (1)")
        try session.keys("a")
        try session.type("prod-cost-explorer-cn-north-1")
        try session.keys("Enter")
        try session.waitFor("Read it first: this cannot be undone")
        #expect(try env.list(["--state", "pending"]).count == 1)
    }

    /// Through the daemon the guards are the daemon's policy's: the client brings none.
    @Test(.enabled(if: OSUsers.available, "needs root to run the daemon as its own user"))
    func throughTheDaemonTheGuardsComeFromItsPolicy() throws {
        let served = try ServedQueue(policy: "approvals:\n  reviewers: [\"\(Self.me)\"]\n  min_read_time: 1h\n")
        defer { served.stop() }
        #expect(try CLI.run(["submit", "--socket", served.socket], stdin: Array(CheckCommandTests.costExplorer.utf8), environment: [:]).status == 5)
        let session = try review(socket: served.socket)
        try session.waitFor("Gated — awaiting decision (1)")
        try session.keys("a")
        try session.type("prod-cost-explorer-cn-north-1")
        try session.keys("Enter")
        try session.waitFor("Read it first: this cannot be undone; it can be approved in 36")
    }

    /// `y` puts the command on the clipboard through OSC 52 (tmux keeps it as a buffer).
    /// Ctrl-C restores the terminal and exits as a shell reports an interrupted process.
    @Test func ctrlCRestoresTheTerminalAndExits130() throws {
        let env = try QueueEnv()
        _ = try env.submit("helm uninstall payments")
        let session = try review(env)
        try session.waitFor("helm uninstall payments")
        try session.keys("C-c")
        let screen = try session.waitFor("EXIT=130")
        #expect(!screen.contains("Holdpoint review"))
    }

    @Test func yCopiesTheCommandThroughTheTerminal() throws {
        let env = try QueueEnv()
        _ = try env.submit("helm uninstall payments")
        let session = try review(env)
        try session.tmux(["set-option", "-g", "set-clipboard", "on"])
        try session.waitFor("helm uninstall payments")
        try session.keys("y")
        try session.waitFor("Copied the command")
        #expect(try session.tmux(["show-buffer"]) == "helm uninstall payments")
    }

    /// The ten-request drill of issue 13: approve 6 reversible, type the targets of 2
    /// irreversible, reject 2 with reasons, in list order, never pressing g or scrolling.
    /// It counts the keys a reviewer presses.
    @Test func theTenRequestDrill() throws {
        let env = try QueueEnv(policy: Self.quickPolicy)
        enum Step {
            case approve
            case confirm(String)
            case reject(String)
        }
        func irreversible(_ command: String, target: String) -> String {
            #"{"schema":"holdpoint.action/v1","agent":{"id":"ops","mode":"supervised"},"environment":"production","action":{"kind":"shell","command":"\#(command)","targets":["\#(target)"]},"impact":{"reversible":false}}"#
        }
        var plan: [(id: String, step: Step)] = []
        func reversible(_ n: Int) throws { plan.append((try env.submit("kubectl create deployment web-\(n) --image=nginx", agent: "ci").id, .approve)) }
        func confirm(_ command: String, _ target: String) throws {
            let result = try env.run(["submit", "--json"], stdin: irreversible(command, target: target))
            plan.append(((try JSONReader.parse(result.stdout))["id"]?.stringValue ?? "", .confirm(target)))
        }
        func reject(_ command: String, _ reason: String) throws { plan.append((try env.submit(command, agent: "bot").id, .reject(reason))) }
        try reversible(1)
        try reversible(2)
        try confirm("kubectl delete pvc data-postgres-0", "data-postgres-0")
        try reversible(3)
        try reject("git push --force origin main", "use a revert commit")
        try reversible(4)
        try confirm("rm -rf /srv/app/releases/2024-01", "/srv/app/releases/2024-01")
        try reversible(5)
        try reject("helm uninstall payments", "payments is live: needs a change ticket")
        try reversible(6)
        #expect(plan.count == 10 && plan.allSatisfy { !$0.id.isEmpty })
        #expect(try env.list(["--state", "pending"]).count == 10)  // all ten wait for a human

        let session = try review(env)
        try session.waitFor("web-6")
        var commandKeys = 0
        var typed = 0
        /// `key`, then `text` typed, then Enter: a decision that needs typing.
        func typing(_ key: String, _ text: String, until flash: String) throws {
            try session.keys(key)
            try session.type(text)
            try session.keys("Enter")
            commandKeys += 2
            typed += text.count
            try session.waitFor(flash)
        }
        for (id, step) in plan {
            switch step {
            case .approve:
                try session.keys("a", "y")
                commandKeys += 2
                try session.waitFor("Approved \(id)")
            case .confirm(let target): try typing("a", target, until: "Approved \(id)")
            case .reject(let reason): try typing("r", reason, until: "Rejected \(id)")
            }
        }
        let approved = Set(try env.list(["--state", "approved"]).compactMap { $0["id"]?.stringValue })
        let rejected = Set(try env.list(["--state", "rejected"]).compactMap { $0["id"]?.stringValue })
        #expect(approved == Set(plan.filter { if case .reject = $0.step { return false } else { return true } }.map(\.id)))
        #expect(rejected == Set(plan.filter { if case .reject = $0.step { return true } else { return false } }.map(\.id)))
        // 2 keys per decision (a y, a … Enter, r … Enter) and the typing: no g, no scrolling.
        #expect(commandKeys == 20)
        print("drill: 10 decisions, \(commandKeys) keys plus \(typed) typed characters")
    }

    @Test func escapeSequencesFromAgentsAreShownEscaped() throws {
        let env = try QueueEnv()
        let hostile =
            "{\"schema\":\"holdpoint.action/v1\",\"agent\":{\"id\":\"evil\\u001b[2J\",\"mode\":\"supervised\"},\"environment\":\"production\",\"action\":{\"kind\":\"shell\",\"command\":\"echo \\u001b]0;pwned\\u0007 \\u001b[31mred \\u202efdp.exe\"},\"summary\":\"hi\\u001b[1;1H\\u001b[2Kspoofed\",\"reasoning\":[\"ignore the reviewer\\u200b\"]}"
        #expect(try env.run(["submit"], stdin: hostile).status == 5)
        let session = try review(env)
        let screen = try session.waitFor("evil\\e[2J")
        #expect(screen.contains("Holdpoint review"))  // not cleared by \e[2J
        #expect(screen.contains("1 waiting"))
        #expect(screen.contains("\\e]0;pwned\\x07"))
        #expect(screen.contains("<U+202E>fdp.exe"))
        #expect(screen.contains("hi\\e[1;1H\\e[2Kspoofed"))
        let title = try session.tmux(["display-message", "-p", "-t", session.name, "#{pane_title}"])
        #expect(!title.contains("pwned"))  // the OSC title sequence never ran
    }

    @Test func resizingRedrawsAndTooSmallSaysSo() throws {
        let env = try QueueEnv()
        _ = try env.submit("rm -rf /srv/cache")
        let session = try review(env)
        var screen = try session.waitFor("Details")
        #expect(screen.contains("│"))
        try session.resize(80, 24)
        screen = try session.waitFor("rm -rf /srv/cache")
        try session.keys("Tab")  // Tab refreshes nothing by itself; the layout must already be narrow
        screen = try session.screen()
        #expect(screen.split(separator: "\n").allSatisfy { $0.count <= 80 })
        try session.resize(50, 12)
        try session.waitFor("Terminal too small: 50x12")
        try session.resize(120, 40)
        try session.waitFor("Gated — awaiting decision (1)")
    }

    @Test(arguments: [("vt100", "1"), ("screen", ""), ("xterm", "")])
    func worksOnPlainTerminalsAndWithoutColor(term: String, noColor: String) throws {
        let env = try QueueEnv()
        _ = try env.submit("rm -rf /srv/old")
        var extra = ["TERM": term]
        if !noColor.isEmpty { extra["NO_COLOR"] = noColor }
        let session = try review(env, width: 80, height: 24, extra: extra)
        try session.waitFor("Gated — awaiting decision (1)")
        try session.keys("?")
        try session.waitFor("silence is a denial")
        try session.keys("Escape", "q")
        try session.waitFor("EXIT=0")
    }

    @Test func newRequestsAppearWithoutAKeyPress() throws {
        let env = try QueueEnv()
        let session = try review(env)
        try session.waitFor("nothing waiting for you")
        _ = try env.submit("helm uninstall payments")
        try session.waitFor("helm uninstall payments", timeout: 3)
    }

    @Test func sigtermRestoresTheTerminal() throws {
        let env = try QueueEnv()
        let session = try review(env)
        try session.waitFor("Holdpoint review")
        _ = try CLI.run(["-c", "pkill -TERM -f 'holdpoint review --theme'"], executable: URL(fileURLWithPath: "/bin/sh"))
        let screen = try session.waitFor("EXIT=")
        #expect(!screen.contains("Holdpoint review"))
    }
}

/// posix_spawn with /dev/null for all three streams and an empty signal mask, then waitpid.
/// A process started with nothing blocked and reaped with waitpid: for programs that leave a
/// server behind (tmux, pg_ctl), which Foundation's `Process` sometimes never saw exit.
enum Spawn {
    /// Runs `path` with `arguments`; its output goes to `output` (a file), else nowhere.
    static func run(_ path: String, _ arguments: [String], output: String? = nil) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, path, &actions, &attributes, argv, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return 0 }  // already reaped elsewhere: it ran
        }
        return (status >> 8) & 0xFF
    }
}

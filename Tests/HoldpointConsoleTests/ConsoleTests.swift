import Foundation
import HoldpointConsole
import HoldpointCore
import HoldpointStore
import HoldpointTestSupport
import Testing

/// Deterministic requests: fixed ids, times and documents, classified by the real classifier.
enum Sample {
    static let now = 1_764_000_000.0  // 2025-11-24T16:00:00Z

    static func stored(
        _ id: String, _ json: String, state: RequestState = .pending, created: Double = now - 60, expiresIn: Double? = 840,
        tier: Tier? = nil, closedBy: String? = nil
    ) -> StoredRequest {
        let request = (try? ActionRequestDecoder.decode(Array(json.utf8)))!  // fixed, valid samples
        let classification = Classifier(policy: policy).classify(request)
        return StoredRequest(
            id: id, createdAt: created, agentID: request.agentID, environment: request.environment, submittedBy: "agent-runner",
            onBehalfOf: request.onBehalfOf, tier: tier ?? classification.tier, operationClass: classification.operationClass, state: state,
            expiresAt: state == .pending ? expiresIn.map { now + $0 } : nil, actionSHA256: request.actionSHA256, reasons: classification.reasons,
            destructive: classification.destructive, irreversible: classification.irreversible, dataLoss: classification.dataLoss,
            approvalRules: ApprovalRules(), document: request.document, votes: [],
            closedBy: closedBy, closedVia: closedBy.map { _ in "ssh 10.0.0.9" }, closedAt: closedBy.map { _ in now - 30 }, closedReason: closedBy.map { _ in "looked fine" })
    }

    static let policy: Policy = {
        let resources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Sources/HoldpointCore/Resources")
        return (try? PolicyLoader.load(policyFile: nil, dataDirectory: resources))!  // the package's own data
    }()

    static let costExplorer = stored(
        "01JD0000000000000000000001",
        #"{"schema":"holdpoint.action/v1","agent":{"id":"kiro-7f3","name":"Kiro","mode":"supervised","on_behalf_of":"alice"},"environment":"production","action":{"kind":"api","operation":"cloudformation:DeleteStack","command":"aws cloudformation delete-stack --stack-name prod-cost-explorer-cn-north-1","targets":["prod-cost-explorer-cn-north-1"]},"summary":"Delete and recreate the Cost Explorer production stack to clear a config drift","reasoning":["The stack has drifted","Patching in place failed twice","Recreating yields a known-good state"],"impact":{"resources_affected":143,"cost_usd":0,"downtime_minutes":780,"reversible":false,"data_loss":true},"alternatives":[{"action":"Patch the Lambda configuration only","rejected_because":"two earlier patches failed"}],"rollback":{"plan":"Redeploy from the last template in the artifact bucket","tested":false},"confidence":0.62}"#,
        expiresIn: 600)
    static let scaleUp = stored(
        "01JD0000000000000000000002",
        #"{"schema":"holdpoint.action/v1","agent":{"id":"codex-ci","mode":"autonomous"},"environment":"production","action":{"kind":"shell","command":"kubectl scale deploy/api --replicas=6"},"summary":"Scale out for traffic","reasoning":["p99 doubled"]}"#,
        expiresIn: 120)
    static let hostile = stored(
        "01JD0000000000000000000003",
        "{\"schema\":\"holdpoint.action/v1\",\"agent\":{\"id\":\"mallory\\u001b[2J\",\"mode\":\"supervised\"},\"environment\":\"staging\",\"action\":{\"kind\":\"shell\",\"command\":\"echo \\u001b]0;owned\\u0007 \\u202efr- mr\"},\"summary\":\"trust \\u001b[32mme\",\"reasoning\":[\"ignore previous instructions\\u200b\"]}",
        expiresIn: 300)
    static let terraform = stored(
        "01JD0000000000000000000004",
        #"{"schema":"holdpoint.action/v1","agent":{"id":"claude-ops","mode":"supervised"},"environment":"production","action":{"kind":"shell","command":"terraform destroy"},"summary":"rebuild"}"#,
        state: .blocked)
    static let decided = stored(
        "01JD0000000000000000000005",
        #"{"schema":"holdpoint.action/v1","agent":{"id":"gemini-data","mode":"supervised"},"environment":"production","action":{"kind":"shell","command":"git push --force origin main"},"summary":"force"}"#,
        state: .approved, closedBy: "bob")

    static func state(width: Int = 120, height: Int = 40, requests: [StoredRequest] = [costExplorer, scaleUp, hostile, terraform, decided]) -> ConsoleState {
        var state = ConsoleState(queueName: "/var/lib/holdpoint/queue.sqlite", reviewer: Samples.alice, width: width, height: height, now: now)
        _ = update(&state, .snapshot(ReviewSnapshot(requests: requests, haltedAgents: [], firstTime: [scaleUp.id], now: now)))
        return state
    }
}

/// Whole-screen snapshots: compared with files under Snapshots/; set
/// HOLDPOINT_RECORD_SNAPSHOTS=1 to write them anew (then review the diff).
func assertSnapshot(_ grid: CellGrid, named name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots/\(name).txt")
    let actual = grid.text + "\n"
    if ProcessInfo.processInfo.environment["HOLDPOINT_RECORD_SNAPSHOTS"] == "1" || !FileManager.default.fileExists(atPath: url.path) {
        try actual.write(to: url, atomically: true, encoding: .utf8)
        if ProcessInfo.processInfo.environment["HOLDPOINT_RECORD_SNAPSHOTS"] != "1" {
            Issue.record("recorded a new snapshot \(name); run again", sourceLocation: sourceLocation)
        }
        return
    }
    let expected = try String(contentsOf: url, encoding: .utf8)
    if expected != actual {
        let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
        let first = zip(e, a).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(e.count, a.count)
        Issue.record(
            "snapshot \(name) differs at line \(first + 1):\n  expected: \(first < e.count ? String(e[first]) : "")\n  actual:   \(first < a.count ? String(a[first]) : "")",
            sourceLocation: sourceLocation)
    }
}

@Suite struct ConsoleSnapshotTests {
    @Test func wholeScreenAt120x40() throws {
        try assertSnapshot(render(Sample.state()), named: "overview-120x40")
    }

    @Test func wholeScreenAt80x24() throws {
        try assertSnapshot(render(Sample.state(width: 80, height: 24)), named: "overview-80x24")
        var state = Sample.state(width: 80, height: 24)
        _ = update(&state, .key(.enter))
        try assertSnapshot(render(state), named: "detail-80x24")
    }

    @Test func approveDialogAt120x40() throws {
        var state = Sample.state()
        _ = update(&state, .key(.char("a")))
        try assertSnapshot(render(state), named: "approve-dialog-120x40")
    }
}

@Suite struct ConsoleBehaviourTests {
    @Test func gatedRequestsComeFirstMostUrgentFirst() {
        let state = Sample.state()
        let lines = render(state).lines
        let gated = lines.firstIndex { $0.contains("Gated — awaiting decision (3)") }
        let blocked = lines.firstIndex { $0.contains("Blocked by policy (1)") }
        let decided = lines.firstIndex { $0.contains("Recent decisions (1)") }
        #expect(gated != nil && blocked != nil && decided != nil)
        #expect(gated! < blocked! && blocked! < decided!)
        // The 2-minute one (scale-up) is above the 10-minute one (Cost Explorer).
        let scale = lines.firstIndex { $0.contains("kubectl scale") } ?? 0
        let cost = lines.firstIndex { $0.contains("kiro-7f3") } ?? 0
        #expect(scale < cost)
        #expect(state.selectedID == Sample.scaleUp.id)
    }

    @Test func movingAndOpening() {
        var state = Sample.state()
        let effects = update(&state, .key(.char("j")))
        #expect(state.selectedID == Sample.hostile.id)
        #expect(effects == [.loadHistory(id: Sample.hostile.id)])
        _ = update(&state, .key(.char("G")))
        #expect(state.selectedID == Sample.decided.id)
        _ = update(&state, .key(.char("g")))
        #expect(state.selectedID == Sample.scaleUp.id)
        _ = update(&state, .key(.tab))
        #expect(state.focus == .detail)
        _ = update(&state, .key(.char("j")))
        #expect(state.detailScroll == 1)
        #expect(state.selectedID == Sample.scaleUp.id)
    }

    @Test func destructiveApprovalNeedsTheTargetsNameTyped() {
        var state = Sample.state()
        _ = update(&state, .key(.char("G")))
        _ = update(&state, .key(.char("g")))
        while state.selectedID != Sample.costExplorer.id { _ = update(&state, .key(.char("j"))) }
        _ = update(&state, .key(.char("a")))
        #expect(state.modal == .approve(ApproveDialog(id: Sample.costExplorer.id, confirmation: "prod-cost-explorer-cn-north-1")))
        #expect(update(&state, .key(.char("y"))).isEmpty)  // y is just a letter here
        #expect(update(&state, .key(.enter)).isEmpty)  // "y" is not the name
        #expect(state.flash?.text.contains("Type prod-cost-explorer-cn-north-1 exactly") == true)
        _ = update(&state, .key(.backspace))
        for c in "prod-cost-explorer-cn-north-1" { _ = update(&state, .key(.char(c))) }
        _ = update(&state, .tick(now: Sample.now + 5))  // read for 5 s
        #expect(update(&state, .key(.enter)) == [.decide(id: Sample.costExplorer.id, verdict: .approve, reason: "[console: detail read 5s]")])
        #expect(state.modal == nil)
    }

    @Test func ordinaryApprovalIsOneMoreKeyAndEscCancels() {
        var state = Sample.state()
        let plain = Sample.stored(
            "01JD0000000000000000000009",
            #"{"schema":"holdpoint.action/v1","agent":{"id":"a","mode":"supervised"},"environment":"production","action":{"kind":"shell","command":"kubectl apply -f deploy.yaml"}}"#, tier: .gated)
        _ = update(&state, .snapshot(ReviewSnapshot(requests: [plain], haltedAgents: [], firstTime: [], now: Sample.now)))
        _ = update(&state, .key(.char("a")))
        #expect(state.modal == .approve(ApproveDialog(id: plain.id, confirmation: nil)))
        _ = update(&state, .key(.escape))
        #expect(state.modal == nil)
        _ = update(&state, .key(.char("a")))
        #expect(update(&state, .key(.char("y"))) == [.decide(id: plain.id, verdict: .approve, reason: "")])
    }

    @Test func rejectionNeedsAReason() {
        var state = Sample.state()
        _ = update(&state, .key(.char("r")))
        #expect(update(&state, .key(.enter)).isEmpty)
        #expect(state.flash?.text == "A rejection needs a reason")
        for c in "too risky" { _ = update(&state, .key(.char(c))) }
        #expect(update(&state, .key(.enter)) == [.decide(id: Sample.scaleUp.id, verdict: .reject, reason: "too risky")])
    }

    @Test func onlyPendingRequestsCanBeDecided() {
        var state = Sample.state()
        _ = update(&state, .key(.char("G")))
        #expect(update(&state, .key(.char("a"))).isEmpty)
        #expect(state.modal == nil)
        #expect(state.flash?.text.contains("only pending requests can be approved") == true)
    }

    @Test func haltAndResumeFromTheSamePlace() {
        var state = Sample.state()
        _ = update(&state, .key(.char("H")))
        #expect(state.modal == .halt(agent: "codex-ci", reason: ""))
        for c in "runaway" { _ = update(&state, .key(.char(c))) }
        #expect(update(&state, .key(.enter)) == [.halt(agent: "codex-ci", reason: "runaway")])
        _ = update(&state, .snapshot(ReviewSnapshot(requests: [Sample.scaleUp], haltedAgents: ["codex-ci"], firstTime: [], now: Sample.now)))
        _ = update(&state, .key(.char("H")))
        #expect(state.modal == .resume(agent: "codex-ci"))
        #expect(update(&state, .key(.char("y"))) == [.resume(agent: "codex-ci")])
    }

    @Test func theLostRaceIsToldPlainly() {
        var state = Sample.state()
        var won = Sample.scaleUp
        won.state = .approved
        won.closedBy = "bob"
        won.closedAt = Sample.now - 5
        #expect(update(&state, .decided(.notPending(won))) == [.refresh])
        #expect(state.flash?.text == "Already decided by bob 5s ago (15:59:55): approved")
        #expect(render(state).text.contains("Already decided by bob 5s ago (15:59:55): approved"))
    }

    @Test func filterAndTierFilterNarrowTheList() {
        var state = Sample.state()
        _ = update(&state, .key(.char("/")))
        for c in "claude" { _ = update(&state, .key(.char(c))) }
        _ = update(&state, .key(.enter))
        let text = render(state).text
        #expect(text.contains("terraform destroy"))
        #expect(!text.contains("kubectl scale"))
        _ = update(&state, .key(.char("/")))
        _ = update(&state, .key(.escape))
        _ = update(&state, .key(.char("t")))
        #expect(state.tierFilter == .gated)
        #expect(!render(state).text.contains("Blocked by policy"))
    }

    @Test func hostileTextNeverReachesTheGridRaw() {
        var state = Sample.state()
        while state.selectedID != Sample.hostile.id { _ = update(&state, .key(.char("j"))) }
        let grid = render(state)
        let forbidden: [Unicode.Scalar] = ["\u{1B}", "\u{07}", "\u{202E}", "\u{200B}", "\u{9B}"]
        #expect(grid.cells.allSatisfy { cell in !cell.text.unicodeScalars.contains { forbidden.contains($0) } })
        #expect(grid.text.contains("mallory\\e[2J"))
        #expect(grid.text.contains("<U+202E>fr- mr"))
        #expect(grid.text.contains("\\e]0;owned\\x07"))
    }

    @Test func aNewGatedRequestRingsOnceAndExpiryLeavesPending() {
        var state = Sample.state()
        let newOne = Sample.stored(
            "01JD0000000000000000000010", #"{"schema":"holdpoint.action/v1","agent":{"id":"x","mode":"supervised"},"environment":"production","action":{"kind":"shell","command":"rm -rf /srv"}}"#)
        let effects = update(&state, .snapshot(ReviewSnapshot(requests: [Sample.costExplorer, newOne], haltedAgents: [], firstTime: [], now: Sample.now)))
        #expect(effects.filter { $0 == .bell }.count == 1)
        #expect(!update(&state, .snapshot(ReviewSnapshot(requests: [Sample.costExplorer, newOne], haltedAgents: [], firstTime: [], now: Sample.now))).contains(.bell))
        var expired = newOne
        expired.state = .expired
        expired.closedBy = "expiry"
        _ = update(&state, .snapshot(ReviewSnapshot(requests: [Sample.costExplorer, expired], haltedAgents: [], firstTime: [], now: Sample.now)))
        #expect(render(state).text.contains("Gated — awaiting decision (1)"))
        #expect(render(state).text.contains("expired"))
        state.bellEnabled = false
        let quiet = Sample.stored(
            "01JD0000000000000000000011", #"{"schema":"holdpoint.action/v1","agent":{"id":"y","mode":"supervised"},"environment":"production","action":{"kind":"shell","command":"rm -rf /srv"}}"#)
        #expect(!update(&state, .snapshot(ReviewSnapshot(requests: [quiet], haltedAgents: [], firstTime: [], now: Sample.now))).contains(.bell))
    }

    @Test func theCountdownTurnsRedInTheLastFifth() {
        var state = Sample.state()
        let rowY = render(state).lines.firstIndex { $0.contains("kubectl scale") } ?? 0
        #expect(render(state)[2, rowY].role != .danger)  // 2:00 of a 3:00 window left
        _ = update(&state, .tick(now: Sample.now + 100))  // 0:20 left of 3:00
        state.selectedID = Sample.costExplorer.id
        let grid = render(state)
        #expect(grid[2, rowY].role == .danger)
        #expect(grid.lines[rowY].contains("0:20"))
    }

    /// Production's emphasis follows the policy's `production_environments`, not only the
    /// built-in names. Names are shown as compared: normalised (`Blue-EU` is `blue-eu`).
    @Test func productionEmphasisFollowsThePolicysEnvironmentNames() {
        let eu = Sample.stored(
            "01JD0000000000000000000012", #"{"schema":"holdpoint.action/v1","agent":{"id":"eu-bot","mode":"supervised"},"environment":"Blue-EU","action":{"kind":"shell","command":"rm -rf /srv/eu"}}"#)
        var state = Sample.state(requests: [eu])
        // The selected request's details: "environment: blue-eu".
        func environmentRole(_ state: ConsoleState) -> StyleRole? {
            let grid = render(state)
            guard let y = grid.lines.firstIndex(where: { $0.contains("environment: blue-eu") }),
                let x = grid.lines[y].range(of: "environment: blue-eu").map({ grid.lines[y].distance(from: grid.lines[y].startIndex, to: $0.lowerBound) })
            else { return nil }
            return grid[x + 13, y].role
        }
        #expect(environmentRole(state) == .normal)
        state.productionEnvironments = ["production", "blue-eu"]
        #expect(environmentRole(state) == .production)
    }

    @Test func tooSmallSaysSoInsteadOfDrawingGarbage() {
        let state = Sample.state(width: 50, height: 10)
        let text = render(state).text
        #expect(text.contains("Terminal too small: 50x10"))
        #expect(text.contains("at least 60x15"))
    }

    @Test func wideCharactersLineUp() {
        var grid = CellGrid(width: 10, height: 1)
        grid.put("日本x", x: 0, y: 0, role: .normal)
        #expect(grid[1, 0].isContinuation && grid[3, 0].isContinuation)
        #expect(grid[4, 0].text == "x")
        #expect(grid.lines[0] == "日本x")
    }

    @Test func nothingIsCutOffSilentlyInTheDetailPane() {
        var state = Sample.state(width: 80, height: 24)
        while state.selectedID != Sample.costExplorer.id { _ = update(&state, .key(.char("j"))) }
        _ = update(&state, .key(.enter))
        var seen = ""
        for _ in 0..<200 {
            seen += render(state).text
            _ = update(&state, .key(.char("j")))
        }
        // The long command wraps, and the Raw JSON at the bottom is reachable by scrolling.
        #expect(seen.contains("prod-cost-explorer-cn-north-1"))
        #expect(seen.contains("\"rejected_because\": \"two earlier patches failed\""))
    }
}

@Suite struct ThemeTests {
    static let themes = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("themes")

    @Test(arguments: ["dark", "light", "high-contrast", "monochrome"])
    func shippedThemesLoad(name: String) throws {
        let theme = try Theme.load(path: Self.themes.appendingPathComponent("\(name).yaml").path)
        #expect(theme.name == name)
        #expect(theme.styles[.selection] != nil)
    }

    @Test func aMalformedThemeNamesFileLineAndKey() {
        do {
            _ = try Theme.parse("roles:\n  danger: {fg: blood-red}\n  sparkle: {fg: red}\n", file: "bad.yaml")
            Issue.record("accepted a bad theme")
        } catch {
            let text = error.description
            #expect(text.contains("bad.yaml:2:16: roles.danger.fg: unknown color 'blood-red'"), "\(text)")
            #expect(text.contains("bad.yaml:3:3: roles: unknown key 'sparkle'"), "\(text)")
        }
    }

    @Test func colorsDegradeTo16And8() {
        let orange = ThemeColor.rgb(0xFF, 0x87, 0x00)
        #expect(orange.index(forColors: 256) == 208)
        #expect(orange.index(forColors: 16) == 11 || orange.index(forColors: 16) == 3)
        #expect((0..<8).contains(orange.index(forColors: 8)))
        #expect(ThemeColor.ansi(9).index(forColors: 8) == 1)
        #expect(ThemeColor.terminalDefault.index(forColors: 256) == -1)
    }
}

/// Defects an on-call reviewer met (issue 13), each shown on the screen.
struct ConsoleDefectTests {
    /// The detail pane's title line, e.g. "▌Details  lines 1–36 of 56".
    func detailTitle(_ state: ConsoleState) -> String {
        render(state).text.split(separator: "\n")[1].components(separatedBy: "│").dropFirst().joined()
    }

    @Test func scrollingBackUpFromTheBottomMovesAtOnce() {
        var state = Sample.state(width: 120, height: 24)
        _ = update(&state, .key(.enter))
        _ = update(&state, .key(.char("G")))
        let bottom = detailTitle(state)
        #expect(!bottom.contains("lines 1–"))
        _ = update(&state, .key(.char("k")))
        #expect(detailTitle(state) != bottom)  // one key up is one line up, not a no-op
        for _ in 0..<50 { _ = update(&state, .key(.char("j"))) }
        #expect(detailTitle(state) == bottom)
        _ = update(&state, .key(.pageUp))
        #expect(detailTitle(state) != bottom)
    }

    @Test func aDecisionWithoutAReasonHasNoDanglingColon() {
        var approved = Sample.decided
        approved.closedReason = ""
        var state = Sample.state(requests: [approved])
        _ = update(&state, .key(.enter))
        let screen = render(state).text
        #expect(screen.contains("approved by bob"))
        #expect(!screen.contains("Z:"))
    }

    @Test func theHistoryOfARequestThatChangedIsLoadedAgain() {
        var state = Sample.state(requests: [Sample.costExplorer])
        let id = Sample.costExplorer.id
        _ = update(&state, .history(id: id, entries: []))
        // Unchanged: the loaded history stands.
        #expect(update(&state, .snapshot(ReviewSnapshot(requests: [Sample.costExplorer], haltedAgents: [], firstTime: [], now: Sample.now))) == [])
        var approved = Sample.costExplorer
        approved.state = .approved
        approved.closedBy = "bob"
        let effects = update(&state, .snapshot(ReviewSnapshot(requests: [approved], haltedAgents: [], firstTime: [], now: Sample.now)))
        #expect(effects.contains(.loadHistory(id: id)))
    }

    @Test func aFilterThatHidesWaitingRequestsSaysSo() {
        var state = Sample.state()
        _ = update(&state, .key(.char("/")))
        for c in "zzz" { _ = update(&state, .key(.char(c))) }
        _ = update(&state, .key(.enter))
        let screen = render(state).text
        #expect(!screen.contains("nothing waiting for you"))
        #expect(screen.contains("no match for “zzz”: 3 hidden by the filter"))
        #expect(state.counts[.gated] == 3)  // the header still counts what waits
    }
}

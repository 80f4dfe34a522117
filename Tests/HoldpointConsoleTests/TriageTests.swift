import Foundation
import HoldpointCore
import HoldpointStore
import Testing

@testable import HoldpointConsole

/// What the console shows and does for fast, safe triage (issue 13), without a terminal.
struct TriageTests {
    static func plain(_ n: Int, _ command: String, agent: String = "ci", session: String? = nil, expiresIn: Double = 840) -> StoredRequest {
        let sessionJSON = session.map { ",\"session\":\"\($0)\"" } ?? ""
        return Sample.stored(
            String(format: "01JD00000000000000000001%02d", n),
            #"{"schema":"holdpoint.action/v1","agent":{"id":"\#(agent)","mode":"supervised"\#(sessionJSON)},"environment":"production","action":{"kind":"shell","command":"\#(command)"},"alternatives":["wait"],"rollback":{"plan":"undo"}}"#,
            expiresIn: expiresIn, tier: .gated)
    }

    static func snapshot(_ requests: [StoredRequest], now: Double = Sample.now) -> ConsoleEvent {
        .snapshot(ReviewSnapshot(requests: requests, haltedAgents: [], firstTime: [], now: now))
    }

    func line(_ state: ConsoleState, containing text: String) -> String? {
        render(state).lines.first { $0.contains(text) }
    }

    /// Past its rules' escalate_after share, a waiting request says ESCALATED; before, not.
    @Test func aRequestPastItsEscalationPointIsMarkedEscalated() {
        var late = Self.plain(1, "rm -rf /srv/late", expiresIn: 10)  // created 60 s ago, a 70 s window: 14% left
        late.approvalRules.escalateAfter = 0.5
        var early = Self.plain(2, "rm -rf /srv/early", expiresIn: 840)
        early.approvalRules.escalateAfter = 0.5
        var state = Sample.state(width: 200, height: 40, requests: [late, early])
        _ = update(&state, Self.snapshot([late, early]))
        #expect(badges(for: late, firstTime: false, now: state.now).contains { $0.0 == "ESCALATED" })
        #expect(!badges(for: early, firstTime: false, now: state.now).contains { $0.0 == "ESCALATED" })
        // The most urgent (the late one) is selected: its detail says so.
        #expect(state.selectedID == late.id)
        #expect(render(state).lines.contains { $0.contains("ESCALATED") })
    }

    // MARK: - Defects

    /// Defect 3: the Raw request keeps its nesting.
    @Test func theRawRequestKeepsItsNesting() {
        var state = Sample.state(width: 120, height: 40, requests: [Sample.costExplorer])
        _ = update(&state, .key(.char("z")))
        var lines: [String] = []
        for _ in 0..<20 {
            lines += render(state).lines
            _ = update(&state, .key(.pageDown))
        }
        let agent = lines.first { $0.contains("\"agent\": {") }
        let name = lines.first { $0.contains("\"name\": \"Kiro\"") }
        let indent = { (line: String?) in line.map { $0.prefix { $0 == " " }.count } ?? -1 }
        #expect(agent != nil && name != nil)
        #expect(indent(name) == indent(agent) + 2)
    }

    /// Defect 4: at every width the header shows how many wait, the soonest deadline, the
    /// clock and live/offline.
    @Test(arguments: [80, 120, 200])
    func theHeaderKeepsWhatMattersAtAnyWidth(width: Int) {
        var state = Sample.state(width: width, height: 30)
        var header = render(state).lines[0]
        #expect(header.contains("3 waiting"))
        #expect(header.contains("next expiry 2:00"))
        #expect(header.contains("16:00:00 UTC"))
        #expect(header.hasSuffix("● live"))
        state.live = false
        let grid = render(state)
        header = grid.lines[0]
        #expect(header.hasSuffix("○ OFFLINE"))
        let x = header.count - "○ OFFLINE".count
        #expect(grid[x, 0].role == .danger)
        if width >= 200 { #expect(header.contains("reviewer alice via ssh 10.0.0.7")) }
    }

    /// Defect 5: at 120x40 the list row shows the command, not a count of badges, and the
    /// selected request's whole command and top risk facts are on screen without a key.
    @Test func theCommandIsTheWidestThingOnTheRow() {
        let state = Sample.state()
        let row = line(state, containing: "kiro-7f3") ?? ""
        #expect(row.contains("aws cloudformation delete-stack -"))  // 34 of the list's 72 columns
        #expect(!row.contains("+"))
        var selected = state
        selected.selectedID = Sample.costExplorer.id
        // The top of the detail pane, as the reviewer sees it without a key.
        let layout = Layout(selected)
        let top = render(selected).lines.dropFirst(2).prefix(24).map { String($0.dropFirst(layout.detailX + 1)) }.joined(separator: "\n")
        let command = top.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
        #expect(command.contains("$ aws cloudformation delete-stack --stack-name prod-cost-explorer-cn-north-1"), "\(top)")
        #expect(command.contains("[DESTRUCTIVE] [IRREVERSIBLE] [DATA LOSS]"), "\(top)")
        #expect(top.components(separatedBy: "• ").count - 1 == min(3, Sample.costExplorer.reasons.count), "\(top)")
        #expect(Sample.costExplorer.reasons.count >= 3)
    }

    /// Defect 6: at 80 columns the footer still has filter, tier, help and quit.
    @Test func theFooterKeepsHelpAndQuitAt80Columns() {
        let footer = render(Sample.state(width: 80, height: 24)).lines.last ?? ""
        for item in ["/ filter", "t tier", "? help", "q quit", "a approve", "r reject"] { #expect(footer.contains(item), "\(footer)") }
        let narrow = render(Sample.state(width: 60, height: 20)).lines.last ?? ""
        #expect(narrow.contains("? help") && narrow.contains("q quit"), "\(narrow)")
    }

    /// Defect 9: someone else decides while the approve dialog is open: it closes at once,
    /// saying who, before the reviewer types anything.
    @Test func aLostRaceClosesTheDialogAtOnce() {
        var state = Sample.state(requests: [Sample.costExplorer])
        _ = update(&state, .key(.char("a")))
        #expect(state.modal != nil)
        var won = Sample.costExplorer
        won.state = .rejected
        won.closedBy = "bob"
        won.closedAt = Sample.now - 3
        _ = update(&state, Self.snapshot([won]))
        #expect(state.modal == nil)
        #expect(state.flash?.text == "Already decided by bob 3s ago (15:59:57): rejected")
    }

    /// Defect 14: after a decision, or when the selected request expires, the cursor moves
    /// to the next waiting request, not into Recent decisions.
    @Test func afterADecisionTheCursorMovesToTheNextWaitingRequest() {
        let first = Self.plain(1, "kubectl apply -f a.yaml", expiresIn: 100)
        let second = Self.plain(2, "kubectl apply -f b.yaml", expiresIn: 200)
        let third = Self.plain(3, "kubectl apply -f c.yaml", expiresIn: 300)
        var state = Sample.state(requests: [first, second, third])
        #expect(state.selectedID == first.id)
        _ = update(&state, .key(.char("a")))
        let effects = update(&state, .key(.char("y")))
        #expect(effects == [.decide(id: first.id, verdict: .approve, reason: "")])
        #expect(state.selectedID == second.id)  // at once, before the queue says so
        var approved = first
        approved.state = .approved
        _ = update(&state, Self.snapshot([approved, second, third]))
        #expect(state.selectedID == second.id)
        // The selected one expires: the cursor goes on to the next.
        var expired = second
        expired.state = .expired
        _ = update(&state, Self.snapshot([approved, expired, third]))
        #expect(state.selectedID == third.id)
        #expect(render(state).lines.last?.contains("a approve") == true)
    }

    /// Defect 15: the help box's rows line up; the reject dialog shows the command.
    @Test func theHelpLinesUpAndTheRejectDialogShowsTheCommand() {
        var state = Sample.state()
        _ = update(&state, .key(.char("?")))
        let lines = render(state).lines
        func actionColumn(_ key: String) -> Int? {
            guard let line = lines.first(where: { $0.contains("│ \(key) ") }), let range = line.range(of: "│ \(key) ") else { return nil }
            let rest = line[range.upperBound...]
            return line.distance(from: line.startIndex, to: range.upperBound) + rest.prefix { $0 == " " }.count
        }
        #expect(actionColumn("Esc") != nil)
        #expect(actionColumn("Esc") == actionColumn("q"))
        _ = update(&state, .key(.escape))
        _ = update(&state, .key(.char("r")))
        #expect(render(state).text.contains("kubectl scale deploy/api --replicas=6"))
    }

    // MARK: - Triage at speed

    @Test func nAndShiftNJumpBetweenWaitingRequests() {
        var state = Sample.state()
        let waiting = state.pendingRowIDs
        #expect(waiting.count == 3)
        _ = update(&state, .key(.char("n")))
        #expect(state.selectedID == waiting[1])
        _ = update(&state, .key(.char("N")))
        _ = update(&state, .key(.char("N")))
        #expect(state.selectedID == waiting[2])  // wraps around
        _ = update(&state, .key(.char("G")))  // Recent decisions
        _ = update(&state, .key(.char("n")))
        #expect(state.selectedID == waiting[0])
    }

    @Test func zZoomsTheDetailAndTheSplitMoves() {
        var state = Sample.state()
        let before = Layout(state).listWidth
        _ = update(&state, .key(.char(">")))
        #expect(Layout(state).listWidth == before + 5)
        for _ in 0..<40 { _ = update(&state, .key(.char("<"))) }
        #expect(Layout(state).listWidth == 40)  // each pane keeps 40 columns
        _ = update(&state, .key(.char(">")))
        #expect(Layout(state).listWidth == 45)  // moves at once after hitting the edge
        _ = update(&state, .key(.char("z")))
        let zoomed = render(state).lines
        #expect(zoomed[1].contains("Details (zoomed"))
        #expect(!zoomed.contains { $0.contains("│") && $0.contains("Gated —") })
        _ = update(&state, .key(.escape))
        #expect(!state.zoomed)
    }

    @Test func yCopiesTheCommandAndShiftYTheIDEscapedWhenHostile() {
        var state = Sample.state()
        #expect(update(&state, .key(.char("y"))) == [.copy("kubectl scale deploy/api --replicas=6")])
        #expect(update(&state, .key(.char("Y"))) == [.copy(Sample.scaleUp.id)])
        state.selectedID = Sample.hostile.id
        let effects = update(&state, .key(.char("y")))
        guard case .copy(let text) = effects.first else {
            Issue.record("no copy")
            return
        }
        #expect(!text.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{202E}" })
        #expect(text.contains("<U+202E>"))
    }

    @Test func identicalRequestsFoldIntoOneRowAndAreRejectedTogether() {
        let a = Self.plain(1, "kubectl apply -f same.yaml", expiresIn: 100)
        let b = Self.plain(2, "kubectl apply -f same.yaml", expiresIn: 200)
        let c = Self.plain(3, "kubectl apply -f same.yaml", expiresIn: 300)
        let other = Self.plain(4, "kubectl apply -f other.yaml", expiresIn: 400)
        var state = Sample.state(requests: [a, b, c, other])
        #expect(state.pendingRowIDs == [a.id, other.id])
        #expect(render(state).text.contains("×3 kubectl apply -f same.yaml"))
        #expect(render(state).text.contains("Gated — awaiting decision (4)"))
        _ = update(&state, .key(.char("r")))
        for ch in "duplicate loop" { _ = update(&state, .key(.char(ch))) }
        let effects = update(&state, .key(.enter))
        #expect(effects == [a, b, c].map { .decide(id: $0.id, verdict: .reject, reason: "duplicate loop") })
        #expect(state.selectedID == other.id)
    }

    @Test func shiftRRejectsTheWholeRunWithOneReason() {
        let one = Self.plain(1, "kubectl delete pod a", agent: "bot", session: "run-7", expiresIn: 100)
        let two = Self.plain(2, "kubectl delete pod b", agent: "bot", session: "run-7", expiresIn: 200)
        let otherRun = Self.plain(3, "kubectl delete pod c", agent: "bot", session: "run-8", expiresIn: 300)
        var state = Sample.state(requests: [one, two, otherRun])
        _ = update(&state, .key(.char("R")))
        #expect(render(state).text.contains("the whole run run-7 of bot: 2 pending requests"))
        for ch in "runaway loop" { _ = update(&state, .key(.char(ch))) }
        #expect(update(&state, .key(.enter)) == [one, two].map { .decide(id: $0.id, verdict: .reject, reason: "runaway loop") })
    }

    @Test func anApprovalCanCarryANote() {
        let request = Self.plain(1, "kubectl apply -f a.yaml")
        var state = Sample.state(requests: [request])
        _ = update(&state, .key(.char("a")))
        _ = update(&state, .key(.tab))
        for ch in "checked with Ana" { _ = update(&state, .key(.char(ch))) }
        #expect(render(state).text.contains("Note (optional, Tab): checked with Ana"))
        #expect(update(&state, .key(.enter)) == [.decide(id: request.id, verdict: .approve, reason: "checked with Ana")])
    }

    /// An irreversible action cannot be approved in its first seconds on screen.
    @Test func anIrreversibleActionMustBeReadFirst() {
        var state = Sample.state(requests: [Sample.costExplorer])
        _ = update(&state, .key(.char("a")))
        for ch in "prod-cost-explorer-cn-north-1" { _ = update(&state, .key(.char(ch))) }
        _ = update(&state, .tick(now: Sample.now + 1))
        #expect(update(&state, .key(.enter)).isEmpty)
        #expect(state.flash?.text == "Read it first: this cannot be undone; it can be approved in 1s")
        #expect(state.modal != nil)
        _ = update(&state, .tick(now: Sample.now + 2))
        #expect(update(&state, .key(.enter)) == [.decide(id: Sample.costExplorer.id, verdict: .approve, reason: "[console: detail read 2s]")])
        // Off when the policy says 0.
        var relaxed = Sample.state(requests: [Sample.costExplorer])
        relaxed.guards.minReadSeconds = 0
        _ = update(&relaxed, .key(.char("a")))
        for ch in "prod-cost-explorer-cn-north-1" { _ = update(&relaxed, .key(.char(ch))) }
        #expect(update(&relaxed, .key(.enter)).count == 1)
    }

    /// After a streak of approvals the console asks whether the reviewer still reads, and
    /// records the answer with the next vote.
    @Test func aLongStreakOfApprovalsAsksForAttention() {
        let requests = (1...5).map { Self.plain($0, "kubectl apply -f \($0).yaml", expiresIn: Double(100 * $0)) }
        var state = Sample.state(requests: requests)
        state.guards = AttentionGuards(minReadSeconds: 2, streakLimit: 3, streakWindow: 300)
        for i in 0..<3 {
            _ = update(&state, .tick(now: Sample.now + Double(i)))
            _ = update(&state, .key(.char("a")))
            #expect(update(&state, .key(.char("y"))).count == 1)
        }
        _ = update(&state, .key(.char("a")))
        guard case .attention = state.modal else {
            Issue.record("no attention check after 3 approvals")
            return
        }
        #expect(render(state).text.contains("You have approved 3 requests in the last 5 minutes."))
        for ch in "no" { _ = update(&state, .key(.char(ch))) }
        #expect(update(&state, .key(.enter)).isEmpty)
        _ = update(&state, .key(.backspace))
        _ = update(&state, .key(.backspace))
        for ch in "yes" { _ = update(&state, .key(.char(ch))) }
        _ = update(&state, .key(.enter))
        #expect(update(&state, .key(.char("y"))) == [.decide(id: requests[3].id, verdict: .approve, reason: "[console: still reading, confirmed after 3 approvals]")])
    }

    @Test func timesAreLocalWithAgesAndTheTitleCountsWhatWaits() throws {
        var state = Sample.state(width: 200, height: 40)
        state.timeZone = try #require(TimeZone(secondsFromGMT: 3600))
        let screen = render(state).text
        #expect(screen.contains("17:00:00 +01:00"))
        #expect(screen.contains("submitted 1m ago (16:59:00)"))
        #expect(terminalTitle(state) == "(3) holdpoint review")
        #expect(terminalTitle(Sample.state(requests: [])) == "holdpoint review")
    }
}

import Foundation
import HoldpointCore

/// Where things go on a screen of a given size.
public struct Layout: Sendable {
    public static let minimumWidth = 60
    public static let minimumHeight = 15

    public let width: Int
    public let height: Int
    /// Columns the reviewer moved the split by (`<` `>`), before clamping.
    public let splitShift: Int
    /// The detail pane takes the whole body (`z`).
    public let zoomed: Bool

    public init(width: Int, height: Int, splitShift: Int = 0, zoomed: Bool = false) {
        self.width = width
        self.height = height
        self.splitShift = splitShift
        self.zoomed = zoomed
    }

    public init(_ state: ConsoleState) {
        self.init(width: state.width, height: state.height, splitShift: state.splitShift, zoomed: state.zoomed)
    }

    public var tooSmall: Bool { width < Self.minimumWidth || height < Self.minimumHeight }
    /// Side by side from 100 columns; below that one pane takes the whole body (compact).
    public var sideBySide: Bool { width >= 100 && !zoomed }
    public var bodyTop: Int { 1 }
    public var bodyHeight: Int { max(0, height - 3) }
    /// The list gets a little more than half: its rows carry the commands.
    var defaultListWidth: Int { min(110, width * 60 / 100) }
    /// Each pane keeps at least 40 columns.
    public var listWidth: Int { sideBySide ? max(40, min(width - 41, defaultListWidth + splitShift)) : width }
    /// The shift as applied, after clamping (so `<` after hitting the edge acts at once).
    public var effectiveShift: Int { sideBySide ? listWidth - defaultListWidth : splitShift }
    public var detailX: Int { sideBySide ? listWidth + 1 : 0 }
    public var detailWidth: Int { sideBySide ? width - listWidth - 1 : width }
    /// Rows of the list itself (below the pane's title line).
    public var listHeight: Int { max(0, bodyHeight - 1) }
}

/// The view: draws the state into a grid of styled cells. Pure; all agent text passes
/// through `SafeText` before it reaches the grid.
public func render(_ state: ConsoleState) -> CellGrid {
    var grid = CellGrid(width: state.width, height: state.height)
    if Layout(state).tooSmall {
        let lines = ["Terminal too small: \(state.width)x\(state.height)", "Holdpoint needs at least \(Layout.minimumWidth)x\(Layout.minimumHeight).", "Enlarge the window, or press q to quit."]
        for (i, line) in lines.enumerated() where i < state.height {
            grid.put(TextWidth.truncate(line, to: state.width), x: 0, y: i, role: i == 0 ? .danger : .normal, bold: i == 0)
        }
        return grid
    }
    let layout = Layout(state)
    drawHeader(state, &grid)
    if layout.sideBySide {
        drawList(state, &grid, layout: layout, x: 0, width: layout.listWidth)
        for y in layout.bodyTop..<(layout.bodyTop + layout.bodyHeight) { grid.put("│", x: layout.listWidth, y: y, role: .muted) }
        drawDetail(state, &grid, layout: layout, x: layout.detailX, width: layout.detailWidth)
    } else if state.zoomed || state.focus == .detail, state.selected != nil {
        drawDetail(state, &grid, layout: layout, x: 0, width: layout.width)
    } else {
        drawList(state, &grid, layout: layout, x: 0, width: layout.width)
    }
    drawStatus(state, &grid)
    drawFooter(state, &grid)
    if let modal = state.modal { drawModal(modal, state, &grid) }
    return grid
}

// MARK: - Header and footer

/// The terminal's title: the number waiting first, so a reviewer in another window or tmux
/// tab sees it.
public func terminalTitle(_ state: ConsoleState) -> String {
    let waiting = state.waiting.count
    return waiting > 0 ? "(\(waiting)) holdpoint review" : "holdpoint review"
}

/// The header keeps what matters at any width: the number waiting and the soonest deadline
/// on the left, the clock and live/offline on the right. The other counts, the reviewer and
/// the queue fill the middle when they fit, in that order.
private func drawHeader(_ state: ConsoleState, _ grid: inout CellGrid) {
    grid.fill(y: 0, role: .header)
    let c = state.counts
    let waiting = state.waiting
    var left = " Holdpoint review │ \(waiting.count) waiting"
    if let soonest = waiting.soonest { left += " · next expiry \(countdown(soonest - state.now))" }
    let clock = "\(Times.clock(state.now, state)) \(Times.zoneName(state, at: state.now)) │ "
    let live = state.live ? "● live " : "○ OFFLINE "
    let right = clock + live
    let optional = [
        "blocked \(c[.blocked] ?? 0) · supervised \(c[.supervised] ?? 0) · decided \(c[.decided] ?? 0)",
        "reviewer \(SafeText.escape(state.reviewer.user)) via \(SafeText.escape(state.reviewer.via))",
        "queue \(SafeText.escape(state.queueName))",
    ]
    var room = state.width - TextWidth.of(left) - TextWidth.of(right) - 3
    var middle = ""
    for part in optional {
        let cost = TextWidth.of(part) + 3
        if cost <= room {
            middle += " │ " + part
            room -= cost
        } else if part.hasPrefix("queue "), room >= 20 {
            // The queue's path is cut at the front: its file name is what tells queues apart.
            middle += " │ queue …" + String(part.dropFirst(6).suffix(room - 11))
            room = 0
        }
    }
    grid.put(TextWidth.truncate(left + middle, to: max(0, state.width - TextWidth.of(right))), x: 0, y: 0, role: .header, bold: true)
    let x = grid.put(clock, x: max(0, state.width - TextWidth.of(right)), y: 0, role: .header, bold: true)
    // Offline is the one thing on this line that must not be missed.
    grid.put(live, x: x, y: 0, role: state.live ? .header : .danger, bold: true)
}

private func drawStatus(_ state: ConsoleState, _ grid: inout CellGrid) {
    let y = state.height - 2
    if state.editingFilter {
        grid.put("/ filter: ", x: 0, y: y, role: .key, bold: true)
        let x = grid.put(SafeText.escape(state.filterText), x: 10, y: y, role: .input)
        grid.put("▏", x: x, y: y, role: .input)
        return
    }
    if let flash = state.flash {
        grid.put(TextWidth.truncate(SafeText.escape(flash.text), to: state.width), x: 0, y: y, role: flash.role, bold: true)
        return
    }
    var info: [String] = []
    if state.tierFilter != .all { info.append("showing: \(state.tierFilter.rawValue)") }
    if !state.filterText.isEmpty { info.append("filter: \(SafeText.escape(state.filterText))") }
    if !info.isEmpty { grid.put(TextWidth.truncate(info.joined(separator: "  "), to: state.width), x: 0, y: y, role: .accent) }
}

private func drawFooter(_ state: ConsoleState, _ grid: inout CellGrid) {
    let y = state.height - 1
    grid.fill(y: y, role: .footer)
    var items: [(key: String, action: String, short: String, rank: Int)]
    if let modal = state.modal {
        switch modal {
        case .help: items = [("any key", "close", "close", 9)]
        case .approve(let dialog):
            if dialog.editingNote {
                items = [("type", "a note", "note", 9), ("Tab", "back", "back", 5), ("Enter", "approve", "approve", 9), ("Esc", "cancel", "cancel", 9)]
            } else if dialog.confirmation == nil {
                items = [("y/Enter", "approve", "approve", 9), ("Tab", "add a note", "note", 5), ("n/Esc", "cancel", "cancel", 9)]
            } else {
                items = [("type", "the name", "name", 9), ("Tab", "add a note", "note", 5), ("Enter", "approve", "approve", 9), ("Esc", "cancel", "cancel", 9)]
            }
        case .attention: items = [("type", "yes", "yes", 9), ("Enter", "go on", "go on", 9), ("Esc", "cancel", "cancel", 9)]
        case .reject, .halt: items = [("type", "the reason", "reason", 9), ("Enter", "confirm", "confirm", 9), ("Esc", "cancel", "cancel", 9)]
        case .resume: items = [("y/Enter", "resume", "resume", 9), ("n/Esc", "cancel", "cancel", 9)]
        }
    } else if state.editingFilter {
        items = [("Enter", "keep filter", "keep", 9), ("Esc", "clear", "clear", 9)]
    } else {
        let selected = state.selected
        items = Keymap.bindings.compactMap { binding in
            guard let rank = binding.footerRank else { return nil }
            switch binding.needs {
            case .nothing: break
            case .selection: guard selected != nil else { return nil }
            case .pending: guard selected?.state == .pending else { return nil }
            }
            return (binding.keys, binding.action, binding.short, rank)
        }
    }
    // Full words if they fit; else short words; else the lowest ranks go first. Help and
    // quit stay at any width.
    func width(_ list: [(key: String, action: String, short: String, rank: Int)], short: Bool) -> Int {
        list.reduce(1) { $0 + TextWidth.of($1.key) + 1 + TextWidth.of(short ? $1.short : $1.action) + 2 }
    }
    var short = width(items, short: false) > state.width
    while short, width(items, short: true) > state.width, let lowest = items.indices.min(by: { items[$0].rank < items[$1].rank }) {
        items.remove(at: lowest)
    }
    if width(items, short: false) <= state.width { short = false }
    var x = 1
    for item in items {
        x = grid.put(item.key, x: x, y: y, role: .footer, bold: true, maxX: state.width)
        x = grid.put(" " + (short ? item.short : item.action) + "  ", x: x, y: y, role: .footer, maxX: state.width)
    }
}

// MARK: - The list

/// Time left as m:ss or h:mm:ss.
func countdown(_ seconds: Double) -> String {
    let s = max(0, Int(seconds.rounded(.up)))
    if s >= 3600 { return String(format: "%d:%02d:%02d", s / 3600, s % 3600 / 60, s % 60) }
    return String(format: "%d:%02d", s / 60, s % 60)
}

/// Badges for a request, most alarming first.
public func badges(for r: StoredRequest, firstTime: Bool, now: Double? = nil) -> [(String, StyleRole)] {
    var out: [(String, StyleRole)] = []
    if let now, r.isEscalated(now: now) { out.append(("ESCALATED", .danger)) }
    if r.destructive { out.append(("DESTRUCTIVE", .danger)) }
    if r.irreversible || r.document["impact"]?["reversible"]?.boolValue == false { out.append(("IRREVERSIBLE", .danger)) }
    if r.dataLoss || r.document["impact"]?["data_loss"]?.boolValue == true { out.append(("DATA LOSS", .danger)) }
    if let cost = r.document["impact"]?["cost_usd"]?.numberValue, cost > 0 { out.append(("$\(formatAmount(cost))", .warning)) }
    if let n = r.document["impact"]?["resources_affected"]?.numberValue, n > 1 { out.append(("\(JSONWriter.formatNumber(n)) RESOURCES", .warning)) }
    if r.tier == .gated || r.tier == .blocked {
        if (r.document["alternatives"]?.arrayValue ?? []).isEmpty { out.append(("NO ALTERNATIVES", .warning)) }
        if r.document["rollback"]?["plan"]?.stringValue?.isEmpty ?? true { out.append(("NO ROLLBACK", .warning)) }
    }
    if r.reasons.contains(where: { $0.rule == "low-confidence" }) { out.append(("LOW CONFIDENCE", .warning)) }
    if firstTime || r.reasons.contains(where: { $0.rule == "first-time" }) { out.append(("FIRST TIME", .accent)) }
    if r.reasons.contains(where: { $0.rule == "off-plan" }) { out.append(("OFF PLAN", .danger)) }
    if r.reasons.contains(where: { $0.rule == "plan" }) { out.append(("IN PLAN", .accent)) }
    if r.document["action"]?["operation"]?.stringValue == Plan.operation { out.append(("PLAN", .accent)) }
    return out
}

func formatAmount(_ n: Double) -> String {
    if n >= 1_000_000 { return String(format: "%.1fM", n / 1_000_000) }
    if n >= 10_000 { return String(format: "%.0fk", n / 1_000) }
    return JSONWriter.formatNumber((n * 100).rounded() / 100)
}

private func drawList(_ state: ConsoleState, _ grid: inout CellGrid, layout: Layout, x: Int, width: Int) {
    let titleY = layout.bodyTop
    let title = state.focus == .list ? "▌Requests" : " Requests"
    grid.put(
        TextWidth.truncate(title + (state.tierFilter == .all ? "" : " (\(state.tierFilter.rawValue))"), to: width), x: x, y: titleY, role: state.focus == .list ? .accent : .muted, bold: true,
        maxX: x + width)
    let top = state.listTop
    let visible = layout.listHeight
    let shown = state.rows.dropFirst(top).prefix(visible)
    let columns = RowColumns(shown.compactMap { if case .request(let id, _, _) = $0 { return state.byID[id] } else { return nil } }, width: width)
    for (i, row) in shown.enumerated() {
        let y = titleY + 1 + i
        switch row {
        case .heading(let group, let count):
            let role: StyleRole = group == .gated && count > 0 ? .warning : .heading
            grid.put(TextWidth.truncate("\(group.rawValue) (\(count))", to: width), x: x, y: y, role: role, bold: true, maxX: x + width)
        case .empty(let text):
            grid.put(TextWidth.truncate("   " + text, to: width), x: x, y: y, role: .muted, maxX: x + width)
        case .request(let id, _, let copies):
            guard let r = state.byID[id] else { continue }
            drawRow(r, copies: copies.count, columns: columns, state: state, grid: &grid, x: x, y: y, width: width, selected: id == state.selectedID)
        }
    }
    if state.rows.count > visible, visible > 0 {
        let more = "\(min(state.rows.count, top + visible))/\(state.rows.count)"
        grid.put(more, x: x + max(0, width - TextWidth.of(more) - 1), y: titleY, role: .muted, maxX: x + width)
    }
}

/// The widths of a row's columns, from what is on screen: agent and environment take what
/// their longest value needs (up to a cap), so the action gets every column left.
struct RowColumns {
    var agent: Int
    var environment: Int

    init(_ requests: [StoredRequest], width: Int) {
        let cap = width < 56 ? 8 : 12
        agent = min(cap, max(5, requests.map { TextWidth.of(SafeText.escape($0.agentID)) }.max() ?? 5))
        environment = min(cap - 2, max(4, requests.map { TextWidth.of(SafeText.escape($0.environment)) }.max() ?? 4))
    }
}

/// How alarming a request is at a glance: !! (destructive, irreversible or data loss), !
/// (a warning badge), or nothing. The badges themselves are in the detail pane.
func severityMark(_ tags: [(String, StyleRole)]) -> (String, StyleRole) {
    if tags.contains(where: { $0.1 == .danger }) { return ("!!", .danger) }
    if tags.contains(where: { $0.1 == .warning }) { return ("! ", .warning) }
    return ("  ", .normal)
}

private func drawRow(_ r: StoredRequest, copies: Int, columns: RowColumns, state: ConsoleState, grid: inout CellGrid, x: Int, y: Int, width: Int, selected: Bool) {
    let end = x + width
    if selected { grid.fill(y: y, x: x, width: width, role: .selection) }
    func role(_ r: StyleRole) -> StyleRole { selected ? .selection : r }
    func cell(_ text: String, _ width: Int) -> String {
        let cut = TextWidth.truncate(text, to: width)
        return cut + String(repeating: " ", count: max(0, width - TextWidth.of(cut)) + 1)
    }
    var cx = grid.put(selected ? "▸ " : "  ", x: x, y: y, role: role(.accent), bold: true, maxX: end)
    // Time left (pending), or the outcome.
    switch r.state {
    case .pending:
        let left = (r.expiresAt ?? state.now) - state.now
        let window = max(1, (r.expiresAt ?? state.now) - r.createdAt)
        let urgent = left <= window / 5
        cx = grid.put(cell(countdown(left), 8), x: cx, y: y, role: role(urgent ? .danger : .normal), bold: urgent, maxX: end)
    default:
        cx = grid.put(cell(r.state.rawValue, 8), x: cx, y: y, role: role(r.state == .approved ? .success : r.state == .allowed ? .muted : .danger), maxX: end)
    }
    cx = grid.put(cell(SafeText.escape(r.agentID), columns.agent), x: cx, y: y, role: role(.normal), maxX: end)
    let production = EnvironmentName.isProduction(EnvironmentName.normalize(r.environment), among: state.productionEnvironments)
    cx = grid.put(cell(SafeText.escape(r.environment), columns.environment), x: cx, y: y, role: role(production ? .production : .muted), bold: production, maxX: end)
    let tags = badges(for: r, firstTime: state.snapshot.firstTime.contains(r.id), now: state.now)
    let mark = severityMark(tags)
    cx = grid.put(mark.0 + " ", x: cx, y: y, role: role(mark.1), bold: true, maxX: end)
    if copies > 0 { cx = grid.put("×\(copies + 1) ", x: cx, y: y, role: role(.warning), bold: true, maxX: end) }
    // The action takes the rest of the row; badges follow only when they fit whole (the
    // detail pane always lists them).
    let action = r.document["action"]
    var what = SafeText.escape(ActionText.what(action))
    if let target = action?["targets"]?.arrayValue?.first?.stringValue, !what.contains(target) { what += " → " + SafeText.escape(target) }
    cx = grid.put(TextWidth.truncate(what, to: end - cx), x: cx, y: y, role: role(.normal), maxX: end) + 1
    for (text, tagRole) in tags {
        guard cx + TextWidth.of(text) <= end else { break }
        cx = grid.put(text, x: cx, y: y, role: role(tagRole), bold: true, maxX: end) + 1
    }
}

// MARK: - The detail pane

/// A line of the detail pane before layout.
struct DetailLine {
    var text: String
    var role: StyleRole
    var bold = false
    var indent = 0
}

func detailLines(_ r: StoredRequest, state: ConsoleState, width: Int) -> [DetailLine] {
    var raw: [DetailLine] = []
    let doc = r.document
    let action = doc["action"]
    func heading(_ text: String) {
        raw.append(DetailLine(text: "", role: .normal))
        raw.append(DetailLine(text: text, role: .heading, bold: true))
    }
    func field(_ label: String, _ value: String?, role: StyleRole = .normal) {
        guard let value else { return }
        raw.append(DetailLine(text: "\(label): \(SafeText.escape(value, keepNewlines: true))", role: role, indent: 2))
    }
    func text(_ value: String, role: StyleRole = .normal, indent: Int = 2, bold: Bool = false) {
        raw.append(DetailLine(text: SafeText.escape(value, keepNewlines: true), role: role, bold: bold, indent: indent))
    }

    // At the top, without scrolling: what would run, where, and why it is risky.
    raw.append(DetailLine(text: "\(r.id) · \(r.state.rawValue.uppercased()) · tier \(r.tier.rawValue) · class \(r.operationClass.rawValue)", role: r.tier == .gated ? .warning : .accent, bold: true))
    switch r.state {
    case .pending:
        let left = (r.expiresAt ?? state.now) - state.now
        raw.append(
            DetailLine(
                text:
                    "expires in \(countdown(left)) (at \(Times.clock(r.expiresAt ?? state.now, state))); no answer = denied · approvals \(r.votes.filter { $0.verdict == .approve }.count) of \(r.requiredApprovals)",
                role: left <= max(1, (r.expiresAt ?? 0) - r.createdAt) / 5 ? .danger : .normal))
    default:
        if let by = r.closedBy {
            raw.append(
                DetailLine(
                    text:
                        "\(r.state.rawValue) by \(SafeText.escape(by))\(r.closedVia.map { " (\(SafeText.escape($0)))" } ?? "") \(Times.moment(r.closedAt ?? 0, state))\(r.closedReason.flatMap { $0.isEmpty ? nil : ": " + SafeText.escape($0) } ?? "")",
                    role: .muted))
        }
    }
    let planSteps = action?["operation"]?.stringValue == Plan.operation ? action?["steps"]?.arrayValue ?? [] : nil
    if let command = action?["command"]?.stringValue {
        raw.append(DetailLine(text: "$ " + SafeText.escape(command, keepNewlines: true), role: .accent, bold: true))
    } else if let planSteps {
        raw.append(
            DetailLine(text: "plan of \(planSteps.count) step\(planSteps.count == 1 ? "" : "s"): approving it approves no step; each gated step is still its own decision", role: .accent, bold: true))
    } else if let operation = action?["operation"]?.stringValue {
        raw.append(DetailLine(text: "operation " + SafeText.escape(operation), role: .accent, bold: true))
    }
    let production = EnvironmentName.isProduction(EnvironmentName.normalize(r.environment), among: state.productionEnvironments)
    raw.append(
        DetailLine(
            text: "in \(SafeText.escape(r.environment)) · agent \(SafeText.escape(r.agentID)) · submitted \(Times.moment(r.createdAt, state))", role: production ? .production : .normal,
            bold: production))
    let tags = badges(for: r, firstTime: state.snapshot.firstTime.contains(r.id), now: state.now)
    if !tags.isEmpty { raw.append(DetailLine(text: tags.map { "[\($0.0)]" }.joined(separator: " "), role: .danger, bold: true)) }
    // The top three rules that held it, the strictest first.
    let strictness: [Tier: Int] = [.blocked: 0, .gated: 1, .supervised: 2, .autonomous: 3]
    let top = r.reasons.enumerated().sorted { (strictness[$0.element.tier] ?? 4, $0.offset) < (strictness[$1.element.tier] ?? 4, $1.offset) }.prefix(3)
    for (_, reason) in top {
        raw.append(DetailLine(text: "• \(reason.message) (\(reason.rule))", role: reason.tier == .blocked ? .danger : reason.tier == .gated ? .warning : .normal, indent: 2))
    }
    if r.reasons.count > 3 { raw.append(DetailLine(text: "and \(r.reasons.count - 3) more under Policy below", role: .muted, indent: 2)) }

    heading("What — exactly as it will run")
    for (index, step) in (planSteps ?? []).enumerated() {
        let intent = step["intent"]?.stringValue.map { "  — " + SafeText.escape($0) } ?? ""
        raw.append(DetailLine(text: "step \(index + 1)  $ " + SafeText.escape(ActionText.what(step["action"])) + intent, role: .accent, indent: 2))
    }
    field("command", action?["command"]?.stringValue, role: .accent)
    field("operation", action?["operation"]?.stringValue)
    field("kind", action?["kind"]?.stringValue)
    if let targets = action?["targets"]?.arrayValue?.compactMap(\.stringValue), !targets.isEmpty { field("targets", targets.joined(separator: ", ")) }
    field("environment", r.environment, role: production ? .production : .normal)
    let agent = doc["agent"]
    field(
        "agent",
        [r.agentID, agent?["name"]?.stringValue, agent?["mode"]?.stringValue.map { "mode \($0)" }, agent?["session"]?.stringValue.map { "session \($0)" }].compactMap { $0 }.joined(separator: ", "))
    field("on behalf of", agent?["on_behalf_of"]?.stringValue)
    field("submitted by", r.submittedBy + " at " + Times.stamp(r.createdAt, state) + " " + Times.zoneName(state, at: r.createdAt))
    field("summary", doc["summary"]?.stringValue)

    heading("Why — the agent's reasoning")
    let reasoning = doc["reasoning"]?.arrayValue?.compactMap(\.stringValue) ?? []
    if reasoning.isEmpty { text("(no reasoning given)", role: .warning) }
    for (i, step) in reasoning.enumerated() { text("\(i + 1). \(step)") }
    if let confidence = doc["confidence"]?.numberValue { text("confidence \(JSONWriter.formatNumber(confidence))", role: confidence < 0.6 ? .warning : .muted) }

    heading("Blast radius")
    let impact = doc["impact"]
    func stated(_ value: JSONValue?) -> String {
        guard let value, value != .null else { return "not stated" }
        if case .bool(let b) = value { return b ? "yes" : "no" }
        return JSONWriter.compact(value)
    }
    text(
        "resources affected: \(stated(impact?["resources_affected"]))   cost: \(impact?["cost_usd"]?.numberValue.map { "$" + formatAmount($0) } ?? "not stated")   downtime: \(impact?["downtime_minutes"]?.numberValue.map { "\(JSONWriter.formatNumber($0)) min" } ?? "not stated")"
    )
    text(
        "reversible: \(stated(impact?["reversible"]))   data loss: \(stated(impact?["data_loss"]))",
        role: impact?["reversible"]?.boolValue == false || impact?["data_loss"]?.boolValue == true ? .danger : .normal)

    heading("Alternatives considered")
    let alternatives = doc["alternatives"]?.arrayValue ?? []
    if alternatives.isEmpty {
        text("⚠ The agent named no alternatives: it has not explored the options.", role: .danger, bold: true)
    }
    for (i, alternative) in alternatives.enumerated() {
        let name = alternative.stringValue ?? alternative["action"]?.stringValue ?? "?"
        text("\(i + 1). \(name)")
        if let why = alternative["rejected_because"]?.stringValue { text("rejected because: \(why)", role: .muted, indent: 5) }
    }

    heading("Rollback")
    if let plan = doc["rollback"]?["plan"]?.stringValue, !plan.isEmpty {
        text(plan)
        text(doc["rollback"]?["tested"]?.boolValue == true ? "tested: yes" : "tested: no", role: doc["rollback"]?["tested"]?.boolValue == true ? .success : .warning)
    } else {
        text("⚠ No rollback plan.", role: .danger, bold: true)
    }

    heading("Policy — every rule that fired")
    for reason in r.reasons {
        text(
            "\(reason.tier.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)) \(reason.rule): \(reason.message)",
            role: reason.tier == .blocked ? .danger : reason.tier == .gated ? .warning : .normal)
    }
    if !r.votes.isEmpty {
        heading("Votes")
        for vote in r.votes { text("\(vote.verdict.rawValue) by \(vote.reviewer) (\(vote.via)) \(Times.moment(vote.at, state))\(vote.reason.isEmpty ? "" : ": " + vote.reason)") }
    }
    heading("History")
    if let history = state.histories[r.id] {
        for entry in history {
            text("#\(entry.seq) \(Times.clock(Double(entry.atMillis) / 1000, state)) \(entry.event) by \(entry.actor) (\(entry.via))", role: .muted)
        }
    } else {
        text("loading…", role: .muted)
    }
    heading("Raw request")
    // Each line keeps its nesting: the leading spaces become the line's indent, which the
    // wrapping below would otherwise drop.
    for line in JSONWriter.pretty(doc).split(separator: "\n", omittingEmptySubsequences: false) {
        let depth = line.prefix { $0 == " " }.count
        text(String(line.dropFirst(depth)), role: .muted, indent: 2 + depth)
    }

    // Wrap everything to the pane: nothing is cut off, long lines continue below.
    var out: [DetailLine] = []
    for line in raw {
        let available = max(8, width - line.indent - 1)
        for (i, piece) in TextWidth.wrap(line.text, width: available, continuation: available - 2).enumerated() {
            out.append(DetailLine(text: piece, role: line.role, bold: line.bold, indent: line.indent + (i > 0 ? 2 : 0)))
        }
    }
    return out
}

/// How far the detail pane can scroll: its lines less those that fit. `update` keeps the
/// scroll within it, so a scroll past the end never has to be undone key by key.
func detailScrollLimit(_ state: ConsoleState) -> Int {
    guard let r = state.selected else { return 0 }
    let layout = Layout(state)
    let width = layout.sideBySide ? layout.detailWidth : layout.width
    return max(0, detailLines(r, state: state, width: width - 1).count - max(1, layout.bodyHeight - 1))
}

private func drawDetail(_ state: ConsoleState, _ grid: inout CellGrid, layout: Layout, x: Int, width: Int) {
    let titleY = layout.bodyTop
    guard let r = state.selected else {
        grid.put(" Details", x: x, y: titleY, role: .muted, bold: true, maxX: x + width)
        grid.put("  Nothing selected.", x: x, y: titleY + 2, role: .muted, maxX: x + width)
        return
    }
    let lines = detailLines(r, state: state, width: width - 1)
    let visible = max(1, layout.bodyHeight - 1)
    let maxScroll = max(0, lines.count - visible)
    let scroll = min(state.detailScroll, maxScroll)
    let title =
        (state.focus == .detail ? "▌Details" : " Details") + (state.zoomed ? " (zoomed: z or Esc returns)" : "") + "  lines \(scroll + 1)–\(min(lines.count, scroll + visible)) of \(lines.count)"
    grid.put(TextWidth.truncate(title, to: width), x: x, y: titleY, role: state.focus == .detail ? .accent : .muted, bold: true, maxX: x + width)
    for i in 0..<visible {
        let index = scroll + i
        guard index < lines.count else { break }
        let line = lines[index]
        grid.put(line.text, x: x + 1 + line.indent, y: titleY + 1 + i, role: line.role, bold: line.bold, maxX: x + width)
    }
}

// MARK: - Dialogs

private func drawModal(_ modal: Modal, _ state: ConsoleState, _ grid: inout CellGrid) {
    var lines: [(String, StyleRole, Bool)] = []
    var title = ""
    func what(_ r: StoredRequest) -> String {
        SafeText.escape(ActionText.what(r.document["action"]))
    }
    switch modal {
    case .help:
        title = "Keys"
        let rows = Keymap.bindings.map { ($0.keys, $0.action) } + [("Esc", "back / cancel")]
        let keyWidth = rows.map { TextWidth.of($0.0) }.max() ?? 0
        let entries = rows.map { $0.0 + String(repeating: " ", count: keyWidth - TextWidth.of($0.0)) + "  " + $0.1 }
        // Two columns when one would not fit the screen.
        if entries.count + 7 > state.height {
            let half = (entries.count + 1) / 2
            let columnWidth = (entries.prefix(half).map(TextWidth.of).max() ?? 0) + 3
            for i in 0..<half {
                let first = entries[i]
                let second = i + half < entries.count ? entries[i + half] : ""
                lines.append((first + String(repeating: " ", count: max(0, columnWidth - TextWidth.of(first))) + second, .dialog, false))
            }
        } else {
            for entry in entries { lines.append((entry, .dialog, false)) }
        }
        lines.append(("", .dialog, false))
        lines.append(("Gated requests expire when nobody answers: silence is a denial.", .dialog, false))
    case .approve(let dialog):
        guard let r = state.byID[dialog.id] else { return }
        title = "Approve \(dialog.id)?"
        lines.append(("This will let the agent run, in \(SafeText.escape(r.environment)):", .dialog, false))
        lines.append(("  " + what(r), .dialog, true))
        let tags = badges(for: r, firstTime: false).map(\.0).joined(separator: " ")
        if !tags.isEmpty { lines.append(("  " + tags, .danger, true)) }
        lines.append(("", .dialog, false))
        if let confirmation = dialog.confirmation {
            lines.append(("This cannot be undone. Type \(confirmation) to approve:", .dialog, true))
            lines.append(("> " + SafeText.escape(dialog.typed) + (dialog.editingNote ? "" : "▏"), .input, false))
        } else {
            lines.append(("Press y to approve as \(SafeText.escape(state.reviewer.user)), Esc to cancel.", .dialog, true))
        }
        lines.append(("Note (optional, Tab): " + SafeText.escape(dialog.note) + (dialog.editingNote ? "▏" : ""), dialog.editingNote ? .input : .dialog, false))
    case .attention(let dialog, let typed):
        title = "Still reading?"
        let streak = state.approvalTimes.filter { state.now - $0 < state.guards.streakWindow }.count
        lines.append(("You have approved \(streak) requests in the last \(Int(state.guards.streakWindow / 60)) minutes.", .dialog, false))
        lines.append(("Each approval lets an agent act in production. Type yes if you are still", .dialog, false))
        lines.append(("reading each request; your answer is recorded with the next approval.", .dialog, false))
        if let r = state.byID[dialog.id] { lines.append(("Next: " + what(r), .dialog, true)) }
        lines.append(("> " + SafeText.escape(typed) + "▏", .input, false))
    case .reject(let ids, let scope, let reason):
        title = ids.count == 1 ? "Reject \(ids[0])" : "Reject \(scope)"
        if let first = ids.first, let r = state.byID[first] {
            lines.append(("The agent asked to run, in \(SafeText.escape(r.environment)):", .dialog, false))
            lines.append(("  " + what(r), .dialog, true))
        }
        if ids.count > 1 { lines.append(("All \(ids.count) are rejected with the same reason.", .warning, true)) }
        lines.append(("Why? The reason goes back to the agent and into the audit log.", .dialog, false))
        lines.append(("> " + SafeText.escape(reason) + "▏", .input, false))
    case .halt(let agent, let reason):
        title = "Halt agent \(SafeText.escape(agent))"
        lines.append(("Its pending requests stop now; new ones are refused until resumed.", .dialog, false))
        lines.append(("Reason:", .dialog, true))
        lines.append(("> " + SafeText.escape(reason) + "▏", .input, false))
    case .resume(let agent):
        title = "Resume agent \(SafeText.escape(agent))?"
        lines.append(("Its new requests will be accepted again. y to resume, Esc to cancel.", .dialog, false))
    }
    let boxWidth = min(state.width - 4, max(50, lines.map { TextWidth.of($0.0) }.max() ?? 0) + 4)
    var wrapped: [(String, StyleRole, Bool)] = []
    for line in lines {
        for piece in TextWidth.wrap(line.0, width: boxWidth - 4) { wrapped.append((piece, line.1, line.2)) }
    }
    let boxHeight = min(state.height - 2, wrapped.count + 4)
    let left = (state.width - boxWidth) / 2
    let top = max(1, (state.height - boxHeight) / 2)
    for y in top..<(top + boxHeight) { grid.fill(y: y, x: left, width: boxWidth, role: .dialog) }
    grid.put("┌" + String(repeating: "─", count: boxWidth - 2) + "┐", x: left, y: top, role: .dialog)
    grid.put("└" + String(repeating: "─", count: boxWidth - 2) + "┘", x: left, y: top + boxHeight - 1, role: .dialog)
    for y in (top + 1)..<(top + boxHeight - 1) {
        grid.put("│", x: left, y: y, role: .dialog)
        grid.put("│", x: left + boxWidth - 1, y: y, role: .dialog)
    }
    grid.put(" " + TextWidth.truncate(title, to: boxWidth - 6) + " ", x: left + 2, y: top, role: .dialog, bold: true)
    for (i, line) in wrapped.enumerated() where top + 2 + i < top + boxHeight - 1 {
        grid.put(line.0, x: left + 2, y: top + 2 + i, role: line.1, bold: line.2, maxX: left + boxWidth - 2)
    }
}

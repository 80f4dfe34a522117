import Foundation
import HoldpointCore

/// One entry of the keymap: the single table that drives the help overlay and the footer,
/// so they cannot disagree with each other or with `handle` below.
public struct KeyBinding: Sendable {
    public var keys: String
    public var action: String
    /// The footer's word for it when the full one does not fit.
    public var short: String
    /// Shown only with a request selected, or only with a pending one selected.
    public var needs: Need
    /// The footer keeps higher ranks longest as the terminal narrows; nil: help only.
    public var footerRank: Int?

    public enum Need: Sendable { case nothing, selection, pending }

    init(_ keys: String, _ action: String, short: String? = nil, needs: Need = .nothing, footerRank: Int? = nil) {
        self.keys = keys
        self.action = action
        self.short = short ?? action
        self.needs = needs
        self.footerRank = footerRank
    }
}

public enum Keymap {
    public static let bindings: [KeyBinding] = [
        KeyBinding("j/k ↑/↓", "move", footerRank: 8),
        KeyBinding("n/N", "next/previous waiting", short: "next", footerRank: 5),
        KeyBinding("g/G", "first/last"),
        KeyBinding("PgUp/PgDn", "page"),
        KeyBinding("Tab", "switch pane", short: "pane", footerRank: 3),
        KeyBinding("Enter", "open the detail"),
        KeyBinding("z", "zoom the detail pane", short: "zoom", needs: .selection, footerRank: 2),
        KeyBinding("< >", "move the split"),
        KeyBinding("a", "approve", needs: .pending, footerRank: 10),
        KeyBinding("r", "reject", needs: .pending, footerRank: 10),
        KeyBinding("R", "reject the whole run", needs: .pending),
        KeyBinding("H", "halt/resume agent", short: "halt", needs: .selection, footerRank: 4),
        KeyBinding("y/Y", "copy command/id", short: "copy", needs: .selection, footerRank: 1),
        KeyBinding("/", "filter", footerRank: 6),
        KeyBinding("t", "tier filter", short: "tier", footerRank: 6),
        KeyBinding("?", "help", footerRank: 99),
        KeyBinding("q", "quit", footerRank: 99),
    ]
}

/// The console's whole behaviour: the next state, and what to ask of the world.
/// Pure: no I/O, no clock, no terminal. Tests drive it with events and read the state.
public func update(_ state: inout ConsoleState, _ event: ConsoleEvent) -> [Effect] {
    let effects = step(&state, event)
    // The reading guard counts from the moment a request's detail is first on screen.
    if let id = state.selectedID, state.detailVisible, state.detailShownAt[id] == nil { state.detailShownAt[id] = state.now }
    return effects
}

private func step(_ state: inout ConsoleState, _ event: ConsoleEvent) -> [Effect] {
    switch event {
    case .tick(let now):
        state.now = now
        return []
    case .resized(let width, let height):
        state.width = width
        state.height = height
        keepSelectionVisible(&state)
        return []
    case .snapshot(let snapshot):
        return receive(snapshot, &state)
    case .history(let id, let entries):
        state.histories[id] = entries
        return []
    case .decided(let result):
        state.flash = describe(result, state: state)
        return [.refresh]
    case .haltDone(let message):
        state.flash = Flash(text: message, role: .success)
        return [.refresh]
    case .failed(let message):
        state.flash = Flash(text: message, role: .danger)
        return [.refresh]
    case .key(let key):
        return handle(key, &state)
    }
}

/// A new view of the queue: the list is rebuilt, a request that left `pending` under the
/// cursor hands the cursor to the next waiting one, and a dialog on a request someone else
/// decided closes at once, saying who.
private func receive(_ snapshot: ReviewSnapshot, _ state: inout ConsoleState) -> [Effect] {
    let previousSelection = state.selectedID
    let before = state.byID
    let pendingBefore = state.pendingRowIDs
    state.now = snapshot.now
    state.apply(snapshot)
    // A request that changed (a vote, a decision, a run) has a longer history now: what
    // was loaded is dropped, and reloaded below when it is the one on screen.
    for id in state.histories.keys where state.byID[id] != before[id] { state.histories[id] = nil }
    if let id = previousSelection, before[id]?.state == .pending, state.byID[id]?.state != .pending {
        selectNextPending(&state, after: id, in: pendingBefore)
    }
    closeStaleDialog(&state)
    var effects: [Effect] = []
    let pending = Set(snapshot.requests.filter { $0.state == .pending }.map(\.id))
    if let seen = state.seenPending, !pending.subtracting(seen).isEmpty, state.bellEnabled {
        effects.append(.bell)  // a new gated request: ring once
    }
    state.seenPending = (state.seenPending ?? []).union(pending)
    if let id = state.selectedID, id != previousSelection || state.histories[id] == nil { effects.append(.loadHistory(id: id)) }
    if state.selectedID != previousSelection { state.detailScroll = 0 }
    keepSelectionVisible(&state)
    return effects
}

/// Moves the cursor from `id`, which is leaving the waiting list, to the request listed
/// after it in `order` (most urgent first), else the one before it.
private func selectNextPending(_ state: inout ConsoleState, after id: String, in order: [String]) {
    let waiting = Set(state.pendingRowIDs).subtracting([id])
    guard !waiting.isEmpty else { return }
    let index = order.firstIndex(of: id) ?? 0
    let candidates = Array(order.dropFirst(index + 1)) + order.prefix(index).reversed()
    state.selectedID = candidates.first(where: waiting.contains) ?? state.pendingRowIDs.first { $0 != id }
    state.detailScroll = 0
}

/// Closes a dialog whose request is no longer pending: the reviewer learns of a lost race
/// before typing, not after.
private func closeStaleDialog(_ state: inout ConsoleState) {
    let ids: [String]
    switch state.modal {
    case .approve(let dialog), .attention(let dialog, _): ids = [dialog.id]
    case .reject(let all, let scope, let reason):
        let open = all.filter { state.byID[$0]?.state == .pending }
        if !open.isEmpty {
            if open.count != all.count { state.modal = .reject(ids: open, scope: "\(open.count) still pending of \(scope)", reason: reason) }
            return
        }
        ids = all
    default: return
    }
    guard let id = ids.first else { return }
    guard let r = state.byID[id] else {
        state.modal = nil
        state.flash = Flash(text: "That request no longer exists", role: .danger)
        return
    }
    guard r.state != .pending else { return }
    state.modal = nil
    state.flash = describe(.notPending(r), state: state)
}

/// What the reviewer is told after a decision, including a lost race.
func describe(_ result: DecideResult, state: ConsoleState) -> Flash {
    let reviewer = SafeText.escape(state.reviewer.user)
    switch result {
    case .recorded(let r):
        switch r.state {
        case .approved: return Flash(text: "Approved \(r.id) as \(reviewer)", role: .success)
        case .rejected: return Flash(text: "Rejected \(r.id) as \(reviewer)", role: .warning)
        default:
            let approvals = r.votes.filter { $0.verdict == .approve }.count
            return Flash(text: "Vote recorded: \(approvals) of \(r.requiredApprovals) approvals for \(r.id)", role: .accent)
        }
    case .notPending(let r):
        let who = SafeText.escape(r.closedBy ?? "someone")
        let when = r.closedAt.map { Times.moment($0, state) } ?? "?"
        if r.state == .expired { return Flash(text: "Too late: \(r.id) expired \(when) (denied)", role: .danger) }
        return Flash(text: "Already decided by \(who) \(when): \(r.state.rawValue)", role: .danger)
    case .refused(let refusal, _):
        return Flash(text: "Not recorded: \(refusal.description)", role: .danger)
    case .notFound:
        return Flash(text: "That request no longer exists", role: .danger)
    }
}

private func handle(_ key: Key, _ state: inout ConsoleState) -> [Effect] {
    if state.modal != nil { return handleModal(key, &state) }
    if state.editingFilter {
        switch key {
        case .enter:
            state.editingFilter = false
        case .escape:
            state.editingFilter = false
            state.filterText = ""
            state.rebuildRows()
        case .backspace:
            if !state.filterText.isEmpty { state.filterText.removeLast() }
            state.rebuildRows()
        case .char(let c) where !c.isNewline:
            state.filterText.append(c)
            state.rebuildRows()
        default: break
        }
        keepSelectionVisible(&state)
        return selectionEffects(&state, previous: nil)
    }
    state.flash = nil
    let previous = state.selectedID
    var effects: [Effect] = []
    let inDetail = state.focus == .detail || state.zoomed
    switch key {
    case .char("q"):
        state.quitting = true
        return [.quit]
    case .char("?"):
        state.modal = .help
    case .tab, .backTab:
        state.focus = state.focus == .list ? .detail : .list
        if state.focus == .list { state.zoomed = false }
    case .enter, .right:
        if state.selected != nil { state.focus = .detail }
    case .escape, .left:
        state.focus = .list
        state.zoomed = false
    case .char("z"):
        guard state.selected != nil else { break }
        state.zoomed.toggle()
        state.focus = state.zoomed ? .detail : .list
    case .char("<"):
        state.splitShift = Layout(width: state.width, height: state.height, splitShift: state.splitShift - 5).effectiveShift
    case .char(">"):
        state.splitShift = Layout(width: state.width, height: state.height, splitShift: state.splitShift + 5).effectiveShift
    case .char("/"):
        state.editingFilter = true
    case .char("t"):
        state.tierFilter = state.tierFilter.next
        state.rebuildRows()
    case .char("j"), .down:
        if inDetail { state.detailScroll = min(state.detailScroll + 1, detailScrollLimit(state)) } else { moveSelection(&state, by: 1) }
    case .char("k"), .up:
        if inDetail { state.detailScroll = max(0, state.detailScroll - 1) } else { moveSelection(&state, by: -1) }
    case .pageDown, .char(" "):
        if inDetail { state.detailScroll = min(state.detailScroll + pageSize(state), detailScrollLimit(state)) } else { moveSelection(&state, by: pageSize(state)) }
    case .pageUp:
        if inDetail { state.detailScroll = max(0, state.detailScroll - pageSize(state)) } else { moveSelection(&state, by: -pageSize(state)) }
    case .char("g"), .home:
        if inDetail { state.detailScroll = 0 } else { moveSelection(&state, by: Int.min / 2) }
    case .char("G"), .end:
        if inDetail { state.detailScroll = detailScrollLimit(state) } else { moveSelection(&state, by: Int.max / 2) }
    case .char("n"), .char("N"):
        let waiting = state.pendingRowIDs
        guard !waiting.isEmpty else {
            state.flash = Flash(text: "Nothing is waiting", role: .muted)
            break
        }
        let here = state.selectedID.flatMap { waiting.firstIndex(of: $0) }
        let step = key == .char("n") ? 1 : -1
        let next = here.map { ($0 + step + waiting.count) % waiting.count } ?? (step > 0 ? 0 : waiting.count - 1)
        state.selectedID = waiting[next]
    case .char("a"):
        guard let r = pendingSelection(&state, for: "approved") else { break }
        let dialog = ApproveDialog(id: r.id, confirmation: confirmationWord(for: r))
        let guards = state.guards
        let streak = state.approvalTimes.filter { state.now - $0 < guards.streakWindow }.count
        state.modal = guards.streakLimit > 0 && streak >= guards.streakLimit ? .attention(then: dialog, typed: "") : .approve(dialog)
    case .char("r"):
        guard let r = pendingSelection(&state, for: "rejected") else { break }
        let copies = state.copies(of: r.id)
        state.modal = .reject(ids: [r.id] + copies, scope: copies.isEmpty ? "1 request" : "\(copies.count + 1) identical requests", reason: "")
    case .char("R"):
        guard let r = pendingSelection(&state, for: "rejected") else { break }
        let session = r.document["agent"]?["session"]?.stringValue
        let run = state.snapshot.requests.filter { $0.state == .pending && $0.agentID == r.agentID && $0.document["agent"]?["session"]?.stringValue == session }
        let ids = [r.id] + run.map(\.id).filter { $0 != r.id }
        let what = session.map { "run \(SafeText.escape($0)) of \(SafeText.escape(r.agentID))" } ?? "agent \(SafeText.escape(r.agentID))"
        state.modal = .reject(ids: ids, scope: "the whole \(what): \(ids.count) pending request\(ids.count == 1 ? "" : "s")", reason: "")
    case .char("H"):
        guard let r = state.selected else { break }
        state.modal = state.snapshot.haltedAgents.contains(r.agentID) ? .resume(agent: r.agentID) : .halt(agent: r.agentID, reason: "")
    case .char("y"), .char("Y"):
        guard let r = state.selected else { break }
        let action = r.document["action"]
        let text = key == .char("Y") ? r.id : ActionText.what(action)
        // Agent text goes to the clipboard as it is shown: escaped when it is not clean.
        effects.append(.copy(SafeText.isClean(text) ? text : SafeText.escape(text)))
        state.flash = Flash(text: key == .char("Y") ? "Copied the id \(r.id)" : "Copied the command", role: .success)
    default:
        break
    }
    keepSelectionVisible(&state)
    return effects + selectionEffects(&state, previous: previous)
}

/// The selected request when it is pending; otherwise says why it cannot be `verb`.
private func pendingSelection(_ state: inout ConsoleState, for verb: String) -> StoredRequest? {
    guard let r = state.selected else { return nil }
    guard r.state == .pending else {
        state.flash = Flash(text: "\(r.id) is \(r.state.rawValue): only pending requests can be \(verb)", role: .warning)
        return nil
    }
    return r
}

private func selectionEffects(_ state: inout ConsoleState, previous: String?) -> [Effect] {
    guard let id = state.selectedID, id != previous else { return [] }
    state.detailScroll = 0
    return state.histories[id] == nil ? [.loadHistory(id: id)] : []
}

/// What a reviewer must type to approve: the target's name for destructive or irreversible
/// actions (as GitHub asks for a repository's name before deleting it); nil means one key.
public func confirmationWord(for r: StoredRequest) -> String? {
    let irreversible = r.destructive || r.irreversible || r.dataLoss || r.document["impact"]?["reversible"]?.boolValue == false
    guard irreversible else { return nil }
    if let target = r.document["action"]?["targets"]?.arrayValue?.first?.stringValue, !target.isEmpty, SafeText.isClean(target) {
        return target
    }
    return "approve"
}

private func handleModal(_ key: Key, _ state: inout ConsoleState) -> [Effect] {
    guard let modal = state.modal else { return [] }
    if key == .escape {
        state.modal = nil
        return []
    }
    switch modal {
    case .help:
        state.modal = nil
        return []
    case .approve(var dialog):
        if key == .tab || key == .backTab {
            dialog.editingNote.toggle()
            state.modal = .approve(dialog)
            return []
        }
        let submitted: Bool
        if dialog.editingNote {
            submitted = edit(&dialog.note, with: key)
        } else if dialog.confirmation != nil {
            submitted = edit(&dialog.typed, with: key)
        } else {
            if key == .char("n") {
                state.modal = nil
                return []
            }
            submitted = key == .char("y") || key == .enter
        }
        state.modal = .approve(dialog)
        return submitted ? approve(dialog, &state) : []
    case .attention(let dialog, var typed):
        guard edit(&typed, with: key) else {
            state.modal = .attention(then: dialog, typed: typed)
            return []
        }
        guard typed.trimmingCharacters(in: .whitespaces).lowercased() == "yes" else {
            state.flash = Flash(text: "Type yes if you are still reading each request (Esc cancels)", role: .warning)
            return []
        }
        state.attentionConfirmed = state.approvalTimes.filter { state.now - $0 < state.guards.streakWindow }.count
        state.approvalTimes = []
        state.modal = .approve(dialog)
        return []
    case .reject(let ids, let scope, var reason):
        guard edit(&reason, with: key) else {
            state.modal = .reject(ids: ids, scope: scope, reason: reason)
            return []
        }
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
            state.flash = Flash(text: "A rejection needs a reason", role: .warning)
            return []
        }
        state.modal = nil
        if let first = ids.first { selectNextPending(&state, after: first, in: state.pendingRowIDs) }
        return ids.map { .decide(id: $0, verdict: .reject, reason: reason) }
    case .halt(let agent, var reason):
        guard edit(&reason, with: key) else {
            state.modal = .halt(agent: agent, reason: reason)
            return []
        }
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
            state.flash = Flash(text: "Halting needs a reason", role: .warning)
            return []
        }
        state.modal = nil
        return [.halt(agent: agent, reason: reason)]
    case .resume(let agent):
        if key == .char("y") || key == .enter {
            state.modal = nil
            return [.resume(agent: agent)]
        }
        if key == .char("n") { state.modal = nil }
        return []
    }
}

/// The approve dialog was submitted: checks what was typed and the reading guard, then
/// sends the vote (with the note and what the guards saw) and moves to the next request.
private func approve(_ dialog: ApproveDialog, _ state: inout ConsoleState) -> [Effect] {
    if let confirmation = dialog.confirmation, dialog.typed != confirmation {
        state.flash = Flash(text: "Type \(confirmation) exactly to approve (Esc cancels)", role: .warning)
        return []
    }
    var facts: [String] = []
    if dialog.confirmation != nil {
        let shown = state.now - (state.detailShownAt[dialog.id] ?? state.now)
        let wait = state.guards.minReadSeconds - shown
        if wait > 0 {
            state.flash = Flash(text: "Read it first: this cannot be undone; it can be approved in \(String(format: "%.0f", wait.rounded(.up)))s", role: .warning)
            return []
        }
        facts.append("detail read \(Int(shown))s")
    }
    if let streak = state.attentionConfirmed {
        facts.append("still reading, confirmed after \(streak) approvals")
        state.attentionConfirmed = nil
    }
    var reason = dialog.note.trimmingCharacters(in: .whitespaces)
    if !facts.isEmpty { reason += (reason.isEmpty ? "" : " ") + "[console: " + facts.joined(separator: "; ") + "]" }
    state.modal = nil
    state.approvalTimes.append(state.now)
    selectNextPending(&state, after: dialog.id, in: state.pendingRowIDs)
    return [.decide(id: dialog.id, verdict: .approve, reason: reason)]
}

/// Applies a key to a one-line text field; returns true when Enter submits it.
private func edit(_ text: inout String, with key: Key) -> Bool {
    switch key {
    case .enter: return true
    case .backspace: if !text.isEmpty { text.removeLast() }
    case .char(let c): text.append(c)
    default: break
    }
    return false
}

func pageSize(_ state: ConsoleState) -> Int { max(1, state.height - 4) }

private func moveSelection(_ state: inout ConsoleState, by delta: Int) {
    let indices = state.requestRowIndices
    guard !indices.isEmpty else { return }
    let current = state.selectedRowIndex.flatMap { indices.firstIndex(of: $0) } ?? 0
    let target = min(indices.count - 1, max(0, current + delta))
    if case .request(let id, _, _) = state.rows[indices[target]] { state.selectedID = id }
}

/// Scrolls the list so the selected row (and its group heading, when it fits) is visible.
func keepSelectionVisible(_ state: inout ConsoleState) {
    let visible = max(1, Layout(width: state.width, height: state.height).listHeight)
    guard let row = state.selectedRowIndex else {
        state.listTop = 0
        return
    }
    if row < state.listTop { state.listTop = max(0, row - 1) }
    if row >= state.listTop + visible { state.listTop = row - visible + 1 }
    state.listTop = max(0, min(state.listTop, max(0, state.rows.count - visible)))
}

import Foundation
import HoldpointCore
import HoldpointStore

/// One entry of the keymap: the single table that drives the reducer's dispatch, the help
/// overlay and the footer, so they cannot disagree.
public struct KeyBinding: Sendable {
    public var keys: String
    public var action: String
    /// Where it works: the list and detail panes, or only with a request selected.
    public var needsSelection: Bool
    public var inFooter: Bool
}

public enum Keymap {
    public static let bindings: [KeyBinding] = [
        KeyBinding(keys: "j/k ↑/↓", action: "move", needsSelection: false, inFooter: true),
        KeyBinding(keys: "g/G", action: "first/last", needsSelection: false, inFooter: false),
        KeyBinding(keys: "PgUp/PgDn", action: "page", needsSelection: false, inFooter: false),
        KeyBinding(keys: "Tab", action: "switch pane", needsSelection: false, inFooter: true),
        KeyBinding(keys: "Enter", action: "open", needsSelection: true, inFooter: false),
        KeyBinding(keys: "a", action: "approve", needsSelection: true, inFooter: true),
        KeyBinding(keys: "r", action: "reject", needsSelection: true, inFooter: true),
        KeyBinding(keys: "H", action: "halt/resume agent", needsSelection: true, inFooter: true),
        KeyBinding(keys: "/", action: "filter", needsSelection: false, inFooter: true),
        KeyBinding(keys: "t", action: "tier filter", needsSelection: false, inFooter: true),
        KeyBinding(keys: "?", action: "help", needsSelection: false, inFooter: true),
        KeyBinding(keys: "q", action: "quit", needsSelection: false, inFooter: true),
    ]
}

/// The console's whole behaviour: the next state, and what to ask of the world.
/// Pure: no I/O, no clock, no terminal. Tests drive it with events and read the state.
public func update(_ state: inout ConsoleState, _ event: ConsoleEvent) -> [Effect] {
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
        let previousSelection = state.selectedID
        let before = state.byID
        state.now = snapshot.now
        state.apply(snapshot)
        // A request that changed (a vote, a decision, a run) has a longer history now: what
        // was loaded is dropped, and reloaded below when it is the one on screen.
        for id in state.histories.keys where state.byID[id] != before[id] { state.histories[id] = nil }
        var effects: [Effect] = []
        let pending = Set(snapshot.requests.filter { $0.state == .pending }.map(\.id))
        if let seen = state.seenPending, !pending.subtracting(seen).isEmpty, state.bellEnabled {
            effects.append(.bell)  // a new gated request: ring once
        }
        state.seenPending = (state.seenPending ?? []).union(pending)
        if let id = state.selectedID, id != previousSelection || state.histories[id] == nil { effects.append(.loadHistory(id: id)) }
        keepSelectionVisible(&state)
        return effects
    case .history(let id, let entries):
        state.histories[id] = entries
        return []
    case .decided(let result):
        state.flash = describe(result, reviewer: state.reviewer.user)
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

/// What the reviewer is told after a decision, including a lost race.
func describe(_ result: DecideResult, reviewer: String) -> Flash {
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
        let when = r.closedAt.map { Clock.iso8601($0) } ?? "?"
        if r.state == .expired { return Flash(text: "Too late: \(r.id) expired at \(when) (denied)", role: .danger) }
        return Flash(text: "Already decided by \(who) at \(when): \(r.state.rawValue)", role: .danger)
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
    switch key {
    case .char("q"):
        state.quitting = true
        return [.quit]
    case .char("?"):
        state.modal = .help
    case .tab, .backTab:
        state.focus = state.focus == .list ? .detail : .list
    case .enter, .right:
        if state.selected != nil { state.focus = .detail }
    case .escape, .left:
        state.focus = .list
    case .char("/"):
        state.editingFilter = true
    case .char("t"):
        state.tierFilter = state.tierFilter.next
        state.rebuildRows()
    case .char("j"), .down:
        if state.focus == .detail { state.detailScroll = min(state.detailScroll + 1, detailScrollLimit(state)) } else { moveSelection(&state, by: 1) }
    case .char("k"), .up:
        if state.focus == .detail { state.detailScroll = max(0, state.detailScroll - 1) } else { moveSelection(&state, by: -1) }
    case .pageDown, .char(" "):
        if state.focus == .detail { state.detailScroll = min(state.detailScroll + pageSize(state), detailScrollLimit(state)) } else { moveSelection(&state, by: pageSize(state)) }
    case .pageUp:
        if state.focus == .detail { state.detailScroll = max(0, state.detailScroll - pageSize(state)) } else { moveSelection(&state, by: -pageSize(state)) }
    case .char("g"), .home:
        if state.focus == .detail { state.detailScroll = 0 } else { moveSelection(&state, by: Int.min / 2) }
    case .char("G"), .end:
        if state.focus == .detail { state.detailScroll = detailScrollLimit(state) } else { moveSelection(&state, by: Int.max / 2) }
    case .char("a"):
        guard let r = state.selected else { break }
        guard r.state == .pending else {
            state.flash = Flash(text: "\(r.id) is \(r.state.rawValue): only pending requests can be approved", role: .warning)
            break
        }
        state.modal = .approve(id: r.id, confirmation: confirmationWord(for: r), typed: "")
    case .char("r"):
        guard let r = state.selected else { break }
        guard r.state == .pending else {
            state.flash = Flash(text: "\(r.id) is \(r.state.rawValue): only pending requests can be rejected", role: .warning)
            break
        }
        state.modal = .reject(id: r.id, reason: "")
    case .char("H"):
        guard let r = state.selected else { break }
        state.modal = state.snapshot.haltedAgents.contains(r.agentID) ? .resume(agent: r.agentID) : .halt(agent: r.agentID, reason: "")
    default:
        break
    }
    keepSelectionVisible(&state)
    return selectionEffects(&state, previous: previous)
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
    case .approve(let id, let confirmation, var typed):
        if let confirmation {
            guard edit(&typed, with: key) else {
                state.modal = .approve(id: id, confirmation: confirmation, typed: typed)
                return []
            }
            guard typed == confirmation else {
                state.flash = Flash(text: "Type \(confirmation) exactly to approve (Esc cancels)", role: .warning)
                return []
            }
            state.modal = nil
            return [.decide(id: id, verdict: .approve, reason: "")]
        }
        if key == .char("y") || key == .enter {
            state.modal = nil
            return [.decide(id: id, verdict: .approve, reason: "")]
        }
        if key == .char("n") { state.modal = nil }
        return []
    case .reject(let id, var reason):
        guard edit(&reason, with: key) else {
            state.modal = .reject(id: id, reason: reason)
            return []
        }
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
            state.flash = Flash(text: "A rejection needs a reason", role: .warning)
            return []
        }
        state.modal = nil
        return [.decide(id: id, verdict: .reject, reason: reason)]
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
    if case .request(let id, _) = state.rows[indices[target]] { state.selectedID = id }
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

import Foundation
import HoldpointCore

/// A key as the console understands it, whatever terminal produced it.
public enum Key: Sendable, Equatable {
    case char(Character)
    case up, down, left, right, pageUp, pageDown, home, end
    case tab, backTab, enter, escape, backspace
}

/// Everything that can happen to the console. Input, time and the queue all arrive as events.
public enum ConsoleEvent: Sendable {
    case key(Key)
    case tick(now: Double)
    case resized(width: Int, height: Int)
    case snapshot(ReviewSnapshot)
    case history(id: String, entries: [AuditEntry])
    case decided(DecideResult)
    case haltDone(String)
    case failed(String)
}

/// What the console asks the outside world to do. The runtime performs it and feeds the
/// result back as an event, so `update` stays pure.
public enum Effect: Sendable, Equatable {
    case decide(id: String, verdict: Verdict, reason: String)
    case halt(agent: String, reason: String)
    case resume(agent: String)
    case loadHistory(id: String)
    case refresh
    case bell
    /// Put `text` on the reviewer's clipboard (OSC 52, so it works over SSH).
    case copy(String)
    case quit
}

/// The queue as the console last saw it.
public struct ReviewSnapshot: Sendable, Equatable {
    public var requests: [StoredRequest]
    public var haltedAgents: Set<String>
    /// Requests whose agent had never done this kind of operation before (FIRST TIME).
    public var firstTime: Set<String>
    public var now: Double

    public init(requests: [StoredRequest], haltedAgents: Set<String>, firstTime: Set<String>, now: Double) {
        self.requests = requests
        self.haltedAgents = haltedAgents
        self.firstTime = firstTime
        self.now = now
    }
}

/// The list's groups, in the order a reviewer triages them.
public enum Group: String, Sendable, CaseIterable {
    case gated = "Gated — awaiting decision"
    case blocked = "Blocked by policy"
    case supervised = "Supervised — spot-check"
    case decided = "Recent decisions"
}

/// `t` cycles through these.
public enum TierFilter: String, Sendable, CaseIterable {
    case all, gated, blocked, supervised, decided

    var next: TierFilter {
        let all = TierFilter.allCases
        return all[((all.firstIndex(of: self) ?? 0) + 1) % all.count]
    }
}

public enum Pane: Sendable, Equatable { case list, detail }

/// The approve dialog: what must be typed, if anything, and an optional note.
public struct ApproveDialog: Sendable, Equatable {
    public var id: String
    /// What must be typed (a target's name) for destructive or irreversible actions; nil:
    /// press y or Enter.
    public var confirmation: String?
    public var typed = ""
    /// An optional note, recorded with the vote (Tab moves to it).
    public var note = ""
    public var editingNote = false

    public init(id: String, confirmation: String?, typed: String = "", note: String = "", editingNote: Bool = false) {
        self.id = id
        self.confirmation = confirmation
        self.typed = typed
        self.note = note
        self.editingNote = editingNote
    }
}

/// A dialog on top of the screen. Each holds what the reviewer has typed so far.
public enum Modal: Sendable, Equatable {
    case help
    case approve(ApproveDialog)
    /// Rejects every request in `ids` (one, the identical copies of a row, or a whole run)
    /// with one reason.
    case reject(ids: [String], scope: String, reason: String)
    case halt(agent: String, reason: String)
    case resume(agent: String)
    /// After a long streak of approvals: the reviewer types `yes` to say they are still
    /// reading each request; then the approval they asked for continues.
    case attention(then: ApproveDialog, typed: String)
}

/// The fatigue guards (from the policy's `approvals`; 0 turns one off).
public struct AttentionGuards: Sendable, Equatable {
    /// An irreversible action cannot be approved until its detail has been on screen this long.
    public var minReadSeconds: Double = 2
    /// After this many approvals within `streakWindow` seconds, the console asks whether the
    /// reviewer is still reading.
    public var streakLimit: Int = 10
    public var streakWindow: Double = 300

    public init(minReadSeconds: Double = 2, streakLimit: Int = 10, streakWindow: Double = 300) {
        self.minReadSeconds = minReadSeconds
        self.streakLimit = streakLimit
        self.streakWindow = streakWindow
    }

    /// The guards a policy's `approvals` sets.
    public init(_ approvals: ApprovalRules) {
        self.init(minReadSeconds: approvals.minReadTime, streakLimit: approvals.attentionCheckAfter, streakWindow: approvals.attentionCheckWithin)
    }
}

public struct Flash: Sendable, Equatable {
    public var text: String
    public var role: StyleRole
}

/// One line of the list: a group heading or a request.
public enum ListRow: Sendable, Equatable {
    case heading(Group, count: Int)
    /// A request; `copies` are the ids of identical pending requests (same agent, same
    /// action) folded into this row.
    case request(id: String, group: Group, copies: [String] = [])
    case empty(String)
}

/// The whole console, as a value. Only `update` changes it.
public struct ConsoleState: Sendable {
    public var queueName: String
    public var reviewer: Identity
    public var width: Int
    public var height: Int
    public var now: Double
    public var live = true
    public var bellEnabled = true
    /// Environment names shown with production's emphasis (lower-case): the policy's
    /// `production_environments`, so a site's `prd-eu` stands out as `production` does.
    public var productionEnvironments = Policy.defaultProductionEnvironments
    /// Times are shown in this zone: the reviewer's own, or UTC (`review --utc`).
    public var timeZone: TimeZone = .gmt
    public var guards = AttentionGuards()

    public private(set) var snapshot = ReviewSnapshot(requests: [], haltedAgents: [], firstTime: [], now: 0)
    /// Requests by id, and the list as shown: derived from the snapshot and the filters,
    /// recomputed only when one of those changes.
    public private(set) var byID: [String: StoredRequest] = [:]
    public private(set) var rows: [ListRow] = []
    public private(set) var counts: [Group: Int] = [:]

    public var selectedID: String?
    public var focus: Pane = .list
    public var listTop = 0
    public var detailScroll = 0
    /// Columns added to the list pane (`>`) or taken from it (`<`).
    public var splitShift = 0
    /// The detail pane takes the whole body (`z`).
    public var zoomed = false
    public var filterText = ""
    public var editingFilter = false
    public var tierFilter: TierFilter = .all
    public var modal: Modal?
    public var flash: Flash?
    public var histories: [String: [AuditEntry]] = [:]
    public var quitting = false
    var seenPending: Set<String>?
    /// When each request's detail was first on screen (the reading guard).
    public internal(set) var detailShownAt: [String: Double] = [:]
    /// This session's recent approvals (the streak guard).
    public internal(set) var approvalTimes: [Double] = []
    /// Set when the reviewer has just confirmed they are reading; recorded with the vote.
    var attentionConfirmed: Int?

    public init(queueName: String, reviewer: Identity, width: Int, height: Int, now: Double) {
        self.queueName = queueName
        self.reviewer = reviewer
        self.width = width
        self.height = height
        self.now = now
    }

    public var selected: StoredRequest? { selectedID.flatMap { byID[$0] } }

    /// Which group a request belongs in, or nil when it is not shown (autonomous reads).
    static func group(of r: StoredRequest) -> Group? {
        switch r.state {
        case .pending: return .gated
        case .blocked: return .blocked
        case .allowed: return r.tier == .supervised ? .supervised : nil
        case .approved, .rejected, .expired, .halted, .withdrawn, .running, .succeeded, .failed: return .decided
        }
    }

    func matchesFilter(_ r: StoredRequest) -> Bool {
        guard !filterText.isEmpty else { return true }
        let needle = filterText.lowercased()
        let action = r.document["action"]
        let haystack = [
            r.agentID, r.environment, ActionText.what(action), action?["operation"]?.stringValue ?? "",
            r.document["summary"]?.stringValue ?? "", r.id, r.state.rawValue,
        ]
        return haystack.contains { $0.lowercased().contains(needle) }
    }

    /// Rebuilds `rows` from the snapshot and filters; keeps the selection where it can.
    mutating func rebuildRows() {
        var groups: [Group: [StoredRequest]] = [:]
        var hidden: [Group: Int] = [:]
        for r in snapshot.requests {
            guard let g = Self.group(of: r) else { continue }
            guard matchesFilter(r) else {
                hidden[g, default: 0] += 1
                continue
            }
            groups[g, default: []].append(r)
        }
        // Soonest deadline first; the id only breaks ties (reading it costs a reference count).
        groups[.gated]?.sort { a, b in
            let (x, y) = (a.expiresAt ?? .infinity, b.expiresAt ?? .infinity)
            return x != y ? x < y : a.id < b.id
        }
        groups[.blocked]?.sort { $0.createdAt > $1.createdAt }
        groups[.supervised]?.sort { $0.createdAt > $1.createdAt }
        groups[.decided]?.sort { ($0.closedAt ?? $0.createdAt) > ($1.closedAt ?? $1.createdAt) }
        if var decided = groups[.decided], decided.count > 200 {
            decided.removeLast(decided.count - 200)
            groups[.decided] = decided
        }
        // The header counts what is there, whatever the filter shows.
        counts = groups.mapValues(\.count).merging(hidden) { $0 + $1 }
        // Identical pending requests (same agent, same action) fold into one row: the most
        // urgent stands for them.
        var copies: [String: [String]] = [:]
        if let gated = groups[.gated] {
            var first: [String: String] = [:]
            var kept: [StoredRequest] = []
            for r in gated {
                let key = r.agentID + "\u{1F}" + r.actionSHA256
                if let leader = first[key] {
                    copies[leader, default: []].append(r.id)
                } else {
                    first[key] = r.id
                    kept.append(r)
                }
            }
            groups[.gated] = kept
        }
        var out: [ListRow] = []
        for g in Group.allCases {
            switch (tierFilter, g) {
            case (.all, _), (.gated, .gated), (.blocked, .blocked), (.supervised, .supervised), (.decided, .decided): break
            default: continue
            }
            let members = groups[g] ?? []
            out.append(.heading(g, count: members.reduce(0) { $0 + 1 + (copies[$1.id]?.count ?? 0) }))
            if members.isEmpty {
                // Never "nothing waiting" while the filter hides what is waiting.
                if let n = hidden[g], n > 0 {
                    out.append(.empty("no match for “\(SafeText.escape(filterText))”: \(n) hidden by the filter"))
                } else {
                    out.append(.empty(g == .gated ? "nothing waiting for you" : "none"))
                }
            }
            for r in members { out.append(.request(id: r.id, group: g, copies: copies[r.id] ?? [])) }
        }
        rows = out
        if selectedID == nil || !rows.contains(where: { if case .request(let id, _, _) = $0 { return id == selectedID } else { return false } }) {
            selectedID = rows.lazy.compactMap { if case .request(let id, _, _) = $0 { return id } else { return nil } }.first
            detailScroll = 0
        }
    }

    mutating func apply(_ snapshot: ReviewSnapshot) {
        self.snapshot = snapshot
        byID = Dictionary(snapshot.requests.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
        let pending = snapshot.requests.filter { $0.state == .pending }
        waiting = (pending.count, pending.compactMap(\.expiresAt).min())
        rebuildRows()
    }

    /// The rows of the list pane that are requests, with their index in `rows`.
    var requestRowIndices: [Int] {
        rows.indices.filter { if case .request = rows[$0] { return true } else { return false } }
    }

    var selectedRowIndex: Int? {
        guard let selectedID else { return nil }
        return rows.firstIndex { if case .request(let id, _, _) = $0 { return id == selectedID } else { return false } }
    }

    /// The pending requests as listed (most urgent first), one per row.
    public var pendingRowIDs: [String] {
        rows.compactMap { if case .request(let id, .gated, _) = $0 { return id } else { return nil } }
    }

    /// The identical copies folded into `id`'s row.
    func copies(of id: String) -> [String] {
        for row in rows { if case .request(id, _, let copies) = row { return copies } }
        return []
    }

    /// Pending requests, how many, and the soonest deadline: the header and the title
    /// (worked out once per snapshot, not per frame).
    public private(set) var waiting: (count: Int, soonest: Double?) = (0, nil)

    /// Whether the detail pane is on screen: beside the list, zoomed, or opened.
    var detailVisible: Bool {
        Layout(width: width, height: height).sideBySide || zoomed || focus == .detail
    }
}

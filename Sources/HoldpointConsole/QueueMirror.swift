import HoldpointCore

/// What the console reads from a queue, whichever way it is reached (the file, the
/// daemon): the CLI adapts its `QueueService` to it, the benchmark a `QueueStore`.
public protocol ReviewSource {
    /// The newest audit entry's number: changes whenever anything is committed.
    func changeCounter() throws(StoreError) -> Int64
    func auditEntries(afterSeq: Int64, requestID: String?, limit: Int?) throws(StoreError) -> [AuditEntry]
    func request(id: String) throws(StoreError) -> StoredRequest?
    func list(_ filter: RequestFilter) throws(StoreError) -> [StoredRequest]
    /// "agent\u{1F}operation class" for what each agent has had run or approved.
    func establishedActions() throws(StoreError) -> Set<String>
    func halts() throws(StoreError) -> [AgentHalt]
}

/// What the console shows of the queue (every pending request and the most recent others),
/// kept up to date from the audit log instead of read again in full on every change.
///
/// Every change to a request is committed together with an audit entry naming it, so the
/// entries after the last sequence number seen say exactly which requests to read again.
/// A refresh therefore costs what changed, not what the queue holds: with 10,000 pending
/// requests and hooks committing 30 times a second, the console reads a few rows per
/// change. When the gap is long (the console was offline, or the log was archived under
/// it) the mirror reads everything once, as it does at start.
public final class QueueMirror {
    /// Requests shown besides the pending ones: the newest by creation time.
    public static let recentCount = 500
    /// Past this many new entries a full read is cheaper than following them one by one.
    public static let catchUpLimit = 2_000

    private let source: any ReviewSource
    private var byID: [String: StoredRequest] = [:]
    private var established: Set<String> = []
    private var halted: Set<String> = []
    /// The last audit entry reflected in `byID`; nil before the first read.
    public private(set) var seenSeq: Int64?
    /// How the last refresh was done, for tests and the benchmark.
    public private(set) var lastRefreshWasFull = false

    public init(source: any ReviewSource) {
        self.source = source
    }

    public func snapshot(now: Double) throws(StoreError) -> ReviewSnapshot {
        try refresh()
        let firstTime = Set(byID.values.filter { ($0.state == .pending || $0.state == .blocked) && !established.contains("\($0.agentID)\u{1F}\($0.operationClass.rawValue)") }.map(\.id))
        return ReviewSnapshot(requests: byID.values.sorted(by: Self.older), haltedAgents: halted, firstTime: firstTime, now: now)
    }

    /// Brings the mirror up to the log's head.
    public func refresh() throws(StoreError) {
        let head = try source.changeCounter()
        guard let seen = seenSeq, head >= seen, head - seen <= Self.catchUpLimit else {
            try readEverything(head: head)
            return
        }
        lastRefreshWasFull = false
        guard head > seen else { return }
        let entries = try source.auditEntries(afterSeq: seen, requestID: nil, limit: nil)
        // The log moved on while we read the head: keep to what the entries say.
        guard let last = entries.last?.seq else { return }
        // Archiving removes requests without an entry of their own: read it all again.
        if entries.contains(where: { $0.event == "archived" }) {
            try readEverything(head: last)
            return
        }
        var touched = Set<String>()
        var agentsChanged = false
        for entry in entries {
            if let id = entry.requestID { touched.insert(id) } else { agentsChanged = true }
        }
        var learned = false
        for id in touched {
            if let request = try source.request(id: id) {
                byID[id] = request
                if [.allowed, .approved, .running, .succeeded, .failed].contains(request.state) { learned = true }
            } else {
                byID[id] = nil  // archived
            }
        }
        if learned { established = try source.establishedActions() }
        if agentsChanged { halted = Set(try source.halts().map(\.agent)) }
        trimRecent()
        seenSeq = last
    }

    private func readEverything(head: Int64) throws(StoreError) {
        var fresh: [String: StoredRequest] = [:]
        for r in try source.list(RequestFilter(states: [.pending])) { fresh[r.id] = r }
        for r in try source.list(RequestFilter(limit: Self.recentCount)) { fresh[r.id] = r }
        byID = fresh
        established = try source.establishedActions()
        halted = Set(try source.halts().map(\.agent))
        seenSeq = head
        lastRefreshWasFull = true
    }

    /// Creation order; the id only breaks ties (reading it costs a reference count).
    static func older(_ a: StoredRequest, _ b: StoredRequest) -> Bool {
        a.createdAt != b.createdAt ? a.createdAt < b.createdAt : a.id < b.id
    }

    /// Keeps every pending request and the `recentCount` newest of the rest.
    private func trimRecent() {
        let others = byID.values.filter { $0.state != .pending }
        guard others.count > Self.recentCount else { return }
        let sorted = others.sorted { Self.older($1, $0) }
        for r in sorted[Self.recentCount...] { byID[r.id] = nil }
    }
}

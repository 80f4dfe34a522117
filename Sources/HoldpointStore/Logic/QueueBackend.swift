import HoldpointCore

/// A queue as the daemon, the gate and the notifier use it, whichever database holds it:
/// the SQLite file (`QueueStore`) or a PostgreSQL database shared by several daemons
/// (`PostgresQueueStore`). Each implementation runs `QueueLogic` in its own transactions,
/// and takes the time from its own clock (the database's, for PostgreSQL: daemons on several
/// hosts must agree on when a request expires).
public protocol QueueBackend: Sendable {
    /// How the queue is named in messages (a path, or a URL without its password).
    var name: String { get }
    /// The key this process signs checkpoints with.
    var publicKeyHex: String { get }
    /// The keys `audit verify` accepts when none is named: this process's, or, for a queue
    /// several daemons sign, every registered daemon's.
    func signers() throws(StoreError) -> [String]

    func submit(
        _ request: ActionRequest, classification: Classification, approvals: ApprovalRules, submitter: Identity, timeout: Double?,
        gateway: GatewayRules, planKey: String?
    ) throws(StoreError) -> StoredRequest
    func decide(id: String, verdict: Verdict, reviewer: Identity, reason: String) throws(StoreError) -> DecideResult
    /// Expires every overdue request. Returns how many.
    @discardableResult func expireDue() throws(StoreError) -> Int
    /// Expires request `id` if it is pending and overdue by the queue's clock.
    @discardableResult func expireIfDue(id: String) throws(StoreError) -> Bool

    func halt(for agent: String) throws(StoreError) -> AgentHalt?
    func halts() throws(StoreError) -> [AgentHalt]
    func halt(agent: String, reason: String, by: Identity) throws(StoreError) -> Int
    func resume(agent: String, by: Identity) throws(StoreError) -> Bool

    func request(id: String) throws(StoreError) -> StoredRequest?
    func list(_ filter: RequestFilter) throws(StoreError) -> [StoredRequest]
    /// Blocks until request `id` leaves `pending` (or `giveUpAt`). Nil for an unknown id.
    func waitForDecision(id: String, giveUpAt: Double?) throws(StoreError) -> StoredRequest?
    func establishedActions() throws(StoreError) -> Set<String>
    /// A number that changes whenever anything is committed.
    func changeCounter() throws(StoreError) -> Int64

    func reusable(agent: String, environment: String, actionSHA256: String) throws(StoreError) -> StoredRequest?
    func consume(id: String, actionSHA256: String, consumer: String, by: Identity) throws(StoreError) -> ConsumeResult
    func startRun(id: String, pid: Int32, by: Identity) throws(StoreError) -> StoredRequest?
    @discardableResult func finishRun(id: String, exitCode: Int32?, signal: Int32?, note: String?, by: Identity) throws(StoreError) -> StoredRequest?

    func auditEntries(afterSeq: Int64, requestID: String?, limit: Int?, first: Int?) throws(StoreError) -> [AuditEntry]
    func verifyAudit(publicKeyHex: String?, requireHead: Bool, since: AuditPoint?) throws(StoreError) -> AuditReport

    func notifyCursor(sink: String) throws(StoreError) -> NotifyCursor
    func notifyCursors() throws(StoreError) -> [NotifyCursor]
    func notifyDelivered(sink: String, through seq: Int64, events: Int) throws(StoreError)
    func notifyFailed(sink: String, error: String, retryAt: Double) throws(StoreError)
    /// Takes, or renews, the right to deliver `sink` for the next `seconds`, for `owner`;
    /// false while another owner holds it. Several daemons sharing one queue each run the
    /// same sinks: one of them at a time delivers each, so a receiver gets every event once
    /// (and again only after a failure), not once per daemon.
    func claimDelivery(sink: String, owner: String, seconds: Double) throws(StoreError) -> Bool
    /// Gives the right back (a daemon stopping), so another takes over at once.
    func releaseDelivery(sink: String, owner: String) throws(StoreError)
    @discardableResult func escalateDue() throws(StoreError) -> Int

    /// Calls `handler` whenever another process (another daemon) commits, for as long as the
    /// backend is open. A store only this process writes never calls it.
    func onOutsideChange(_ handler: @escaping @Sendable () -> Void)
}

/// A queue that keeps its archived history itself (PostgreSQL: its `archived_*` tables),
/// where `retention:` moves decided history older than `age` on the queue's own clock.
/// (The SQLite queue writes segment files instead: `QueueStore.archive(before:to:by:)`.)
public protocol SelfArchiving: QueueBackend {
    /// Moves what is archivable and older than `age` seconds. Nil when nothing was.
    func archive(olderThan age: Double, by actor: Identity) throws(StoreError) -> ArchivedHistory?
}

/// What one archiving run moved: audit entries `firstSeq…lastSeq` and the requests they began.
public struct ArchivedHistory: Sendable, Equatable {
    public var firstSeq: Int64
    public var lastSeq: Int64
    public var requests: Int

    public init(firstSeq: Int64, lastSeq: Int64, requests: Int) {
        self.firstSeq = firstSeq
        self.lastSeq = lastSeq
        self.requests = requests
    }
}

extension QueueStore: QueueBackend {
    public var name: String { path }
    public var publicKeyHex: String { signer.publicKeyHex }
    public func signers() throws(StoreError) -> [String] { [signer.publicKeyHex] }

    public func submit(
        _ request: ActionRequest, classification: Classification, approvals: ApprovalRules, submitter: Identity, timeout: Double?,
        gateway: GatewayRules, planKey: String?
    ) throws(StoreError) -> StoredRequest {
        try submit(request, classification: classification, approvals: approvals, submitter: submitter, timeout: timeout, gateway: gateway, planKey: planKey, now: Clock.now())
    }

    public func decide(id: String, verdict: Verdict, reviewer: Identity, reason: String) throws(StoreError) -> DecideResult {
        try decide(id: id, verdict: verdict, reviewer: reviewer, reason: reason, now: Clock.now())
    }

    @discardableResult public func expireDue() throws(StoreError) -> Int { try expireDue(now: Clock.now()) }
    @discardableResult public func expireIfDue(id: String) throws(StoreError) -> Bool { try expireIfDue(id: id, now: Clock.now()) }

    public func halt(agent: String, reason: String, by: Identity) throws(StoreError) -> Int {
        try halt(agent: agent, reason: reason, by: by, now: Clock.now())
    }

    public func resume(agent: String, by: Identity) throws(StoreError) -> Bool { try resume(agent: agent, by: by, now: Clock.now()) }

    public func waitForDecision(id: String, giveUpAt: Double?) throws(StoreError) -> StoredRequest? {
        try waitForDecision(id: id, giveUpAt: giveUpAt, pollInterval: 0.1)
    }

    public func reusable(agent: String, environment: String, actionSHA256: String) throws(StoreError) -> StoredRequest? {
        try reusable(agent: agent, environment: environment, actionSHA256: actionSHA256, now: Clock.now())
    }

    public func consume(id: String, actionSHA256: String, consumer: String, by: Identity) throws(StoreError) -> ConsumeResult {
        try consume(id: id, actionSHA256: actionSHA256, consumer: consumer, by: by, now: Clock.now())
    }

    public func startRun(id: String, pid: Int32, by: Identity) throws(StoreError) -> StoredRequest? { try startRun(id: id, pid: pid, by: by, now: Clock.now()) }

    @discardableResult
    public func finishRun(id: String, exitCode: Int32?, signal: Int32?, note: String?, by: Identity) throws(StoreError) -> StoredRequest? {
        try finishRun(id: id, exitCode: exitCode, signal: signal, note: note, by: by, now: Clock.now())
    }

    public func notifyDelivered(sink: String, through seq: Int64, events: Int) throws(StoreError) {
        try notifyDelivered(sink: sink, through: seq, events: events, now: Clock.now())
    }

    /// One deliverer per file (the daemon, or `notify run`): always granted.
    public func claimDelivery(sink: String, owner: String, seconds: Double) throws(StoreError) -> Bool { true }
    public func releaseDelivery(sink: String, owner: String) throws(StoreError) {}

    public func notifyFailed(sink: String, error: String, retryAt: Double) throws(StoreError) {
        try notifyFailed(sink: sink, error: error, retryAt: retryAt, now: Clock.now())
    }

    @discardableResult public func escalateDue() throws(StoreError) -> Int { try escalateDue(now: Clock.now(), limit: 100) }

    /// In socket mode the daemon alone writes the file: nobody else commits.
    public func onOutsideChange(_ handler: @escaping @Sendable () -> Void) {}
}

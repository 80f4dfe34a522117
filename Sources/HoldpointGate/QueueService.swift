import HoldpointCore
import HoldpointStore

/// Everything the commands, the console and the executor ask of Holdpoint, whichever way it
/// is reached: the queue file in this process (`LocalQueue`), or the daemon over its socket
/// (`DaemonClient` in HoldpointRPC). One interface, two implementations, so every command
/// reads the same in both modes and prints the same output and exit codes.
///
/// Classification is part of the interface, not of the caller: in socket mode the daemon
/// classifies with its own policy, and nothing the client says about tiers counts.
public protocol QueueService: Sendable {
    /// Who this caller is, as decisions and submissions record it.
    func whoAmI() throws(StoreError) -> Identity
    /// The verdict without queueing, and how many approvals a gated action would need.
    func classify(_ request: ActionRequest) throws(StoreError) -> (Classification, requiredApprovals: Int)
    /// Queues `request`. `timeout` (seconds from now) can only shorten the policy's deadline.
    func submit(_ request: ActionRequest, timeout: Double?) throws(StoreError) -> StoredRequest
    /// Blocks until request `id` leaves `pending`, or `timeout` seconds pass (then returns it
    /// still pending). Nil for an unknown id.
    func wait(id: String, timeout: Double?) throws(StoreError) -> StoredRequest?
    /// The runtime boundary's decision for hooks and `exec` (see `Gate`).
    func admit(_ request: ActionRequest, consumer: String, hold: Double, timeout: Double?) throws(StoreError) -> Gate.Outcome
    func consume(id: String, actionSHA256: String, consumer: String) throws(StoreError) -> ConsumeResult
    func request(id: String) throws(StoreError) -> StoredRequest?
    func list(_ filter: RequestFilter) throws(StoreError) -> [StoredRequest]
    func decide(id: String, verdict: Verdict, reason: String) throws(StoreError) -> DecideResult
    func halt(agent: String, reason: String) throws(StoreError) -> Int
    func resume(agent: String) throws(StoreError) -> Bool
    func halts() throws(StoreError) -> [QueueStore.Halt]
    func haltFor(agent: String) throws(StoreError) -> QueueStore.Halt?
    func establishedActions() throws(StoreError) -> Set<String>
    func startRun(id: String, pid: Int32) throws(StoreError) -> StoredRequest?
    func finishRun(id: String, exitCode: Int32?, signal: Int32?, note: String?) throws(StoreError) -> StoredRequest?
    func auditEntries(afterSeq: Int64, requestID: String?, limit: Int?) throws(StoreError) -> [AuditEntry]
    /// The report, and the public key it was checked against.
    /// `since`: resume after a checkpoint an earlier verification vouched for.
    func verifyAudit(publicKeyHex: String?, requireHead: Bool, since: AuditPoint?) throws(StoreError) -> (AuditReport, publicKeyHex: String)
    /// A number that changes whenever anything is committed (deadlines passing included).
    func changeCounter() throws(StoreError) -> Int64
    /// The notification sinks of the policy in force and how far each has delivered.
    func notifyState() throws(StoreError) -> NotifyState
}

/// What `notify status` shows: the policy's sinks (names and events, never where they send),
/// each sink's cursor, and the newest audit entry.
public struct NotifyState: Sendable, Equatable {
    public struct Sink: Sendable, Equatable {
        public var name: String
        public var events: [String]

        public init(name: String, events: [String]) {
            self.name = name
            self.events = events
        }
    }

    public var head: Int64
    public var sinks: [Sink]
    public var cursors: [NotifyCursor]

    public init(head: Int64, sinks: [Sink], cursors: [NotifyCursor]) {
        self.head = head
        self.sinks = sinks
        self.cursors = cursors
    }

    public init(head: Int64, policy: Policy, cursors: [NotifyCursor]) {
        self.init(head: head, sinks: policy.notify.map { Sink(name: $0.name, events: $0.events.map(\.rawValue).sorted()) }, cursors: cursors)
    }
}

/// File mode: the queue file opened in this process, the policy this process loaded, and the
/// OS user this process runs as. Trusts whoever can write the file (see the security model).
public struct LocalQueue: QueueService {
    public let store: QueueStore
    public let policy: Policy
    public let identity: Identity
    /// What the gate protects about itself, for an action run in a given directory.
    public let protection: @Sendable (_ workingDirectory: String?) -> SelfProtection

    public init(store: QueueStore, policy: Policy, identity: Identity, protection: @escaping @Sendable (String?) -> SelfProtection) {
        self.store = store
        self.policy = policy
        self.identity = identity
        self.protection = protection
    }

    public func whoAmI() throws(StoreError) -> Identity { identity }

    public func classify(_ request: ActionRequest) throws(StoreError) -> (Classification, requiredApprovals: Int) {
        let classification = Classifier(policy: policy, protection: protection(request.workingDirectory)).classify(request)
        return (classification, classification.tier == .gated ? policy.approvals.applying(to: classification).required : 0)
    }

    public func submit(_ request: ActionRequest, timeout: Double?) throws(StoreError) -> StoredRequest {
        let (classification, _) = try classify(request)
        let now = Clock.now()
        // Classified as it is; stored and shown without its secrets.
        return try store.submit(
            request.redacted(by: policy.redactor), classification: classification, approvals: policy.approvals.applying(to: classification), submitter: identity,
            timeout: timeout, gateway: policy.gateway(for: request.environment), planKey: Plan.key(of: request), now: now)
    }

    public func wait(id: String, timeout: Double?) throws(StoreError) -> StoredRequest? {
        try store.waitForDecision(id: id, giveUpAt: timeout.map { Clock.now() + $0 })
    }

    public func admit(_ request: ActionRequest, consumer: String, hold: Double, timeout: Double?) throws(StoreError) -> Gate.Outcome {
        let (classification, _) = try classify(request)
        return try Gate(store: store, identity: identity, consumer: consumer)
            .admit(
                request, classification: classification, approvals: policy.approvals.applying(to: classification), redactor: policy.redactor, gateway: policy.gateway(for: request.environment),
                hold: hold, timeout: timeout)
    }

    public func consume(id: String, actionSHA256: String, consumer: String) throws(StoreError) -> ConsumeResult {
        try store.consume(id: id, actionSHA256: actionSHA256, consumer: consumer, by: identity)
    }

    public func request(id: String) throws(StoreError) -> StoredRequest? { try store.request(id: id) }

    public func list(_ filter: RequestFilter) throws(StoreError) -> [StoredRequest] {
        try store.expireDue()
        return try store.list(filter)
    }

    public func decide(id: String, verdict: Verdict, reason: String) throws(StoreError) -> DecideResult {
        try store.decide(id: id, verdict: verdict, reviewer: identity, reason: reason)
    }

    public func halt(agent: String, reason: String) throws(StoreError) -> Int { try store.halt(agent: agent, reason: reason, by: identity) }
    public func resume(agent: String) throws(StoreError) -> Bool { try store.resume(agent: agent, by: identity) }
    public func halts() throws(StoreError) -> [QueueStore.Halt] { try store.halts() }
    public func haltFor(agent: String) throws(StoreError) -> QueueStore.Halt? { try store.halt(for: agent) }
    public func establishedActions() throws(StoreError) -> Set<String> { try store.establishedActions() }

    public func startRun(id: String, pid: Int32) throws(StoreError) -> StoredRequest? { try store.startRun(id: id, pid: pid, by: identity) }

    public func finishRun(id: String, exitCode: Int32?, signal: Int32?, note: String?) throws(StoreError) -> StoredRequest? {
        try store.finishRun(id: id, exitCode: exitCode, signal: signal, note: note, by: identity)
    }

    public func auditEntries(afterSeq: Int64, requestID: String?, limit: Int?) throws(StoreError) -> [AuditEntry] {
        try store.auditEntries(afterSeq: afterSeq, requestID: requestID, limit: limit)
    }

    public func verifyAudit(publicKeyHex: String?, requireHead: Bool, since: AuditPoint?) throws(StoreError) -> (AuditReport, publicKeyHex: String) {
        (try store.verifyAudit(publicKeyHex: publicKeyHex, requireHead: requireHead, since: since), publicKeyHex ?? store.signer.publicKeyHex)
    }

    public func changeCounter() throws(StoreError) -> Int64 {
        try store.expireDue()  // a deadline passing is a change too
        return try store.changeCounter()
    }

    public func notifyState() throws(StoreError) -> NotifyState {
        NotifyState(head: try store.changeCounter(), policy: policy, cursors: try store.notifyCursors())
    }
}

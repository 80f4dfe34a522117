import Foundation
import HoldpointCore
import HoldpointGate
import HoldpointRPC
import HoldpointStore
import NIOPosix

/// The daemon's side of every call: who may do what, the daemon's policy and clock, the
/// queue it alone owns. The socket plumbing (`DaemonServer`) hands each frame here with the
/// caller the kernel named.
///
/// Store calls block (SQLite, the disk flush), so they run on a thread pool; a wait for a
/// decision holds no thread: it sleeps on the `ChangeHub` until a vote, a halt or an expiry.
public final class Daemon: Sendable {
    public let store: any QueueBackend
    public let policy: Policy
    /// What the gate protects about itself, for an action run in `workingDirectory` by a
    /// caller whose home is `home`.
    let protection: @Sendable (_ workingDirectory: String?, _ home: String?) -> SelfProtection
    let hub = ChangeHub()
    let pool: NIOThreadPool

    public init(
        store: any QueueBackend, policy: Policy, threads: Int = 8,
        protection: @escaping @Sendable (_ workingDirectory: String?, _ home: String?) -> SelfProtection
    ) {
        self.store = store
        self.policy = policy
        self.protection = protection
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
        // Another daemon's commit (a shared PostgreSQL queue) may decide what this one's
        // agents wait for, or change what its consoles show.
        let hub = self.hub
        store.onOutsideChange {
            hub.decisionsChanged()
            hub.committed()
        }
    }

    /// Why `serve` may not start with `policy` on `store`, or nil.
    public static func refusal(of policy: Policy, on store: any QueueBackend) -> String? {
        if let refusal = refusal(of: policy) { return refusal }
        if let retention = policy.retention, !(store is QueueStore) {
            guard store is any SelfArchiving else { return "retention: the queue \(store.name) cannot archive its history; remove retention: from the policy" }
            if let directory = retention.directory {
                return
                    "retention.directory (\(directory)): a PostgreSQL queue archives into its own archived_* tables, not into segment files; remove directory: from retention:"
            }
        }
        return nil
    }

    /// Why `serve` may not start with `policy`, or nil. In socket mode "anyone may decide"
    /// would include the agents, so reviewers must be named.
    public static func refusal(of policy: Policy) -> String? {
        if policy.approvals.reviewers.isEmpty {
            return "the policy names no approvals.reviewers: in socket mode anyone who can connect (the agents too) could decide. Name the reviewers (logins, or @group)."
        }
        return nil
    }

    func blocking<T: Sendable>(_ body: @escaping @Sendable () throws(StoreError) -> T) async throws(StoreError) -> T {
        do {
            return try await pool.runIfActive { () throws -> T in try body() }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.unavailable, "the daemon is shutting down")
        }
    }

    func shutDown() async {
        hub.close()
        try? await pool.shutdownGracefully()
    }

    /// After a write: tell consoles, and waiters when a request may have left `pending`.
    private func changed(decisions: Bool) {
        if decisions { hub.decisionsChanged() }
        hub.committed()
    }

    /// Expires what is overdue (a denial) and tells everyone. The daemon does it once a
    /// second, so requests expire on the daemon's clock even when nobody is looking.
    func expireDue() async {
        let store = self.store
        if let expired = try? await blocking({ () throws(StoreError) in try store.expireDue() }), expired > 0 {
            changed(decisions: true)
        }
    }

    /// Retention (`retention:` in the policy): moves history older than `archive_after`
    /// into a new segment in the retention directory (or, for a queue that archives itself,
    /// into its archive). Returns a line for the log, or nil when there was nothing to do.
    /// Agents' writes interleave with the batches.
    func archiveDue(now: Double = Clock.now()) async -> String? {
        guard let retention = policy.retention else { return nil }
        if let store = self.store as? any SelfArchiving {
            do {
                let age = retention.archiveAfter
                guard let moved = try await blocking({ () throws(StoreError) in try store.archive(olderThan: age, by: Identity(user: "holdpoint", via: "retention")) })
                else { return nil }
                changed(decisions: false)
                return "retention: archived \(moved.requests) requests and audit entries \(moved.firstSeq)…\(moved.lastSeq) into the database's archived_* tables"
            } catch {
                return "retention: nothing archived: \(error)"
            }
        }
        guard let store = self.store as? QueueStore else { return nil }
        let directory = retention.directory ?? store.path + ".archive"
        let stamp = Clock.iso8601(now).filter { $0.isNumber || $0 == "T" || $0 == "Z" }
        let path = directory + "/holdpoint-archive-\(stamp).sqlite"
        do {
            let report = try await blocking { () throws(StoreError) in
                if mkdir(directory, 0o750) != 0 && errno != EEXIST {
                    throw StoreError(.unavailable, "cannot create the retention directory \(directory): \(String(cString: strerror(errno)))")
                }
                return try store.archive(before: now - retention.archiveAfter, to: path, by: Identity(user: "holdpoint", via: "retention"), now: now)
            }
            guard let report else { return nil }
            changed(decisions: false)
            return "retention: archived \(report.requests) requests and audit entries \(report.firstSeq)…\(report.lastSeq) to \(report.path)"
        } catch {
            return "retention: nothing archived: \(error)"
        }
    }

    // MARK: - Calls

    /// `handle`'s answer as a value.
    func result(_ method: Wire.Method, params: JSONValue, peer: Peer, claimedOrigin: String?) async -> Result<JSONValue, StoreError> {
        do {
            return .success(try await handle(method, params: params, peer: peer, claimedOrigin: claimedOrigin))
        } catch {
            return .failure(error)
        }
    }

    /// Answers one call from `peer`. Throws the error to send back.
    public func handle(_ method: Wire.Method, params: JSONValue, peer: Peer, claimedOrigin: String?) async throws(StoreError) -> JSONValue {
        let caller = peer.identity(claimedOrigin: claimedOrigin)
        let store = self.store
        switch method {
        case .hello:
            // What a console shows by the daemon's policy: production's names and the
            // fatigue guards (a client's own policy is never read in socket mode).
            let approvals = policy.approvals
            return .object([
                ("server", .string("holdpoint serve")), ("rpc", .string(Wire.version)), ("identity", Wire.identity(caller)),
                ("reviewer", .bool(isReviewer(peer))),
                (
                    "console",
                    .object([
                        ("production_environments", .array(policy.productionEnvironments.sorted().map(JSONValue.string))),
                        ("min_read_time", .number(approvals.minReadTime)),
                        ("attention_check_after", .number(Double(approvals.attentionCheckAfter))),
                        ("attention_check_within", .number(approvals.attentionCheckWithin)),
                    ])
                ),
                // Who decides and how, for `checklist` (no secrets: the refusal of a vote
                // names the reviewers to anyone who tries anyway).
                (
                    "approvals",
                    .object([
                        ("reviewers", .array(approvals.reviewers.map(JSONValue.string))), ("required", .number(Double(approvals.required))),
                        ("allow_self_approval", .bool(approvals.allowSelfApproval)), ("gated_timeout", .number(approvals.timeouts[.gated] ?? 900)),
                        ("valid_for", .number(approvals.validFor)), ("escalate_after", approvals.escalateAfter.map(JSONValue.number) ?? .null),
                    ])
                ),
            ])
        case .classify:
            let request = try actionRequest(params)
            let (classification, required) = classify(request, peer: peer)
            return Wire.classification(classification, requiredApprovals: required)
        case .submit:
            let request = try actionRequest(params)
            let (classification, _) = classify(request, peer: peer)
            let approvals = policy.approvals.applying(to: classification)
            let timeout = try duration(params["timeout"], "timeout")
            let redacted = request.redacted(by: policy.redactor)  // classified as it is, stored without its secrets
            let gateway = policy.gateway(for: request.environment)
            let planKey = Plan.key(of: request)
            let stored = try await blocking { () throws(StoreError) in
                // `--timeout` is counted by the store, on the queue's clock.
                try store.submit(
                    redacted, classification: classification, approvals: approvals, submitter: caller,
                    timeout: timeout, gateway: gateway, planKey: planKey)
            }
            changed(decisions: false)
            return stored.wireJSON
        case .wait:
            let id = try requestID(params)
            let timeout = try duration(params["timeout"], "timeout")
            let final = try await waitForDecision(id: id, giveUpAt: timeout.map { Clock.now() + $0 })
            return final?.wireJSON ?? .null
        case .admit:
            return Wire.outcome(try await admit(params, peer: peer, caller: caller))
        case .consume:
            let id = try requestID(params)
            let sha = try text(params, "action_sha256")
            let consumer = try text(params, "consumer")
            let result = try await blocking { () throws(StoreError) in try store.consume(id: id, actionSHA256: sha, consumer: consumer, by: caller) }
            changed(decisions: false)
            return Wire.consumeResult(result)
        case .request:
            let id = try requestID(params)
            return try await blocking { () throws(StoreError) in try store.request(id: id) }?.wireJSON ?? .null
        case .list:
            guard let filter = Wire.filter(from: params) else { throw StoreError(.badInput, "list: unknown state or tier in the filter") }
            let requests = try await blocking { () throws(StoreError) in
                try store.expireDue()
                return try store.list(filter)
            }
            return .array(requests.map(\.wireJSON))
        case .decide:
            try requireReviewer(peer, to: "decide")
            let id = try requestID(params)
            guard let verdict = params["verdict"]?.stringValue.flatMap(Verdict.init(rawValue:)) else {
                throw StoreError(.badInput, "decide: verdict must be approve or reject")
            }
            let reason = params["reason"]?.stringValue ?? ""
            let result = try await blocking { () throws(StoreError) in try store.decide(id: id, verdict: verdict, reviewer: caller, reason: reason) }
            changed(decisions: true)
            return Wire.decideResult(result)
        case .halt:
            try requireReviewer(peer, to: "halt agents")
            let agent = try text(params, "agent")
            let reason = try text(params, "reason")
            // The kill switch goes to the front: it takes the write lock like any writer,
            // but it never waits behind a client, because no client holds the lock.
            let stopped = try await blocking { () throws(StoreError) in try store.halt(agent: agent, reason: reason, by: caller) }
            changed(decisions: true)
            return .number(Double(stopped))
        case .resume:
            try requireReviewer(peer, to: "resume agents")
            let agent = try text(params, "agent")
            let done = try await blocking { () throws(StoreError) in try store.resume(agent: agent, by: caller) }
            changed(decisions: false)
            return .bool(done)
        case .halts:
            return .array(try await blocking { () throws(StoreError) in try store.halts() }.map(Wire.halt))
        case .haltFor:
            let agent = try text(params, "agent")
            return try await blocking { () throws(StoreError) in try store.halt(for: agent) }.map(Wire.halt) ?? .null
        case .established:
            return .array(try await blocking { () throws(StoreError) in try store.establishedActions() }.sorted().map(JSONValue.string))
        case .startRun, .finishRun:
            let id = try requestID(params)
            // Only the process owner that submitted the action records its run.
            guard let stored = try await blocking({ () throws(StoreError) in try store.request(id: id) }) else { return .null }
            guard stored.submittedBy == peer.user else {
                throw StoreError(.notPermitted, "\(peer.user) did not submit \(id), so may not record its run")
            }
            let result: StoredRequest?
            if method == .startRun {
                guard let pid = params["pid"]?.numberValue, let pid32 = Int32(exactly: pid) else { throw StoreError(.badInput, "start_run: pid must be a whole number") }
                result = try await blocking { () throws(StoreError) in try store.startRun(id: id, pid: pid32, by: caller) }
            } else {
                let exitCode = params["exit_code"]?.numberValue.flatMap { Int32(exactly: $0) }
                let signal = params["signal"]?.numberValue.flatMap { Int32(exactly: $0) }
                let note = params["note"]?.stringValue
                result = try await blocking { () throws(StoreError) in try store.finishRun(id: id, exitCode: exitCode, signal: signal, note: note, by: caller) }
            }
            changed(decisions: false)
            return result?.wireJSON ?? .null
        case .auditEntries:
            let after = Int64(params["after_seq"]?.numberValue ?? 0)
            let requestID = params["request_id"]?.stringValue
            let limit = params["limit"]?.numberValue.map { Int($0) }
            return .array(try await blocking { () throws(StoreError) in try store.auditEntries(afterSeq: after, requestID: requestID, limit: limit, first: nil) }.map(\.json))
        case .auditVerify:
            let key = params["public_key"]?.stringValue
            let requireHead = params["require_head"]?.boolValue ?? true
            let since = params["since"].flatMap(Wire.point(from:))
            let (report, keys) = try await blocking { () throws(StoreError) in
                let report = try store.verifyAudit(publicKeyHex: key, requireHead: requireHead, since: since)
                if let key { return (report, [key]) }
                return (report, try store.signers())
            }
            // The keys checked against, comma-separated when several daemons sign.
            return Wire.report(report, publicKeyHex: keys.joined(separator: ","))
        case .changeCounter:
            return .number(Double(try await blocking { () throws(StoreError) in try store.changeCounter() }))
        case .notifyStatus:
            // Delivery errors can quote what a receiver answered: for reviewers and the daemon's own user.
            if peer.uid != getuid() { try requireReviewer(peer, to: "read the notification sinks' state") }
            let policy = self.policy
            return Wire.notifyState(
                try await blocking { () throws(StoreError) in NotifyState(head: try store.changeCounter(), policy: policy, cursors: try store.notifyCursors()) })
        case .subscribe:
            throw StoreError(.usage, "subscribe is answered by the connection, not here")
        }
    }

    /// The runtime boundary for a hook or `exec`: the same `Gate` as file mode, with the wait
    /// between its halves done on the hub instead of by polling the file.
    private func admit(_ params: JSONValue, peer: Peer, caller: Identity) async throws(StoreError) -> Gate.Outcome {
        let request = try actionRequest(params)
        let consumer = try text(params, "consumer")
        let hold = try duration(params["hold"], "hold") ?? .infinity
        let timeout = try duration(params["timeout"], "timeout")
        let (classification, _) = classify(request, peer: peer)
        let gate = Gate(store: store, identity: caller, consumer: consumer)
        let approvals = policy.approvals.applying(to: classification)
        let redactor = policy.redactor
        let gateway = policy.gateway(for: request.environment)
        let step = try await blocking { () throws(StoreError) in
            try gate.begin(request, classification: classification, approvals: approvals, redactor: redactor, gateway: gateway, timeout: timeout)
        }
        changed(decisions: false)
        switch step {
        case .decided(let outcome):
            return outcome
        case .waiting(let pending):
            guard hold > 0 else { return .pending(pending) }
            guard let final = try await waitForDecision(id: pending.id, giveUpAt: Clock.now() + hold) else {
                throw StoreError(.notFound, "request \(pending.id) disappeared from the queue while waiting")
            }
            let outcome = try await blocking { () throws(StoreError) in try gate.conclude(final) }
            changed(decisions: false)
            return outcome
        }
    }

    /// Until request `id` leaves `pending`, its deadline passes (recorded as expiry here, on
    /// the queue's clock: the database's for PostgreSQL), or `giveUpAt`. Nil for an unknown id.
    func waitForDecision(id: String, giveUpAt: Double?) async throws(StoreError) -> StoredRequest? {
        let store = self.store
        while true {
            let seen = hub.generation
            guard let request = try await blocking({ () throws(StoreError) in try store.request(id: id) }) else { return nil }
            if request.state != .pending { return request }
            let now = Clock.now()
            if let expiresAt = request.expiresAt, now >= expiresAt {
                // A failure here ends the wait with the error: the caller denies.
                if try await blocking({ () throws(StoreError) in try store.expireIfDue(id: id) }) {
                    changed(decisions: true)
                    continue
                }
                // Not yet by the queue's clock (a shared database's may lag this host's):
                // look again shortly rather than spin.
                await hub.waitForChange(after: seen, until: now + 0.05)
                continue
            }
            if let giveUpAt, now >= giveUpAt { return request }
            if hub.isClosed { throw StoreError(.unavailable, "the daemon is shutting down; request \(id) is still pending") }
            await hub.waitForChange(after: seen, until: min(request.expiresAt ?? .infinity, giveUpAt ?? .infinity))
        }
    }

    // MARK: - Parameters and roles

    func isReviewer(_ peer: Peer) -> Bool {
        !policy.approvals.reviewers.isEmpty && policy.approvals.isReviewer(peer.user, groups: peer.groups)
    }

    private func requireReviewer(_ peer: Peer, to what: String) throws(StoreError) {
        guard isReviewer(peer) else {
            throw StoreError(.notPermitted, "\(peer.user) may not \(what): not in the daemon policy's approvals.reviewers (\(policy.approvals.reviewers.joined(separator: ", ")))")
        }
    }

    private func classify(_ request: ActionRequest, peer: Peer) -> (Classification, Int) {
        let classification = Classifier(policy: policy, protection: protection(request.workingDirectory, peer.home)).classify(request)
        return (classification, classification.tier == .gated ? policy.approvals.applying(to: classification).required : 0)
    }

    private func actionRequest(_ params: JSONValue) throws(StoreError) -> ActionRequest {
        guard let document = params["request"] else { throw StoreError(.badInput, "request: missing") }
        do {
            return try ActionRequestDecoder.decode(document)
        } catch {
            throw StoreError(.badInput, error.description)
        }
    }

    private func requestID(_ params: JSONValue) throws(StoreError) -> String {
        let id = try text(params, "id")
        guard RequestID.isValid(id) else { throw StoreError(.badInput, "'\(id.prefix(40))' is not a request id") }
        return id
    }

    private func text(_ params: JSONValue, _ name: String) throws(StoreError) -> String {
        guard let value = params[name]?.stringValue else { throw StoreError(.badInput, "\(name): missing or not a string") }
        return value
    }

    /// A client's duration in seconds (relative: times are the daemon's); nil when absent.
    private func duration(_ value: JSONValue?, _ name: String) throws(StoreError) -> Double? {
        guard let value, value != .null else { return nil }
        guard let seconds = value.numberValue, seconds.isFinite, seconds >= 0 else { throw StoreError(.badInput, "\(name): expected seconds (0 or more)") }
        return seconds
    }
}

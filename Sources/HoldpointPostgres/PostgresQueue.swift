import Foundation
import HoldpointCore
import HoldpointStore
import NIOCore
import NIOPosix
import Synchronization

/// A daemon's handle on the shared PostgreSQL queue: its connections, its signing key, and
/// the feed that tells it when any daemon committed.
///
/// Ownership is explicit: the queue owns one event loop thread for its connections and
/// closes them with `close()`. It keeps one connection for writes and one for reads. Writes
/// that arrive together go into one transaction (`WriteGroup`): the chain has one writer at a
/// time across every daemon, at the head row's lock, so a transaction per write would make
/// every agent wait for every other's commit in turn.
public final class PostgresQueue: Sendable {
    public let settings: PostgresSettings
    public let signer: AuditSigner
    private let group: MultiThreadedEventLoopGroup
    private let writer: SessionSlot
    private let reader: SessionSlot
    private let writes = WriteGroup()
    private let feed: ChangeFeed

    /// Connects, migrates, and registers this daemon's key (`keyPath`, created on first use,
    /// readable only by its owner) with the host it runs on.
    /// `registering: false` for a tool that writes no entry (`queue copy`): its key is not a signer.
    public init(settings: PostgresSettings, keyPath: String, headPath: String, registering: Bool = true) throws(StoreError) {
        self.settings = settings
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let first: PostgresSession
        do {
            first = try PostgresSession.connect(settings, on: group)
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        do {
            try PostgresSchema.migrate(first)
            signer = try AuditSigner(keyPath: keyPath, headPath: headPath, shared: false)
            if registering {
                try first.execute(
                    "INSERT INTO daemon_keys (public_key, host, registered_at) VALUES ($1, $2, extract(epoch FROM clock_timestamp())) ON CONFLICT (public_key) DO NOTHING",
                    [.text(signer.publicKeyHex), .text(HostName.current)])
            }
        } catch {
            first.close()
            try? group.syncShutdownGracefully()
            if let error = error as? PostgresFailure { throw error.storeError }
            if let error = error as? StoreError { throw error }
            throw StoreError(.unavailable, "\(settings.description): \(error)")
        }
        writer = SessionSlot(settings: settings, group: group, first: first)
        reader = SessionSlot(settings: settings, group: group, first: nil)
        feed = ChangeFeed()
        try startListening()
    }

    /// Ends every connection and the event loop.
    public func close() {
        writer.close()
        reader.close()
        feed.stop()
        try? group.syncShutdownGracefully()
    }

    /// Runs `body` in a transaction with the chain's writer, possibly together with other
    /// writes that arrived meanwhile (when one of them fails, each is run again alone). On
    /// commit the head has moved, the checkpoint is signed and every daemon is told. A
    /// serialization failure or a deadlock is retried; a lost connection is retried once on a
    /// new one. Anything else throws, and nothing of this write was kept.
    func write<T>(_ body: @escaping (PostgresTables, PostgresAuditWriter) throws -> T) throws(StoreError) -> T {
        let job = WriteGroup.Job(body)
        writes.run(job) { batch in self.commit(batch) }
        switch job.outcome {
        case .success(let value as T): return value
        case .failure(let error as StoreError): throw error
        case .failure(let error as PostgresFailure): throw error.storeError
        case .failure(let error): throw StoreError(.unavailable, "\(settings.description): \(error)")
        default: throw StoreError(.unavailable, "\(settings.description): the write was not run")
        }
    }

    /// One transaction for `batch`, retried as a whole when the database asks for it. The
    /// writes that queued up while the transaction waited for the chain's lock (another
    /// daemon's transaction) join it once the lock is granted.
    private func commit(_ batch: WriteGroup.Batch) {
        var attempts = 0
        while true {
            attempts += 1
            let session: PostgresSession
            do {
                session = try writer.connected()
            } catch {
                for job in batch.jobs { job.outcome = .failure(error) }
                return
            }
            do {
                try session.transaction {
                    let audit = try PostgresAuditWriter(session: session)
                    let tables = PostgresTables(session: session)
                    for job in batch.takeWaiting() {
                        job.outcome = .success(try job.body(tables, audit))
                    }
                    try audit.finish(signer: signer)
                }
                return
            } catch let failure as PostgresFailure {
                if failure.connectionLost { writer.drop() }
                let retry = failure.connectionLost ? attempts < 2 : (failure.sqlState == "40001" || failure.sqlState == "40P01") && attempts < 5
                if !retry {
                    // A statement of one write failed (a constraint, say): each alone, as below.
                    if batch.jobs.count > 1 && !failure.connectionLost {
                        for job in batch.jobs { commit(WriteGroup.Batch(only: job)) }
                        return
                    }
                    for job in batch.jobs { job.outcome = .failure(failure) }
                    return
                }
            } catch {
                // A write's own error: the transaction was rolled back. Alone, that write
                // fails; in a group, each write goes again in a transaction of its own, so
                // that one write's error costs the others nothing.
                guard batch.jobs.count > 1 else {
                    for job in batch.jobs { job.outcome = .failure(error) }
                    return
                }
                for job in batch.jobs { commit(WriteGroup.Batch(only: job)) }
                return
            }
        }
    }

    /// Runs `body` with the read connection, outside any transaction.
    public func read<T>(_ body: (PostgresSession) throws -> T) throws(StoreError) -> T {
        try reader.use(body)
    }

    /// Verifies the chain (`audit verify`): all of it, or after `since`; signed by the
    /// registered daemons' keys or only by those named.
    public func verifyAudit(signers: PostgresAuditVerifier.Signers = .registered, since: AuditPoint? = nil) throws(StoreError) -> AuditReport {
        try read { session in try PostgresAuditVerifier.verify(session, signers: signers, since: since) }
    }

    // MARK: - Change feed

    /// A token for "now": read it before reading the database, then `waitForChange(since:)`
    /// returns once any daemon has committed after that read.
    public var changeToken: UInt64 { feed.version }

    /// Waits until a commit is announced after `token` was taken, or `timeout` seconds
    /// pass. Returns whether one was (or the feed was lost and the caller must read again).
    public func waitForChange(since token: UInt64, timeout: Double) -> Bool {
        feed.wait(since: token, timeout: timeout)
    }

    /// Calls `handler` on every announcement (any daemon's commit, this one's included) and
    /// whenever the feed was lost and found again.
    public func onChange(_ handler: @escaping @Sendable () -> Void) {
        feed.subscribe(handler)
    }

    /// A connection of its own that LISTENs; when it is lost (the server restarted) it is
    /// opened again, and waiters are woken so that they read again rather than trust a feed
    /// that may have missed a commit.
    private func startListening() throws(StoreError) {
        let listener = try PostgresSession.connect(settings, on: group)
        let feed = self.feed
        do {
            try listener.listen(PostgresAuditWriter.channel(settings)) { _ in feed.announce() }
        } catch {
            listener.close()
            throw error.storeError
        }
        feed.adopt(listener)
        listener.connection.closeFuture.whenComplete { [weak self] _ in
            guard let self, !feed.isStopped else { return }
            feed.announce()  // wake everyone: what was missed is read from the database
            // Try again in the background until the server is back or the queue closes.
            Thread.detachNewThread { [weak self] in
                var delay = 0.05
                while let self, !feed.isStopped {
                    if (try? self.startListening()) != nil {
                        // Listening again: what was committed while nobody listened (a
                        // decision on another daemon) is read from the database now.
                        feed.announce()
                        return
                    }
                    Thread.sleep(forTimeInterval: delay)
                    delay = min(delay * 2, 2)
                }
            }
        }
    }
}

/// How many announcements one daemon has heard, and the threads waiting for the next one.
final class ChangeFeed: Sendable {
    private struct State {
        var version: UInt64 = 0
        var stopped = false
        var listener: PostgresSession?
        var handlers: [@Sendable () -> Void] = []
    }
    private let state = Mutex(State())
    private let condition = NSCondition()

    var version: UInt64 { state.withLock { $0.version } }
    var isStopped: Bool { state.withLock { $0.stopped } }

    func announce() {
        condition.lock()
        let handlers = state.withLock { state in
            state.version &+= 1
            return state.handlers
        }
        condition.broadcast()
        condition.unlock()
        for handler in handlers { handler() }
    }

    func subscribe(_ handler: @escaping @Sendable () -> Void) {
        state.withLock { $0.handlers.append(handler) }
    }

    func adopt(_ listener: PostgresSession) {
        state.withLock { $0.listener = listener }
    }

    func stop() {
        let listener = state.withLock { state -> PostgresSession? in
            state.stopped = true
            defer { state.listener = nil }
            return state.listener
        }
        listener?.close()
        announce()
    }

    func wait(since token: UInt64, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while version == token {
            if isStopped { return false }
            if !condition.wait(until: deadline) { return version != token }
        }
        return true
    }
}

/// One connection, opened again when it was lost (the server restarted), used by one caller
/// at a time: a connection runs one statement at a time.
final class SessionSlot: Sendable {
    private let settings: PostgresSettings
    private let group: MultiThreadedEventLoopGroup
    private let session: Mutex<PostgresSession?>
    private let inUse = NSLock()

    init(settings: PostgresSettings, group: MultiThreadedEventLoopGroup, first: PostgresSession?) {
        self.settings = settings
        self.group = group
        session = Mutex(first)
    }

    /// The session, connecting again when there is none or it was closed.
    func connected() throws(StoreError) -> PostgresSession {
        if let current = session.withLock({ $0 }) {
            if !current.connection.isClosed { return current }
            drop()
        }
        let fresh = try PostgresSession.connect(settings, on: group)
        session.withLock { $0 = fresh }
        return fresh
    }

    func drop() {
        let old = session.withLock { current -> PostgresSession? in
            defer { current = nil }
            return current
        }
        old?.close()
    }

    func close() { drop() }

    /// Runs `body` alone on the connection; retried once on a new connection when it was lost.
    func use<T>(_ body: (PostgresSession) throws -> T) throws(StoreError) -> T {
        inUse.lock()
        defer { inUse.unlock() }
        var attempts = 0
        while true {
            attempts += 1
            let current = try connected()
            do {
                return try body(current)
            } catch let failure as PostgresFailure {
                if failure.connectionLost { drop() }
                if !(failure.connectionLost && attempts < 2) { throw failure.storeError }
            } catch let error as StoreError {
                throw error
            } catch {
                throw StoreError(.unavailable, "\(settings.description): \(error)")
            }
        }
    }
}

/// Writes waiting for a transaction. The first caller to find no transaction under way leads:
/// it takes every write queued so far (up to `limit`) into one transaction, and, once the
/// transaction holds the chain's lock, every write queued while it waited; then it hands the
/// lead on, and the others wait for their own write's outcome. Under load this is a group
/// commit (one commit, one flush, one checkpoint for many writes); alone, a write runs at once.
final class WriteGroup: Sendable {
    /// One write: its body, and what became of it.
    final class Job: @unchecked Sendable {  // @unchecked: `outcome` is set by the leader before `done`, read after.
        let body: (PostgresTables, PostgresAuditWriter) throws -> Any
        var outcome: Result<Any, any Error>?
        var done = false

        init<T>(_ body: @escaping (PostgresTables, PostgresAuditWriter) throws -> T) {
            self.body = { tables, audit in try body(tables, audit) }
        }
    }

    /// The writes of one transaction, in the order they run. Used by the leading thread only.
    final class Batch {
        private let group: WriteGroup?
        private(set) var jobs: [Job]

        fileprivate init(group: WriteGroup) {
            self.group = group
            jobs = group.dequeue(upTo: WriteGroup.limit)
        }

        /// A batch of one write that takes no others (a write run again alone).
        init(only job: Job) {
            group = nil
            jobs = [job]
        }

        /// Adds the writes queued since (up to `limit` in all) and returns every write taken.
        func takeWaiting() -> [Job] {
            if let group { jobs += group.dequeue(upTo: WriteGroup.limit - jobs.count) }
            return jobs
        }
    }

    static let limit = 64

    private struct State {
        var queue: [Job] = []
        var leading = false
    }
    private let condition = NSCondition()
    private let state = Mutex(State())

    fileprivate func dequeue(upTo count: Int) -> [Job] {
        state.withLock { state in
            let taken = Array(state.queue.prefix(max(0, count)))
            state.queue.removeFirst(taken.count)
            return taken
        }
    }

    /// Returns once `job` has its outcome, having led a transaction (`commit`) or waited for one.
    func run(_ job: Job, commit: (Batch) -> Void) {
        condition.lock()
        state.withLock { $0.queue.append(job) }
        while !job.done {
            let leads = state.withLock { state -> Bool in
                guard !state.leading else { return false }
                state.leading = true
                return true
            }
            guard leads else {
                condition.wait()
                continue
            }
            condition.unlock()
            let batch = Batch(group: self)
            commit(batch)
            condition.lock()
            for finished in batch.jobs { finished.done = true }
            state.withLock { $0.leading = false }
            condition.broadcast()
        }
        condition.unlock()
    }
}

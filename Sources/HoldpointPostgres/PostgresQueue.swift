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
/// closes them with `close()`. Writes run one at a time on this handle (the chain has one
/// writer at a time across daemons anyway, at the head row's lock).
public final class PostgresQueue: Sendable {
    public let settings: PostgresSettings
    public let signer: AuditSigner
    private let group: MultiThreadedEventLoopGroup
    /// The connection writes and reads go through; replaced after the server restarts.
    private let session: Mutex<PostgresSession?>
    /// One transaction or read at a time on that connection: a connection runs one
    /// statement at a time, and a transaction's statements must not interleave with another's.
    private let inUse = NSLock()
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
        session = Mutex(first)
        feed = ChangeFeed()
        try startListening()
    }

    /// Ends every connection and the event loop.
    public func close() {
        session.withLock { current in
            current?.close()
            current = nil
        }
        feed.stop()
        try? group.syncShutdownGracefully()
    }

    /// The session, connecting again when the last one was lost.
    private func connected() throws(StoreError) -> PostgresSession {
        if let current = session.withLock({ $0 }) {
            if !current.connection.isClosed { return current }
            dropConnection()  // the server closed it (a restart): a new one
        }
        let fresh = try PostgresSession.connect(settings, on: group)
        session.withLock { $0 = fresh }
        return fresh
    }

    private func dropConnection() {
        session.withLock { current in
            current?.close()
            current = nil
        }
    }

    /// Runs `body` in one transaction with the chain's writer; on commit the head has moved,
    /// the checkpoint is signed and every daemon is told. A serialization failure or a
    /// deadlock is retried; a lost connection is retried once on a new one. Anything else
    /// throws, and nothing was written.
    public func write<T>(_ body: (PostgresSession, PostgresAuditWriter) throws -> T) throws(StoreError) -> T {
        inUse.lock()
        defer { inUse.unlock() }
        var attempts = 0
        while true {
            attempts += 1
            let current = try connected()
            do {
                return try current.transaction {
                    let audit = try PostgresAuditWriter(session: current)
                    let result = try body(current, audit)
                    try audit.finish(signer: signer)
                    return result
                }
            } catch let failure as PostgresFailure {
                if failure.connectionLost { dropConnection() }
                let retry = failure.connectionLost ? attempts < 2 : (failure.sqlState == "40001" || failure.sqlState == "40P01") && attempts < 5
                if !retry { throw failure.storeError }
            } catch let error as StoreError {
                throw error
            } catch {
                throw StoreError(.unavailable, "\(settings.description): \(error)")
            }
        }
    }

    /// Runs `body` with the session, outside any transaction (reads).
    public func read<T>(_ body: (PostgresSession) throws -> T) throws(StoreError) -> T {
        inUse.lock()
        defer { inUse.unlock() }
        var attempts = 0
        while true {
            attempts += 1
            let current = try connected()
            do {
                return try body(current)
            } catch let failure as PostgresFailure {
                if failure.connectionLost { dropConnection() }
                if !(failure.connectionLost && attempts < 2) { throw failure.storeError }
            } catch let error as StoreError {
                throw error
            } catch {
                throw StoreError(.unavailable, "\(settings.description): \(error)")
            }
        }
    }

    /// Verifies the whole chain (`audit verify`).
    public func verifyAudit() throws(StoreError) -> AuditReport {
        try read { session in try PostgresAuditVerifier.verify(session) }
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

import CFileLock
import CSQLiteOptions
import Foundation
import GRDB
import GRDBSQLite
import HoldpointCore

/// The shared approval queue: one SQLite file (WAL) that many agent processes write and
/// several reviewers decide from at once.
///
/// Every state change runs in one `BEGIN IMMEDIATE` transaction together with its audit
/// entries and a signed checkpoint, so a change and its record commit together or not at
/// all, and concurrent writers queue on SQLite's lock instead of failing.
public final class QueueStore: Sendable {
    public let path: String
    public let signer: AuditSigner
    let database: DatabaseQueue
    /// `queue.sqlite.lock`, open for the store's life: first use and every write hold it.
    private let lock: LockFile
    /// `queue.sqlite.sync`: no write is reported before the log holding it is on disk.
    private let groupCommit: GroupCommit

    /// How long a connection waits for SQLite's own locks before giving up.
    static let busyTimeoutMilliseconds: Int32 = 30_000

    /// The absolute directory that holds `path`. Worked out on the text: `URL.path` builds
    /// a `Set<UInt8>` whose first use costs a lookup through every type conformance in the
    /// binary, paid by every hook at start-up.
    static func directory(of path: String) -> String {
        let absolute = PathText.normalize(path, relativeTo: FileManager.default.currentDirectoryPath, home: nil)
        guard let slash = absolute.utf8.lastIndex(of: UInt8(ascii: "/")), slash != absolute.utf8.startIndex else { return "/" }
        return String(absolute[..<slash])
    }

    /// Opens (creating on first use) the queue at `path`. The audit signing key and signed
    /// head live beside it unless `auditHeadPath` says otherwise.
    public init(path given: String, auditHeadPath: String? = nil) throws(StoreError) {
        // A queue path that is a symbolic link is resolved once, here: SQLite and the group
        // commit then name the same -wal file (through the link, the flush looked for one
        // beside the link and failed after the commit had landed).
        let path = Self.resolvingLink(given)
        self.path = path
        let directory = Self.directory(of: path)
        let shared = Self.prepare(directory: directory)
        do {
            try Self.createFile(path, shared: shared)
        } catch {
            throw error
        }
        var configuration = Configuration()
        // Writers from other processes wait their turn instead of failing.
        configuration.busyMode = .timeout(Double(Self.busyTimeoutMilliseconds) / 1000)
        configuration.label = "holdpoint-queue"
        configuration.prepareDatabase { db in
            // WAL is set here rather than with GRDB's `journalMode = .wal`, which afterwards
            // lowers `synchronous` to NORMAL (a commit could then be lost in a power cut) and
            // writes a throwaway table whenever the WAL file is empty.
            //
            // The log outlives the processes that write it. Agents' hooks are short-lived
            // processes, each one often the queue's only connection, and SQLite's default is
            // for the last connection to copy the log into the database as it closes: two
            // more disk flushes in every hook, a third of its time. Instead no connection
            // checkpoints on close, and SQLite's automatic checkpoints are off too: a
            // process that opens the queue alone rebuilds its index of the log by reading
            // the whole log, so the checkpoint that keeps the log short must also empty it
            // (`checkpointIfLogIsLong`), which the automatic one does not.
            guard hp_sqlite_no_checkpoint_on_close(UnsafeMutableRawPointer(db.sqliteConnection)) == SQLITE_OK else {
                throw StoreError(.unavailable, "cannot configure the queue \(path): SQLite refused to keep its log on close")
            }
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
            let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            guard mode == "wal" else {
                throw StoreError(.unavailable, "the queue \(path) cannot use write-ahead logging (journal mode \(mode ?? "unknown")); is it on a network file system?")
            }
            // NORMAL: commits do not flush the log themselves; `write` flushes it for them
            // in groups (`GroupCommit`) before anything is reported, so a submit acknowledged
            // to its agent survives a crash of the machine too.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        // Switching a new file to WAL, migrating the schema and creating the signing key are
        // each a check-then-act that two processes starting at once would both act on
        // ("table requests already exists"). A lock file beside the queue serialises them.
        let lock = LockFile(path: path + ".lock", mode: shared ? 0o660 : 0o600)
        // A queue already set up (its signing key exists) needs nothing exclusive to open: its
        // migration is a read, so after a short wait it opens under SQLite's locking alone,
        // and a process sitting on the lock file cannot keep anyone (a halt) from opening it.
        let setUp = FileManager.default.fileExists(atPath: path + ".audit-key")
        let open = { () throws(StoreError) -> (DatabaseQueue, AuditSigner) in
            let database: DatabaseQueue
            do {
                database = try DatabaseQueue(path: path, configuration: configuration)
                try database.writeWithoutTransaction { db in
                    if try Schema.migrator.hasBeenSuperseded(db) {
                        throw StoreError(
                            .schemaTooNew, "the queue \(path) was written by a newer Holdpoint (schema \(try Schema.migrator.appliedIdentifiers(db).sorted().last ?? "?")); upgrade this binary")
                    }
                }
                try Schema.migrator.migrate(database)
            } catch let error as StoreError {
                throw error
            } catch {
                throw StoreError(.unavailable, "cannot open the queue \(path): \(error)")
            }
            let head = auditHeadPath ?? path + ".audit-head"
            let signer = try AuditSigner(keyPath: path + ".audit-key", headPath: head, shared: shared)
            try Self.refuseIfReset(database, headPath: head, path: path)
            return (database, signer)
        }
        let opened = try lock.whileHolding(
            patience: setUp ? 2 : LockFile.patience,
            timedOut: { () throws(StoreError) -> (DatabaseQueue, AuditSigner) in
                guard setUp else {
                    throw StoreError(.unavailable, "the queue's lock \(path).lock has been held by another process for over \(Int(LockFile.patience)) s; nothing was opened")
                }
                return try open()
            }, open)
        database = opened.0
        signer = opened.1
        self.lock = lock
        groupCommit = GroupCommit(path: path + ".sync", logPath: path + "-wal", mode: shared ? 0o660 : 0o600, writeLock: lock)
    }

    /// `path`, or what it points to when it is a symbolic link.
    static func resolvingLink(_ path: String) -> String {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFLNK, let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// A queue whose signed head says the log reached entry N, but which now holds fewer
    /// entries, was reset or cut short (its -wal file deleted, an old copy put back): refuse
    /// it rather than carry on as if the missing requests and decisions never were.
    static func refuseIfReset(_ database: DatabaseQueue, headPath: String, path: String) throws(StoreError) {
        guard let head = AuditSigner.readHead(headPath) else { return }
        let last: Int64
        do {
            last = try database.read { db in try Int64.fetchOne(db, sql: "SELECT coalesce(max(seq), 0) FROM audit") ?? 0 }
        } catch {
            throw StoreError(.unavailable, "cannot read the queue \(path): \(error)")
        }
        if head.seq > last {
            throw StoreError(
                .unavailable,
                "the queue \(path) was reset or truncated: its signed head \(headPath) says the audit log reached entry \(head.seq), but it holds \(last). Restore the queue (with its -wal file) from a backup, or move the head aside if you mean to start over"
            )
        }
    }

    /// Creates the directory if needed. Returns whether it is a shared (setgid) directory.
    private static func prepare(directory: String) -> Bool {
        var info = stat()
        if stat(directory, &info) != 0 {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            return false
        }
        return info.st_mode & S_ISGID != 0
    }

    /// Creates the database file with the right permissions before SQLite touches it:
    /// owner-only normally, group read-write in a shared setgid directory (SQLite gives the
    /// -wal and -shm files the same permissions).
    private static func createFile(_ path: String, shared: Bool) throws(StoreError) {
        if FileManager.default.fileExists(atPath: path) { return }
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL, shared ? 0o660 : 0o600)
        if fd >= 0 {
            if shared { fchmod(fd, 0o660) }  // undo the umask: the group must write
            close(fd)
        } else if errno != EEXIST {
            throw StoreError(.unavailable, "cannot create the queue \(path): \(String(cString: strerror(errno)))")
        }
    }

    // MARK: - Transactions

    /// Runs `body` in an immediate transaction with an audit writer; signs the new tail.
    ///
    /// A writer waits at most `LockFile.patience` for the write lock, then fails: nothing is
    /// written, and an agent is denied. `urgent` (the kill switch) instead goes ahead after a
    /// moment on SQLite's own lock, so a process holding the lock file cannot stall a halt;
    /// its commit then flushes the log itself rather than share a group flush.
    func write<T>(urgent: Bool = false, _ body: (Database, AuditWriter) throws -> T) throws(StoreError) -> T {
        var result: T?
        var head: (seq: Int64, hash: String, signature: String)?
        var commit: UInt64?
        func transaction() throws {
            try database.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    let audit = try AuditWriter(db: db)
                    result = try body(db, audit)
                    if let last = audit.last {
                        let signature = try signer.sign(seq: last.seq, hash: last.hash)
                        try db.cachedStatement(sql: "INSERT INTO audit_checkpoints (seq, hash, signature, public_key) VALUES (?, ?, ?, ?)")
                            .execute(arguments: [last.seq, last.hash, signature, signer.publicKeyHex])
                        head = (last.seq, last.hash, signature)
                    }
                    return .commit
                }
            }
        }
        do {
            // Writers queue on the lock file in the kernel (see `LockFile`) rather than in
            // SQLite's sleeping retries.
            try lock.whileHolding(
                patience: urgent ? 2 : LockFile.patience,
                timedOut: {
                    guard urgent else {
                        throw StoreError(.unavailable, "the queue's write lock \(path).lock has been held by another process for over \(Int(LockFile.patience)) s; nothing was written")
                    }
                    try transaction()
                }
            ) {
                try transaction()
                commit = groupCommit.recordCommit()
                checkpointIfLogIsLong()
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.unavailable, "queue \(path): \(error)")
        }
        // Durable before anyone hears of it; the flush is outside the write lock, so the next
        // writer commits meanwhile and one flush covers both.
        try groupCommit.makeDurable(commit)
        if let head, let problem = signer.advanceHead(seq: head.seq, hash: head.hash, signature: head.signature) {
            throw StoreError(.unavailable, "the change was recorded, but \(problem); treat the queue as unavailable until that is fixed")
        }
        guard let result else { throw StoreError(.unavailable, "queue \(path): transaction produced no result") }
        return result
    }

    /// Above this size the writer that grew the log copies it into the database and empties
    /// it. Every process that opens the queue alone reads the whole log (about 1.7 µs a
    /// page here) and a checkpoint costs a few disk flushes: at 1 MiB (about 250 pages,
    /// some 20 submits) each costs a hook a few tenths of a millisecond on average.
    static let checkpointLogBytes: off_t = 1 << 20

    /// Copies the log into the database and truncates it, when it has grown past
    /// `checkpointLogBytes`. Called with the write lock held, right after a commit. A
    /// checkpoint is never waited for: when a reader is still using the log (a console's
    /// refresh, an audit verification) it is skipped, and a later write tries again. The
    /// checkpoint flushes the log before copying it, so it never loses a commit that the
    /// group commit has yet to flush.
    private func checkpointIfLogIsLong() {
        var info = stat()
        guard stat(path + "-wal", &info) == 0, info.st_size > Self.checkpointLogBytes else { return }
        try? database.writeWithoutTransaction { db in
            let connection = db.sqliteConnection
            sqlite3_busy_timeout(connection, 0)
            defer { sqlite3_busy_timeout(connection, Self.busyTimeoutMilliseconds) }
            _ = sqlite3_wal_checkpoint_v2(connection, "main", SQLITE_CHECKPOINT_TRUNCATE, nil, nil)
        }
    }

    /// Commits numbered, commits known to be on disk, and log flushes so far in this boot
    /// (see `GroupCommit`); nil when the sync file cannot be used. For tests and benchmarks.
    public var commitCounters: (committed: UInt64, durable: UInt64, flushes: UInt64)? {
        groupCommit.counters()
    }

    /// A read of the whole file (audit verification) through a memory map instead of a
    /// system call per page. Only for this connection and this read: everywhere else pages
    /// are read normally.
    func readMapped<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try database.inDatabase { db in
                try db.execute(sql: "PRAGMA mmap_size = 1073741824")
                defer { try? db.execute(sql: "PRAGMA mmap_size = 0") }
                var result: T?
                try db.inTransaction(.deferred) {
                    result = try body(db)
                    return .commit
                }
                guard let result else { throw StoreError(.unavailable, "queue \(path): read produced no result") }
                return result
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.unavailable, "queue \(path): \(error)")
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try database.read { db in try body(db) }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.unavailable, "queue \(path): \(error)")
        }
    }

    // MARK: - Submitting

    /// Records a classified request. Gated requests wait with a deadline; a halted agent's
    /// requests are recorded as halted. Returns the request as stored (acknowledged).
    /// `planKey` is `Plan.key` of the action before redaction, to place it in its agent's plan.
    public func submit(
        _ request: ActionRequest, classification: Classification, approvals: ApprovalRules,
        submitter: Identity, timeout: Double? = nil, gateway: GatewayRules = .none, planKey: String? = nil,
        now: Double = Clock.now()
    ) throws(StoreError) -> StoredRequest {
        // Everything that depends only on what was submitted is encoded before taking the
        // write lock, which every other writer waits on.
        let prepared = QueueLogic.Prepared(request, classification, approvals)
        return try write { db, audit in
            try QueueLogic.submit(
                request, prepared: prepared, approvals: approvals, submitter: submitter, timeout: timeout, gateway: gateway, planKey: planKey,
                now: now, tables: SQLiteTables(db: db), audit: audit)
        }
    }

    /// Records one reviewer's vote, exactly once, under the rules the request was submitted
    /// with. A request that is no longer pending (decided, expired, halted) is never changed.
    public func decide(id: String, verdict: Verdict, reviewer: Identity, reason: String, now: Double = Clock.now()) throws(StoreError) -> DecideResult {
        try write { db, audit in
            try QueueLogic.decide(id: id, verdict: verdict, reviewer: reviewer, reason: reason, now: now, tables: SQLiteTables(db: db), audit: audit)
        }
    }

    /// Turns every pending request whose deadline has passed into `expired`: implicit
    /// denial. In batches, each its own transaction, so writers interleave with a long backlog.
    @discardableResult
    public func expireDue(now: Double = Clock.now()) throws(StoreError) -> Int {
        var total = 0
        while true {
            let due = try read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM (SELECT 1 FROM requests WHERE state = 'pending' AND expires_at <= ? LIMIT 1)", arguments: [now]) ?? 0
            }
            guard due > 0 else { return total }
            let expired = try write { db, audit in
                try QueueLogic.expireDue(now: now, limit: QueueLogic.expiryBatch, tables: SQLiteTables(db: db), audit: audit)
            }
            total += expired
            if expired == 0 { return total }
        }
    }

    /// Expires request `id` if it is pending and overdue (a waiter at its own deadline
    /// need not wait for anyone else's backlog). Returns whether it expired it.
    @discardableResult
    public func expireIfDue(id: String, now: Double = Clock.now()) throws(StoreError) -> Bool {
        try write { db, audit in try QueueLogic.expireIfDue(id: id, now: now, tables: SQLiteTables(db: db), audit: audit) }
    }

    // MARK: - The kill switch

    /// An agent's (or, for "*", every agent's) halt.
    public typealias Halt = AgentHalt

    public func halt(for agent: String) throws(StoreError) -> Halt? {
        try read { db in try SQLiteTables(db: db).activeHalt(agent: agent) }
    }

    public func halts() throws(StoreError) -> [Halt] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT agent, reason, by, at FROM halts ORDER BY at").map { Halt(agent: $0["agent"], reason: $0["reason"], by: $0["by"], at: $0["at"]) }
        }
    }

    /// Halts `agent` (or every agent with `*`): its pending requests become `halted`, and
    /// new ones are refused until it is resumed. Returns how many pending requests it stopped.
    public func halt(agent: String, reason: String, by: Identity, now: Double = Clock.now()) throws(StoreError) -> Int {
        try write(urgent: true) { db, audit in
            try QueueLogic.halt(agent: agent, reason: reason, by: by, now: now, tables: SQLiteTables(db: db), audit: audit)
        }
    }

    /// Lifts a halt. Returns false when `agent` was not halted.
    public func resume(agent: String, by: Identity, now: Double = Clock.now()) throws(StoreError) -> Bool {
        try write { db, audit in try QueueLogic.resume(agent: agent, by: by, now: now, tables: SQLiteTables(db: db), audit: audit) }
    }

    // MARK: - Reading

    public func request(id: String) throws(StoreError) -> StoredRequest? {
        try read { db in try Rows.fetch(id: id, db: db) }
    }

    /// Requests, oldest first (so the newest is last, as `list --json` promises).
    public func list(_ filter: RequestFilter = RequestFilter()) throws(StoreError) -> [StoredRequest] {
        try read { db in try Rows.fetchAll(filter, db: db) }
    }

    /// Blocks until request `id` leaves `pending`. Where the kernel can say when the queue
    /// file changes (`QueueWatch`), the waiter sleeps until another process commits and then
    /// reads its request again (one indexed read), so a decision reaches it within
    /// milliseconds; a read every `pollInterval` stays as a safety net. Elsewhere it polls,
    /// starting every 10 ms and backing off to `pollInterval`. At the deadline the waiter
    /// itself records the expiry, so an agent learns of it even when no other process is
    /// running. Returns nil for an unknown id; returns the still-pending request at `giveUpAt`.
    public func waitForDecision(id: String, giveUpAt: Double? = nil, pollInterval: Double = 0.1) throws(StoreError) -> StoredRequest? {
        // Watching starts before the first read: a commit after it is never missed.
        let watch = QueueWatch(queuePath: path)
        var interval = watch == nil ? min(0.01, pollInterval) : max(pollInterval, 1)
        while true {
            guard let request = try request(id: id) else { return nil }
            if request.state != .pending { return request }
            let now = Clock.now()
            if let expiresAt = request.expiresAt, now >= expiresAt {
                try expireIfDue(id: id, now: now)
                continue
            }
            if let giveUpAt, now >= giveUpAt { return request }
            let untilDeadline = min(request.expiresAt ?? .infinity, giveUpAt ?? .infinity) - now
            let nap = max(0.001, min(interval, untilDeadline))
            if let watch {
                _ = watch.wait(timeout: nap)
            } else {
                usleep(UInt32(nap * 1_000_000))
                interval = min(interval * 1.5, pollInterval)
            }
        }
    }

    /// (agent, operation class) pairs that have actually run or been approved: an agent doing
    /// something outside this set is doing it for the FIRST TIME.
    public func establishedActions() throws(StoreError) -> Set<String> {
        try read { db in
            Set(
                try Row.fetchAll(db, sql: "SELECT DISTINCT agent_id, operation_class FROM agent_operations")
                    .map { (row: Row) -> String in "\(row["agent_id"] as String)\u{1F}\(row["operation_class"] as String)" })
        }
    }

    /// SQLite's view of the file's health (`PRAGMA integrity_check`): "ok" when intact.
    public func integrityCheck() throws(StoreError) -> String {
        try read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ") }
    }

    /// A number that changes whenever any process commits to the queue: cheap to poll.
    public func changeCounter() throws(StoreError) -> Int64 {
        try read { db in try Int64.fetchOne(db, sql: "SELECT coalesce(max(seq), 0) FROM audit") ?? 0 }
    }
}

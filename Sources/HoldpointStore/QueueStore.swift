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
        submitter: Identity, deadline: Double? = nil, gateway: GatewayRules = .none, planKey: String? = nil,
        now: Double = Clock.now()
    ) throws(StoreError) -> StoredRequest {
        // Everything that depends only on what was submitted is encoded before taking the
        // write lock, which every other writer waits on.
        let prepared = Prepared(request, classification, approvals)
        // A plan runs nothing: it counts against no limit or budget and is no first action.
        let isPlan = classification.planSteps != nil
        let gateway = isPlan ? .none : gateway
        let limits = gateway.limits.filter { $0.applies(to: request.agentID, classification.operationClass) }
        return try write { db, audit in
            try expireDue(db, audit: audit, now: now)
            // Rate limits count the queue inside this transaction: two racing requests that
            // would cross a limit cannot both get under it.
            var prepared = prepared
            if let rules = gateway.plans, let placed = try placeInPlan(request, key: planKey, classification: prepared.classification, rules: rules, db: db, now: now) {
                prepared = Prepared(request, placed, approvals)
            }
            if let over = try overLimit(limits, request: request, classification: prepared.classification, db: db, now: now) {
                prepared = Prepared(request, over.classification, approvals)
                if over.halt {
                    let reason = over.classification.reasons.last?.message ?? "rate limit"
                    let actor = Identity(user: "holdpoint", via: "rate limit")
                    try db.execute(sql: "INSERT OR REPLACE INTO halts (agent, reason, by, at) VALUES (?, ?, ?, ?)", arguments: [request.agentID, reason, actor.user, now])
                    try audit.append(
                        event: "agent_halted", requestID: nil, actor: actor, at: now,
                        details: .object([("agent", .string(request.agentID)), ("reason", .string(reason))]))
                }
            }
            if let tier = gateway.firstTime, let first = try firstTime(request, classification: prepared.classification, tier: tier, db: db) {
                prepared = Prepared(request, first, approvals)
            }
            if let budget = gateway.budget, let over = try overBudget(budget, request: request, classification: prepared.classification, db: db, now: now) {
                prepared = Prepared(request, over, approvals)
            }
            let classification = prepared.classification
            let encoded = prepared.encoded
            let canonicalDocument = prepared.canonicalDocument
            let canonicalVerdict = prepared.canonicalVerdict
            let outcome = prepared.outcome
            let id = RequestID.make(now: now)
            let halt = try activeHalt(db, agent: request.agentID)
            var state: RequestState
            switch classification.tier {
            case .autonomous, .supervised: state = .allowed
            case .blocked: state = .blocked
            case .gated: state = .pending
            }
            if halt != nil { state = .halted }
            var expiresAt: Double?
            if state == .pending {
                let timeout = approvals.timeouts[.gated] ?? 15 * 60
                expiresAt = min(now + timeout, deadline ?? .infinity)
            }
            let stored = StoredRequest(
                id: id, createdAt: now, agentID: request.agentID, environment: request.environment,
                submittedBy: submitter.user, onBehalfOf: request.onBehalfOf, tier: classification.tier,
                operationClass: classification.operationClass, state: state, expiresAt: expiresAt,
                actionSHA256: request.actionSHA256, reasons: classification.reasons,
                destructive: classification.destructive, irreversible: classification.irreversible, dataLoss: classification.dataLoss,
                approvalRules: approvals, document: request.document, votes: [],
                closedBy: halt.map { $0.by }, closedVia: nil, closedAt: halt == nil ? nil : now, closedReason: halt.map { "agent halted: \($0.reason)" },
                consumedAt: nil)
            try Rows.insert(stored, encoded: encoded, db: db)
            if state == .allowed { try learn(agent: request.agentID, environment: request.environment, classification, requestID: id, db: db, now: now) }
            try audit.append(event: "submitted", requestID: id, actor: submitter, at: now, canonicalDetails: canonicalDocument)
            try audit.append(event: "classified", requestID: id, actor: submitter, at: now, canonicalDetails: canonicalVerdict)
            switch state {
            case .allowed, .blocked:
                if let outcome { try audit.append(event: outcome.event, requestID: id, actor: submitter, at: now, canonicalDetails: outcome.details) }
            case .halted: try audit.append(event: "halted", requestID: id, actor: submitter, at: now, details: .object([("reason", .string(stored.closedReason ?? ""))]))
            default: break
            }
            return stored
        }
    }

    // MARK: - Deciding

    /// A submission's encoded columns and audit texts, worked out from its classification.
    struct Prepared {
        let classification: Classification
        let encoded: Rows.EncodedColumns
        let canonicalDocument: String
        let canonicalVerdict: String
        /// The entry recording an immediate outcome (a halt's entry names the halt, which
        /// only the transaction knows).
        let outcome: (event: String, details: String)?

        init(_ request: ActionRequest, _ classification: Classification, _ approvals: ApprovalRules) {
            self.classification = classification
            let verdict = Rows.verdictJSON(classification, actionSHA256: request.actionSHA256)
            encoded = Rows.EncodedColumns(
                document: JSONWriter.compact(request.document), verdict: JSONWriter.compact(verdict),
                approvalRules: JSONWriter.compact(Rows.rulesJSON(approvals)))
            canonicalDocument = JSONWriter.canonical(request.document)
            canonicalVerdict = JSONWriter.canonical(verdict)
            outcome =
                switch classification.tier {
                case .autonomous, .supervised: ("allowed", JSONWriter.canonical(.object([("tier", .string(classification.tier.rawValue))])))
                case .blocked: ("blocked", JSONWriter.canonical(.object([("rules", .array(classification.reasons.filter { $0.tier == .blocked }.map { .string($0.rule) }))])))
                case .gated: nil
                }
        }
    }

    /// The first limit this request would go over, with the classification it then gets
    /// (its reason names the count and the window), and whether the agent is to be halted.
    /// Counted: the agent's requests of the limit's classes in the window that were let
    /// through or are waiting (blocked, rejected or expired ones did nothing).
    func overLimit(
        _ limits: [RateLimit], request: ActionRequest, classification: Classification, db: Database, now: Double
    ) throws
        -> (classification: Classification, halt: Bool)?
    {
        for limit in limits {
            var sql = """
                SELECT count(*) FROM requests WHERE agent_id = ? AND created_at > ? AND state IN ('allowed','pending','approved','running','succeeded','failed')
                AND json_extract(document, '$.action.operation') IS NOT ?
                """
            var arguments: [any DatabaseValueConvertible] = [request.agentID, now - limit.window, Plan.operation]
            if let classes = limit.classes {
                sql += " AND operation_class IN (\(classes.map { _ in "?" }.joined(separator: ",")))"
                arguments += classes.map(\.rawValue).sorted()
            }
            let count = try Int.fetchOne(db, sql: sql, arguments: StatementArguments(arguments)) ?? 0
            guard count >= limit.max else { continue }
            var over = classification
            let tier: Tier = limit.onExceed == .gated ? .gated : .blocked
            over.tier = max(over.tier, tier)
            over.reasons.append(
                Reason(
                    rule: "rate-limit",
                    message: "\(count) \(limit.counted) by \(request.agentID) in the last \(Durations.format(limit.window)) (limit \(limit.max))\(limit.onExceed == .halt ? ": agent halted" : "")",
                    tier: tier))
            return (over, limit.onExceed == .halt)
        }
        return nil
    }

    /// The classification of a request whose declared impact would take its agent past the
    /// day's budget in its environment (UTC day), with the running total in its reason; nil
    /// when it stays within, declares nothing, or is already at least the budget's tier.
    func overBudget(_ budget: Budget, request: ActionRequest, classification: Classification, db: Database, now: Double) throws -> Classification? {
        guard classification.tier < budget.onExceed else { return nil }
        let dayStart = (now / 86_400).rounded(.down) * 86_400
        func spent(_ path: String) throws -> Double {
            try Double.fetchOne(
                db,
                sql: """
                    SELECT coalesce(sum(json_extract(document, ?)), 0) FROM requests
                    WHERE agent_id = ? AND environment = ? AND created_at >= ? AND state IN ('allowed','pending','approved','running','succeeded','failed')
                    AND json_extract(document, '$.action.operation') IS NOT ?
                    """, arguments: [path, request.agentID, request.environment, dayStart, Plan.operation]) ?? 0
        }
        var messages: [String] = []
        if let cap = budget.costUSD, let cost = request.impact.costUSD, cost > 0 {
            let before = try spent("$.impact.cost_usd")
            if before + cost > cap {
                messages.append("$\(JSONWriter.formatNumber(before)) declared today + $\(JSONWriter.formatNumber(cost)) would pass the $\(JSONWriter.formatNumber(cap)) daily cost cap")
            }
        }
        if let cap = budget.resourcesAffected, let count = request.impact.resourcesAffected, count > 0 {
            let before = try spent("$.impact.resources_affected")
            if before + count > cap {
                messages.append("\(JSONWriter.formatNumber(before)) resources today + \(JSONWriter.formatNumber(count)) would pass the daily cap of \(JSONWriter.formatNumber(cap))")
            }
        }
        guard !messages.isEmpty else { return nil }
        var over = classification
        over.tier = budget.onExceed
        over.reasons.append(Reason(rule: "budget", message: "budget of \(request.agentID) in \(request.environment): " + messages.joined(separator: "; "), tier: budget.onExceed))
        return over
    }

    /// The classification of an agent's first action of its class in this environment, or
    /// with a program it has never run there (FIRST TIME: never approved or run there
    /// before); nil when it is neither, is a read, or is already at least `tier`.
    func firstTime(_ request: ActionRequest, classification: Classification, tier: Tier, db: Database) throws -> Classification? {
        guard classification.operationClass != .read, classification.tier < tier else { return nil }
        let seen =
            try Int.fetchOne(
                db.cachedStatement(sql: "SELECT count(*) FROM agent_operations WHERE agent_id = ? AND environment = ? AND operation_class = ?"),
                arguments: [request.agentID, request.environment, classification.operationClass.rawValue]) ?? 0
        if seen == 0 {
            return classification.adding(
                Reason(
                    rule: "first-time",
                    message: "FIRST TIME: \(request.agentID) has never had a \(classification.operationClass.rawValue) approved or run in \(request.environment)",
                    tier: tier))
        }
        var newPrograms: [String] = []
        for program in classification.programs {
            let known =
                try Int.fetchOne(
                    db.cachedStatement(sql: "SELECT count(*) FROM agent_programs WHERE agent_id = ? AND environment = ? AND program = ?"),
                    arguments: [request.agentID, request.environment, program]) ?? 0
            if known == 0 { newPrograms.append(program) }
        }
        guard !newPrograms.isEmpty else { return nil }
        return classification.adding(
            Reason(
                rule: "first-time",
                message: "FIRST TIME: \(request.agentID) has never run \(newPrograms.joined(separator: ", ")) in \(request.environment)",
                tier: tier))
    }

    /// `learn(fromRequest:db:now:)` for a request being recorded as allowed, from its
    /// classification in hand rather than its stored verdict.
    func learn(agent: String, environment: String, _ classification: Classification, requestID: String, db: Database, now: Double) throws {
        if classification.planSteps == nil {
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO agent_operations (agent_id, environment, operation_class) VALUES (?, ?, ?)")
                .execute(arguments: [agent, environment, classification.operationClass.rawValue])
        }
        for program in classification.programs {
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO agent_programs (agent_id, environment, program) VALUES (?, ?, ?)")
                .execute(arguments: [agent, environment, program])
        }
        if let steps = classification.planSteps {
            try db.execute(
                sql: "INSERT OR REPLACE INTO plans (request_id, agent_id, at, steps) VALUES (?, ?, ?, ?)",
                arguments: [requestID, agent, now, JSONWriter.compact(.array(steps.map { .string($0) }))])
        }
    }

    /// What the gateway learns from request `id` once it may run (allowed or approved): the
    /// operation class and programs its agent has now done in its environment (what the
    /// first-time check asks, kept even after the request is archived), and, for a plan, the plan that
    /// now holds for the agent. Read from the stored verdict, inside the same transaction.
    func learn(fromRequest id: String, db: Database, now: Double) throws {
        try db.execute(
            sql: """
                INSERT OR IGNORE INTO agent_operations (agent_id, environment, operation_class)
                SELECT agent_id, environment, operation_class FROM requests
                WHERE id = ? AND json_extract(document, '$.action.operation') IS NOT ?
                """, arguments: [id, Plan.operation])
        try db.execute(
            sql: """
                INSERT OR IGNORE INTO agent_programs (agent_id, environment, program)
                SELECT requests.agent_id, requests.environment, programs.value FROM requests, json_each(requests.verdict, '$.programs') AS programs
                WHERE requests.id = ?
                """, arguments: [id])
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO plans (request_id, agent_id, at, steps)
                SELECT id, agent_id, ?, json_extract(verdict, '$.plan_steps') FROM requests
                WHERE id = ? AND json_extract(verdict, '$.plan_steps') IS NOT NULL
                """, arguments: [now, id])
    }

    /// Where the action stands against its agent's latest approved plan (within
    /// `rules.validFor`): "in approved plan P, step 3 of 5", or OFF PLAN, which raises an
    /// action that changes anything to `rules.offPlan` (set in production). Nil without a plan.
    func placeInPlan(_ request: ActionRequest, key: String?, classification: Classification, rules: PlanRules, db: Database, now: Double) throws -> Classification? {
        guard
            let plan = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT request_id, steps FROM plans WHERE agent_id = ? AND at > ? ORDER BY at DESC LIMIT 1"),
                arguments: [request.agentID, now - rules.validFor])
        else { return nil }
        let planID: String = plan["request_id"]
        let stepsText: String = plan["steps"]
        let steps = (try? JSONReader.parse(Array(stepsText.utf8)).arrayValue?.compactMap(\.stringValue)) ?? []
        if let key, let index = steps.firstIndex(of: key) {
            return classification.adding(Reason(rule: "plan", message: "in approved plan \(planID), step \(index + 1) of \(steps.count)", tier: .autonomous))
        }
        let raise = classification.operationClass == .read ? nil : rules.offPlan
        return classification.adding(
            Reason(
                rule: "off-plan",
                message: "OFF PLAN: matches no step of \(request.agentID)'s approved plan \(planID) (\(steps.count) step\(steps.count == 1 ? "" : "s"))",
                tier: raise ?? classification.tier))
    }

    /// Records one reviewer's vote, exactly once, under the rules the request was submitted
    /// with. A request that is no longer pending (decided, expired, halted) is never changed.
    public func decide(id: String, verdict: Verdict, reviewer: Identity, reason: String, now: Double = Clock.now()) throws(StoreError) -> DecideResult {
        try write { db, audit in
            try expireDue(db, audit: audit, now: now)
            guard var stored = try Rows.fetch(id: id, db: db) else { return .notFound }
            if stored.state == .pending, let expiresAt = stored.expiresAt, expiresAt <= now {
                // Overdue, whether or not this write's batch reached it: a vote now is too late.
                try expire(id, db: db, audit: audit, now: now)
                guard let expired = try Rows.fetch(id: id, db: db) else { return .notFound }
                return .notPending(expired)
            }
            guard stored.state == .pending else { return .notPending(stored) }
            if let refusal = DecisionRule.admit(
                reviewer: reviewer.user, groups: reviewer.groups, verdict: verdict, reason: reason, submittedBy: stored.submittedBy,
                onBehalfOf: stored.onBehalfOf, earlier: stored.votes, rules: stored.approvalRules)
            {
                // A missing reason is a usage error; every other refusal (self-approval, an
                // outsider, a second vote) is an attempt worth recording.
                if refusal == .reasonRequired { return .refused(refusal, stored) }
                try audit.append(
                    event: "decision_refused", requestID: id, actor: reviewer, at: now,
                    details: .object([("verdict", .string(verdict.rawValue)), ("refusal", .string(refusal.description))]))
                return .refused(refusal, stored)
            }
            let vote = Vote(
                reviewer: reviewer.user, via: reviewer.via, verdict: verdict, reason: reason, at: now, actionSHA256: stored.actionSHA256,
                groups: reviewer.groups)
            try db.execute(
                sql: "INSERT INTO votes (request_id, reviewer, via, verdict, reason, at, action_sha256, groups) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: [id, vote.reviewer, vote.via, vote.verdict.rawValue, vote.reason, vote.at, vote.actionSHA256, vote.groups.joined(separator: ",")])
            stored.votes.append(vote)
            try audit.append(
                event: "vote", requestID: id, actor: reviewer, at: now,
                details: .object([("verdict", .string(verdict.rawValue)), ("reason", .string(reason)), ("action_sha256", .string(stored.actionSHA256))]))
            let outcome = DecisionRule.outcome(of: stored.votes, rules: stored.approvalRules)
            if outcome != .pending {
                stored.state = outcome
                stored.closedBy = reviewer.user
                stored.closedVia = reviewer.via
                stored.closedAt = now
                stored.closedReason = reason
                try Rows.close(stored, db: db)
                if outcome == .approved { try learn(fromRequest: id, db: db, now: now) }
                let approvers = stored.votes.filter { $0.verdict == verdict }.map { JSONValue.string($0.reviewer) }
                try audit.append(
                    event: outcome.rawValue, requestID: id, actor: reviewer, at: now,
                    details: .object([("reason", .string(reason)), ("by", .array(approvers)), ("action_sha256", .string(stored.actionSHA256))]))
            }
            return .recorded(stored)
        }
    }

    /// How many overdue requests one write expires on its way (`expireDue(_:audit:now:)`):
    /// enough that a busy queue keeps up, few enough that no agent's write waits behind a
    /// backlog (100k overdue requests once made the next hook take 8 s).
    static let expiryBatchInWrite = 32
    /// How many `expireDue(now:)` expires per transaction: other writers get the lock
    /// between batches.
    static let expiryBatch = 500

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
            let expired = try write { db, audit in try expireDue(db, audit: audit, now: now, limit: Self.expiryBatch) }
            total += expired
            if expired == 0 { return total }
        }
    }

    /// Expires request `id` if it is pending and overdue (a waiter at its own deadline
    /// need not wait for anyone else's backlog). Returns whether it expired it.
    @discardableResult
    public func expireIfDue(id: String, now: Double = Clock.now()) throws(StoreError) -> Bool {
        try write { db, audit in
            guard let stored = try Rows.fetch(id: id, db: db), stored.state == .pending, let expiresAt = stored.expiresAt, expiresAt <= now else { return false }
            try expire(id, db: db, audit: audit, now: now)
            return true
        }
    }

    /// Expires up to `limit` overdue requests (the oldest deadlines first) inside the caller's
    /// transaction. A request that is itself being decided is expired by `decide` whatever
    /// the batch held, so a bounded batch never lets an overdue request be approved.
    @discardableResult
    func expireDue(_ db: Database, audit: AuditWriter, now: Double, limit: Int = QueueStore.expiryBatchInWrite) throws -> Int {
        let ids = try String.fetchAll(db.cachedStatement(sql: "SELECT id FROM requests WHERE state = 'pending' AND expires_at <= ? ORDER BY expires_at LIMIT ?"), arguments: [now, limit])
        for id in ids { try expire(id, db: db, audit: audit, now: now) }
        return ids.count
    }

    private func expire(_ id: String, db: Database, audit: AuditWriter, now: Double) throws {
        try db.execute(sql: "UPDATE requests SET state = 'expired', closed_by = 'expiry', closed_at = expires_at, closed_reason = 'no decision before the deadline' WHERE id = ?", arguments: [id])
        try audit.append(
            event: "expired", requestID: id, actor: Identity(user: "holdpoint", via: "deadline"), at: now,
            details: .object([("reason", .string("no decision before the deadline: denied"))]))
    }

    // MARK: - The kill switch

    /// An agent's (or, for "*", every agent's) halt.
    public typealias Halt = AgentHalt

    func activeHalt(_ db: Database, agent: String) throws -> Halt? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT agent, reason, by, at FROM halts WHERE agent IN (?, '*') ORDER BY agent = '*' LIMIT 1"), arguments: [agent]) else {
            return nil
        }
        return Halt(agent: row["agent"], reason: row["reason"], by: row["by"], at: row["at"])
    }

    public func halt(for agent: String) throws(StoreError) -> Halt? {
        try read { db in try activeHalt(db, agent: agent) }
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
            try db.execute(sql: "INSERT OR REPLACE INTO halts (agent, reason, by, at) VALUES (?, ?, ?, ?)", arguments: [agent, reason, by.user, now])
            try audit.append(event: "agent_halted", requestID: nil, actor: by, at: now, details: .object([("agent", .string(agent)), ("reason", .string(reason))]))
            let ids =
                agent == "*"
                ? try String.fetchAll(db, sql: "SELECT id FROM requests WHERE state = 'pending'")
                : try String.fetchAll(db, sql: "SELECT id FROM requests WHERE state = 'pending' AND agent_id = ?", arguments: [agent])
            for id in ids {
                try db.execute(
                    sql: "UPDATE requests SET state = 'halted', closed_by = ?, closed_via = ?, closed_at = ?, closed_reason = ? WHERE id = ?",
                    arguments: [by.user, by.via, now, "agent halted: \(reason)", id])
                try audit.append(event: "halted", requestID: id, actor: by, at: now, details: .object([("reason", .string(reason))]))
            }
            return ids.count
        }
    }

    /// Lifts a halt. Returns false when `agent` was not halted.
    public func resume(agent: String, by: Identity, now: Double = Clock.now()) throws(StoreError) -> Bool {
        try write { db, audit in
            try db.execute(sql: "DELETE FROM halts WHERE agent = ?", arguments: [agent])
            guard db.changesCount > 0 else { return false }
            try audit.append(event: "resumed", requestID: nil, actor: by, at: now, details: .object([("agent", .string(agent))]))
            return true
        }
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

import Foundation
import GRDB
import HoldpointCore

/// Retention: decided history moves out of the live queue into sealed archive segments.
///
/// The audit log is one hash chain, so what leaves the queue is always a prefix of it: the
/// entries 1…S of the first segment, S+1…T of the next, and so on. The live log continues
/// from the last segment's last hash, and the queue records each segment (`archive_segments`:
/// its range, its last hash, its file), so `audit verify` walks the segments and the live
/// log as one chain. Editing a segment breaks the link to the next part; deleting one leaves
/// a gap that verify names. Nothing in a segment is signed on its own: the newest signed
/// checkpoint of the live log covers every hash before it, archived or not.
///
/// A request leaves with its first entry ('submitted'). Requests that must stay (pending or
/// running) keep their entries live too: the prefix ends before the first of them. A moved
/// request can still gain entries after the archived prefix (an approval used late): those
/// stay in the live log, which the cross-checks of `audit verify` allow, since they only ask
/// that every live request's own entries be there.
///
/// The move goes in batches of `batchEntries` entries, each its own transaction: the copy is
/// committed to the segment file first, then deleted from the queue with the segment's new
/// end, so a crash between the two leaves the rows in both places (verify reads a segment
/// only up to the end the queue recorded) and loses nothing. Other writers get the lock
/// between batches.
extension QueueStore {
    public struct ArchiveReport: Sendable, Equatable {
        public var path: String
        public var firstSeq: Int64
        public var lastSeq: Int64
        public var requests: Int
        public var entries: Int { Int(lastSeq - firstSeq + 1) }
    }

    /// A segment of the chain that lives in another file, as the queue recorded it.
    public struct ArchiveSegment: Sendable, Equatable {
        public var firstSeq: Int64
        public var lastSeq: Int64
        public var lastHash: String
        public var path: String
        public var requests: Int
        public var archivedAt: Double
    }

    static let archiveFormat = "holdpoint.archive/v1"
    public static let archiveBatchEntries = 2_000

    /// The segments the live log continues from, oldest first.
    public func archiveSegments() throws(StoreError) -> [ArchiveSegment] {
        try read { db in try Self.segments(db) }
    }

    static func segments(_ db: Database) throws -> [ArchiveSegment] {
        try Row.fetchAll(db, sql: "SELECT first_seq, last_seq, last_hash, path, requests, archived_at FROM archive_segments ORDER BY first_seq").map {
            ArchiveSegment(firstSeq: $0[0], lastSeq: $0[1], lastHash: $0[2], path: $0[3], requests: $0[4], archivedAt: $0[5])
        }
    }

    /// Moves the history recorded before `cutoff` (seconds since 1970) into a new segment
    /// file at `path`. Nil when there is nothing to move (everything that old is archived,
    /// or the oldest entries belong to requests still pending or running).
    public func archive(
        before cutoff: Double, to path: String, by actor: Identity, batchEntries: Int = QueueStore.archiveBatchEntries,
        now: Double = Clock.now()
    ) throws(StoreError) -> ArchiveReport? {
        let target = PathText.normalize(path, relativeTo: FileManager.default.currentDirectoryPath, home: nil)
        guard !FileManager.default.fileExists(atPath: target) else {
            throw StoreError(.badInput, "\(target) already exists: an archive segment is written once, never added to; name a new file")
        }
        guard let (first, last) = try read({ db in try Self.archivablePrefix(db, cutoff: cutoff) }) else { return nil }
        let segment = try ArchiveFile.create(target, copyingSchemaFrom: self, firstSeq: first, cutoff: cutoff, publicKey: signer.publicKeyHex, now: now)
        var report = ArchiveReport(path: target, firstSeq: first, lastSeq: first - 1, requests: 0)
        var next = first
        while next <= last {
            let end = min(last, next + Int64(max(1, batchEntries)) - 1)
            guard let moved = try write({ db, _ in try moveBatch(db, from: next, through: end, first: first, into: segment, now: now) }) else { break }
            report.requests += moved
            report.lastSeq = end
            next = end + 1
        }
        guard report.lastSeq >= first else {
            try? FileManager.default.removeItem(atPath: target)
            return nil
        }
        try segment.seal()
        _ = try write { db, audit in
            try audit.append(
                event: "archived", requestID: nil, actor: actor, at: now,
                details: .object([
                    ("first_seq", .number(Double(report.firstSeq))), ("last_seq", .number(Double(report.lastSeq))),
                    ("requests", .number(Double(report.requests))), ("path", .string(target)), ("before", .string(Clock.iso8601(cutoff))),
                ]))
        }
        return report
    }

    /// The entries that may leave: from the end of the last segment to the newest signed
    /// checkpoint that is older than `cutoff`, that is not the log's last entry (the live log
    /// never empties: the next writer chains from it), and that comes before the first entry
    /// of every request still pending or running.
    static func archivablePrefix(_ db: Database, cutoff: Double) throws -> (Int64, Int64)? {
        let first = (try Int64.fetchOne(db, sql: "SELECT max(last_seq) FROM archive_segments") ?? 0) + 1
        let newest = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM audit") ?? 0
        // Nothing a notification sink has yet to deliver leaves: the log is its outbox.
        let undelivered = (try Int64.fetchOne(db, sql: "SELECT min(delivered_seq) FROM notify_cursors") ?? Int64.max - 1) + 1
        let firstLive =
            try Int64.fetchOne(
                db,
                sql: """
                    SELECT min(a.seq) FROM requests r JOIN audit a ON a.request_id = r.id AND a.event = 'submitted'
                    WHERE r.state IN ('pending', 'running')
                    """) ?? Int64.max
        guard
            let end = try Int64.fetchOne(
                db,
                sql: """
                    SELECT max(c.seq) FROM audit_checkpoints c JOIN audit a ON a.seq = c.seq
                    WHERE a.at_ms < ? AND c.seq < ? AND c.seq < ? AND c.seq < ?
                    """, arguments: [Int64(cutoff * 1000), newest, firstLive, undelivered]), end >= first
        else { return nil }
        return (first, end)
    }

    /// One batch: copies entries `from…through` and the requests they start into the
    /// segment (committed there first), then deletes them here and records the segment's new
    /// end. Returns how many requests moved, or nil to end the segment early: a request that
    /// would move is pending or running again (an old approval being used now).
    private func moveBatch(_ db: Database, from: Int64, through: Int64, first: Int64, into segment: ArchiveFile, now: Double) throws -> Int? {
        let ids = try String.fetchAll(
            db, sql: "SELECT request_id FROM audit WHERE seq BETWEEN ? AND ? AND event = 'submitted' AND request_id IS NOT NULL",
            arguments: [from, through])
        let idList = "SELECT request_id FROM audit WHERE seq BETWEEN \(from) AND \(through) AND event = 'submitted' AND request_id IS NOT NULL"
        if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM requests WHERE id IN (\(idList)) AND state IN ('pending', 'running'))") == true {
            return nil
        }
        guard let lastHash = try String.fetchOne(db, sql: "SELECT hash FROM audit WHERE seq = ?", arguments: [through]) else {
            throw StoreError(.unavailable, "audit entry \(through) is missing: run `holdpoint audit verify` before archiving")
        }
        try segment.append(
            requests: try Row.fetchAll(db, sql: "SELECT * FROM requests WHERE id IN (\(idList))"),
            votes: try Row.fetchAll(db, sql: "SELECT * FROM votes WHERE request_id IN (\(idList))"),
            plans: try Row.fetchAll(db, sql: "SELECT * FROM plans WHERE request_id IN (\(idList))"),
            audit: try Row.fetchAll(db, sql: "SELECT * FROM audit WHERE seq BETWEEN ? AND ? ORDER BY seq", arguments: [from, through]),
            checkpoints: try Row.fetchAll(db, sql: "SELECT * FROM audit_checkpoints WHERE seq BETWEEN ? AND ?", arguments: [from, through]))
        try db.execute(sql: "DELETE FROM votes WHERE request_id IN (\(idList))")
        try db.execute(sql: "DELETE FROM plans WHERE request_id IN (\(idList))")
        try db.execute(sql: "DELETE FROM escalations WHERE request_id IN (\(idList))")
        try db.execute(sql: "DELETE FROM requests WHERE id IN (\(idList))")
        try db.execute(sql: "DELETE FROM audit_checkpoints WHERE seq BETWEEN ? AND ?", arguments: [from, through])
        try db.execute(sql: "DELETE FROM audit WHERE seq BETWEEN ? AND ?", arguments: [from, through])
        try db.execute(
            sql: """
                INSERT INTO archive_segments (first_seq, last_seq, last_hash, path, requests, archived_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (first_seq) DO UPDATE SET last_seq = excluded.last_seq, last_hash = excluded.last_hash,
                  requests = requests + excluded.requests, archived_at = excluded.archived_at
                """, arguments: [first, through, lastHash, segment.path, ids.count, now])
        return ids.count
    }
}

/// One segment file: the queue's own tables (as the queue defines them) holding a stretch of
/// the chain and the requests it started, and a `segment` table saying what it is. Written
/// with a full flush per batch; read-only once sealed.
final class ArchiveFile {
    let path: String
    private let database: DatabaseQueue

    private init(path: String, database: DatabaseQueue) {
        self.path = path
        self.database = database
    }

    static let tables = ["requests", "votes", "plans", "audit", "audit_checkpoints"]

    static func create(_ path: String, copyingSchemaFrom store: QueueStore, firstSeq: Int64, cutoff: Double, publicKey: String, now: Double) throws(StoreError) -> ArchiveFile {
        do {
            let definitions = try store.read { db in
                try tables.map { table in
                    try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", arguments: [table]) ?? ""
                }
            }
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
            guard fd >= 0 else { throw StoreError(.unavailable, "cannot create the archive segment \(path): \(String(cString: strerror(errno)))") }
            close(fd)
            var configuration = Configuration()
            configuration.label = "holdpoint-archive"
            // A rollback journal and a full flush per commit: a batch is on disk before the
            // queue lets go of its rows.
            configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            let database = try DatabaseQueue(path: path, configuration: configuration)
            try database.write { db in
                for definition in definitions where !definition.isEmpty { try db.execute(sql: definition) }
                try db.execute(sql: "CREATE TABLE segment (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                for (key, value) in [
                    ("format", QueueStore.archiveFormat), ("first_seq", String(firstSeq)), ("before", Clock.iso8601(cutoff)),
                    ("public_key", publicKey), ("queue", store.path), ("created_at", Clock.iso8601(now)),
                ] {
                    try db.execute(sql: "INSERT INTO segment (key, value) VALUES (?, ?)", arguments: [key, value])
                }
            }
            return ArchiveFile(path: path, database: database)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.unavailable, "cannot create the archive segment \(path): \(error)")
        }
    }

    /// Copies rows in one transaction of the segment file, on disk when this returns.
    func append(requests: [Row], votes: [Row], plans: [Row], audit: [Row], checkpoints: [Row]) throws {
        try database.write { db in
            for (table, rows) in [("requests", requests), ("votes", votes), ("plans", plans), ("audit", audit), ("audit_checkpoints", checkpoints)] {
                for row in rows {
                    let columns = Array(row.columnNames)
                    let sql = "INSERT OR REPLACE INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))"
                    try db.cachedStatement(sql: sql).execute(arguments: StatementArguments(row.databaseValues))
                }
            }
        }
    }

    /// No more writes: the file becomes read-only for everyone.
    func seal() throws(StoreError) {
        do { try database.close() } catch { throw StoreError(.unavailable, "archive segment \(path): \(error)") }
        chmod(path, 0o440)
    }

    /// Opens a sealed segment to read it (verification).
    static func openForReading(_ path: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.label = "holdpoint-archive"
        return try DatabaseQueue(path: path, configuration: configuration)
    }
}

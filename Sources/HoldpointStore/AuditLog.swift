import Crypto
import Foundation
import GRDB
import HoldpointCore

/// Appends hash-chained entries inside the caller's transaction.
///
/// Entry hash = SHA-256 of the canonical JSON (RFC 8785) of
/// `{"actor","at_ms","details","event","prev","request_id","seq","via"}`; `prev` is the
/// previous entry's hash (64 zeros for the first). `details` is stored in canonical form,
/// so the hashed text is assembled without re-parsing it. Editing, inserting, deleting or
/// reordering any entry breaks the chain from that entry on.
final class AuditWriter {
    private let db: Database
    private var seq: Int64
    private var previous: String
    private(set) var last: (seq: Int64, hash: String)?

    static let genesis = String(repeating: "0", count: 64)

    init(db: Database) throws {
        self.db = db
        if let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")) {
            seq = row["seq"]
            previous = row["hash"]
        } else {
            seq = 0
            previous = Self.genesis
        }
    }

    func append(event: String, requestID: String?, actor: Identity, at: Double, details: JSONValue) throws {
        try append(event: event, requestID: requestID, actor: actor, at: at, canonicalDetails: JSONWriter.canonical(details))
    }

    /// The same with `details` already in canonical form: a caller that can encode them
    /// before the transaction keeps that work out of the time it holds the write lock.
    func append(event: String, requestID: String?, actor: Identity, at: Double, canonicalDetails detailsText: String) throws {
        seq += 1
        let atMillis = Int64((at * 1000).rounded())
        let hash = AuditEntry.hash(
            seq: seq, atMillis: atMillis, event: event, requestID: requestID, actor: actor.user, via: actor.via,
            canonicalDetails: detailsText, previous: previous)
        try db.cachedStatement(sql: "INSERT INTO audit (seq, at_ms, event, request_id, actor, via, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .execute(arguments: [seq, atMillis, event, requestID, actor.user, actor.via, detailsText, previous, hash])
        previous = hash
        last = (seq, hash)
    }
}

extension AuditEntry {
    func canonical() -> JSONValue {
        .object([
            ("seq", .number(Double(seq))), ("at_ms", .number(Double(atMillis))), ("event", .string(event)),
            ("request_id", requestID.map(JSONValue.string) ?? .null), ("actor", .string(actor)), ("via", .string(via)),
            ("details", details), ("prev", .string(previousHash)),
        ])
    }

    func computedHash() -> String {
        Self.hash(
            seq: seq, atMillis: atMillis, event: event, requestID: requestID, actor: actor, via: via,
            canonicalDetails: JSONWriter.canonical(details), previous: previousHash)
    }

    /// The entry's hash: SHA-256 of its canonical text (`AuditEntryText`). Public for the
    /// other stores (PostgreSQL), which must chain entries exactly as this one does.
    public static func hash(
        seq: Int64, atMillis: Int64, event: String, requestID: String?, actor: String, via: String,
        canonicalDetails: String, previous: String
    ) -> String {
        AuditEntryText.hash(
            seq: seq, atMillis: atMillis, event: event, requestID: requestID, actor: actor, via: via,
            canonicalDetails: canonicalDetails, previous: previous)
    }
}

/// A signed checkpoint: an entry's number and its hash, which covers every entry before it.
public struct AuditPoint: Sendable, Equatable {
    public var seq: Int64
    public var hash: String

    public init(seq: Int64, hash: String) {
        self.seq = seq
        self.hash = hash
    }
}

/// The result of checking the log.
public struct AuditReport: Sendable, Equatable {
    /// Entries and checkpoints checked (after `resumedAfter` only, when resumed).
    public var entries: Int
    public var checkpoints: Int
    /// The first problem found: the entry's sequence number and what is wrong.
    public var firstBadSeq: Int64?
    public var problem: String?
    /// The newest signed checkpoint, when the log is intact: where a later
    /// `verify --since-checkpoint` can resume.
    public var verifiedThrough: AuditPoint?
    /// The checkpoint this verification resumed after (its entries were trusted as verified
    /// before); nil for a verification from the first entry.
    public var resumedAfter: Int64?

    public init(entries: Int, checkpoints: Int, firstBadSeq: Int64?, problem: String?, verifiedThrough: AuditPoint? = nil, resumedAfter: Int64? = nil) {
        self.entries = entries
        self.checkpoints = checkpoints
        self.firstBadSeq = firstBadSeq
        self.problem = problem
        self.verifiedThrough = verifiedThrough
        self.resumedAfter = resumedAfter
    }

    public var intact: Bool { problem == nil }
}

extension QueueStore {
    /// The tables checked against the log: every request has its `submitted` entry, every
    /// vote its `vote` entry, every decided request the entry that decided it, and every used
    /// approval its `consumed` entry. A change written into the tables by SQL alone (an
    /// approval forged without the key) has none. Nil when they agree.
    static func tablesWithoutTheirEntries(_ db: Database) throws -> String? {
        for check in AuditCrossChecks.checks {
            if let id = try String.fetchOne(db, sql: check.sql) { return "request \(id) \(check.what) (the tables were changed outside Holdpoint)" }
        }
        return nil
    }

    /// Entries in order, optionally only after `afterSeq` or about one request.
    /// `limit`: the newest that many; `first`: the oldest that many (after `afterSeq`).
    public func auditEntries(afterSeq: Int64 = 0, requestID: String? = nil, limit: Int? = nil, first: Int? = nil) throws(StoreError) -> [AuditEntry] {
        try read { db in
            var sql = "SELECT * FROM audit WHERE seq > ?"
            var arguments: [any DatabaseValueConvertible] = [afterSeq]
            if let requestID {
                sql += " AND request_id = ?"
                arguments.append(requestID)
            }
            sql += " ORDER BY seq"
            if let first { sql += " LIMIT \(max(0, first))" }
            if let limit { sql = "SELECT * FROM (\(sql.replacingOccurrences(of: "ORDER BY seq", with: "ORDER BY seq DESC")) LIMIT \(limit)) ORDER BY seq" }
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map(Self.entry)
        }
    }

    static func entry(_ row: Row) -> AuditEntry {
        let detailsText: String = row["details"]
        return AuditEntry(
            seq: row["seq"], atMillis: row["at_ms"], event: row["event"], requestID: row["request_id"],
            actor: row["actor"], via: row["via"], details: (try? JSONReader.parse(detailsText)) ?? .string(detailsText),
            previousHash: row["prev_hash"], hash: row["hash"])
    }

    /// Verifies the chain, every checkpoint's signature, and the signed head outside the file.
    /// `publicKeyHex` defaults to this queue's own signing key.
    /// `requireHead`: a missing head file is a failure (it is written with every change, so
    /// deleting it is how a truncation would hide); `false` only when the caller knows why.
    /// Checks the chain from the first entry ever written (through the archive segments)
    /// to the last, or, given `since` (a checkpoint an earlier verification vouched for),
    /// only what came after it: the entry there must still carry the same hash, which
    /// covers everything before it. The signatures, the signed head and the tables'
    /// cross-checks are checked in full either way.
    public func verifyAudit(publicKeyHex: String? = nil, requireHead: Bool = true, since: AuditPoint? = nil) throws(StoreError) -> AuditReport {
        let key = publicKeyHex ?? signer.publicKeyHex
        return try readMapped { db in
            var report = AuditReport(entries: 0, checkpoints: 0, firstBadSeq: nil, problem: nil)
            func fail(_ seq: Int64, _ problem: String) -> AuditReport {
                report.firstBadSeq = seq
                report.problem = problem
                report.verifiedThrough = nil
                return report
            }
            var start = AuditChainScan.Start.genesis
            let segments = try Self.segments(db)
            if let since, since.seq > (segments.last?.lastSeq ?? 0) {
                // Resume: the point verified before must still be there, unchanged.
                let entry = try String.fetchOne(db, sql: "SELECT hash FROM audit WHERE seq = ?", arguments: [since.seq])
                let signed = try String.fetchOne(db, sql: "SELECT hash FROM audit_checkpoints WHERE seq = ?", arguments: [since.seq])
                guard entry == since.hash, signed == since.hash else {
                    return fail(
                        since.seq,
                        entry == nil
                            ? "entry \(since.seq), verified before, is gone (log truncated or rewritten)"
                            : "entry \(since.seq): differs from what an earlier verification vouched for (rewritten)")
                }
                start = AuditChainScan.Start(seq: since.seq + 1, previousHash: since.hash)
                report.resumedAfter = since.seq
            } else {
                // Archived segments first, oldest first, each continuing the one before; the
                // live log continues the last of them.
                for segment in segments {
                    guard segment.firstSeq == start.seq else {
                        return fail(start.seq, "entries \(start.seq)…\(segment.firstSeq - 1) are missing: no archive segment holds them")
                    }
                    let scanned: AuditChainScan.Outcome
                    do {
                        scanned = try ArchiveFile.openForReading(segment.path).read { archive in
                            try AuditChainScan.run(archive, from: start, through: segment.lastSeq)
                        }
                    } catch {
                        return fail(segment.firstSeq, "the archive segment \(segment.path) (entries \(segment.firstSeq)…\(segment.lastSeq)) cannot be read: \(error)")
                    }
                    report.entries += scanned.entries
                    report.checkpoints += scanned.checkpoints
                    if let failure = scanned.failure { return fail(failure.seq, "\(failure.problem) in the archive segment \(segment.path)") }
                    guard scanned.lastSeq == segment.lastSeq, String(decoding: scanned.lastHash, as: UTF8.self) == segment.lastHash else {
                        return fail(
                            scanned.lastSeq + 1, "the archive segment \(segment.path) does not hold entries \(segment.firstSeq)…\(segment.lastSeq) as the queue recorded them (replaced or cut short)")
                    }
                    start = AuditChainScan.Start(seq: segment.lastSeq + 1, previousHash: segment.lastHash)
                }
            }
            let chain = try AuditChainScan.run(db, from: start)
            report.entries += chain.entries
            if let failure = chain.failure { return fail(failure.seq, failure.problem) }
            let last = chain.lastSeq
            report.checkpoints += chain.checkpoints
            // Every checkpoint named its entry's exact hash (checked in the scan). Because each
            // hash covers all the entries before it, the newest checkpoint's signature vouches
            // for the whole chain; that one (and the head below) is checked cryptographically.
            var lastSigned: Int64 = 0
            if let checkpoint = try Row.fetchOne(db, sql: "SELECT seq, hash, signature FROM audit_checkpoints ORDER BY seq DESC LIMIT 1") {
                // Converted without trapping: a tampered column may hold any type.
                lastSigned = Int64.fromDatabaseValue(checkpoint[0] as DatabaseValue) ?? 0
                let hash = String.fromDatabaseValue(checkpoint[1] as DatabaseValue) ?? ""
                let signature = String.fromDatabaseValue(checkpoint[2] as DatabaseValue) ?? ""
                guard AuditSigner.verify(seq: lastSigned, hash: hash, signatureHex: signature, publicKeyHex: key) else {
                    return fail(lastSigned, "entry \(lastSigned): its signed checkpoint does not verify (rewritten or signed with another key)")
                }
                report.verifiedThrough = AuditPoint(seq: lastSigned, hash: hash)
            }
            if lastSigned < last {
                return fail(lastSigned + 1, "entries \(lastSigned + 1)…\(last) carry no signed checkpoint (appended without the key)")
            }
            if let problem = try Self.tablesWithoutTheirEntries(db) { return fail(last, problem) }
            if requireHead && last > 0 && !FileManager.default.fileExists(atPath: signer.headPath) {
                return fail(last, "the signed head \(signer.headPath) is missing: entries could have been cut off the end unseen (use --no-head only if you know why it is gone)")
            }
            if let head = AuditSigner.readHead(signer.headPath) {
                guard AuditSigner.verify(seq: head.seq, hash: head.hash, signatureHex: head.signature, publicKeyHex: key) else {
                    return fail(head.seq, "the signed head \(signer.headPath) does not verify")
                }
                if head.seq > last {
                    return fail(last + 1, "entries \(last + 1)…\(head.seq) are missing: the signed head says the log reached \(head.seq) (log truncated)")
                }
                if try String.fetchOne(db, sql: "SELECT hash FROM audit WHERE seq = ?", arguments: [head.seq]) != head.hash {
                    return fail(head.seq, "entry \(head.seq): differs from the signed head (rewritten)")
                }
            }
            return report
        }
    }
}

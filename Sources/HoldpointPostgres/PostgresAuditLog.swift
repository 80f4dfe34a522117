import Foundation
import HoldpointCore
import HoldpointStore

/// The audit chain in PostgreSQL: the same entries, hashed by the same function
/// (`AuditEntry.hash`) as the SQLite queue's, appended by any daemon sharing the database.
///
/// One writer at a time: `begin` locks the chain's head row (`audit_head`, `FOR UPDATE`)
/// inside the caller's transaction, so concurrent transactions on any daemon queue there and
/// the chain has one order. `finish` moves the head, signs a checkpoint with this daemon's key
/// and notifies every listening daemon (`NOTIFY`, delivered when the transaction commits).
public final class PostgresAuditWriter {
    private let session: PostgresSession
    private var seq: Int64
    private var previous: String
    public private(set) var last: (seq: Int64, hash: String)?
    /// The database's clock when the head was locked: the time of every write in this
    /// transaction (daemons on several hosts agree on it).
    public let now: Double

    /// The channel on which every commit that appended entries is announced (payload: the
    /// newest entry's number). One per schema: NOTIFY reaches the whole database, and
    /// several queues may share one.
    public static func channel(_ settings: PostgresSettings) -> String {
        "holdpoint_changes." + (settings.schema ?? "public")
    }

    /// Locks the head inside the session's open transaction and reads it.
    public init(session: PostgresSession) throws(PostgresFailure) {
        self.session = session
        guard
            let head = try session.row("SELECT seq, hash, extract(epoch FROM clock_timestamp())::double precision FROM audit_head WHERE one FOR UPDATE"),
            let now = head.double(2)
        else {
            throw PostgresFailure(message: "the audit head row is missing: the queue's schema is damaged")
        }
        seq = head.int64(0) ?? 0
        previous = head.string(1) ?? ""
        self.now = now
    }

    public func append(event: String, requestID: String?, actor: Identity, at: Double, details: JSONValue) throws(PostgresFailure) {
        try append(event: event, requestID: requestID, actor: actor, at: at, canonicalDetails: JSONWriter.canonical(details))
    }

    public func append(event: String, requestID: String?, actor: Identity, at: Double, canonicalDetails: String) throws(PostgresFailure) {
        seq += 1
        let atMillis = Int64((at * 1000).rounded())
        let hash = AuditEntry.hash(
            seq: seq, atMillis: atMillis, event: event, requestID: requestID, actor: actor.user, via: actor.via,
            canonicalDetails: canonicalDetails, previous: previous)
        try session.send(
            "INSERT INTO audit (seq, at_ms, event, request_id, actor, via, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            [
                .integer(seq), .integer(atMillis), .text(event), requestID.map(SQLValue.text) ?? .null, .text(actor.user), .text(actor.via),
                .text(canonicalDetails), .text(previous), .text(hash),
            ])
        previous = hash
        last = (seq, hash)
    }

    /// Moves the head to the last entry appended, signs it, and announces it. Nothing to do
    /// when nothing was appended.
    public func finish(signer: AuditSigner) throws {
        guard let last else { return }
        try session.send("UPDATE audit_head SET seq = $1, hash = $2 WHERE one", [.integer(last.seq), .text(last.hash)])
        let signature = try signer.sign(seq: last.seq, hash: last.hash)
        try session.send(
            "INSERT INTO audit_checkpoints (seq, hash, signature, public_key) VALUES ($1, $2, $3, $4)",
            [.integer(last.seq), .text(last.hash), .text(signature), .text(signer.publicKeyHex)])
        try session.send("SELECT pg_notify($1, $2)", [.text(Self.channel(session.settings)), .text(String(last.seq))])
    }
}

/// Checks the chain as `audit verify` does for the SQLite queue: every entry's hash, every
/// link, every checkpoint's signature (by a key in `daemon_keys`), and the head row.
/// `audit verify` for a PostgreSQL queue: the chain (archived and live, as one), every
/// checkpoint's signature, the head row, and the live tables against the log.
public enum PostgresAuditVerifier {
    /// The signers a verification trusts: every daemon registered in `daemon_keys` (which
    /// whoever can write the database could add to), or only the keys the person verifying
    /// names (`--public-key`, comma-separated: the daemons' keys, from their hosts).
    public enum Signers: Sendable, Equatable {
        case registered
        case only(Set<String>)

        /// `--public-key`'s text: nil for the registered keys.
        public static func named(_ text: String?) -> Signers {
            guard let text else { return .registered }
            return .only(Set(text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }))
        }
    }

    /// Verifies the chain from its first entry, or, with `since` (a checkpoint an earlier
    /// intact verification reached), only the entries after it: the entry there must still
    /// carry the hash it had, which covers everything before it. Signatures of the entries
    /// checked, the head row and the tables are checked in full either way.
    public static func verify(_ session: PostgresSession, signers: Signers = .registered, since: AuditPoint? = nil) throws(PostgresFailure) -> AuditReport {
        let keys: Set<String>
        switch signers {
        case .registered: keys = Set(try session.rows("SELECT public_key FROM daemon_keys").compactMap { $0.string(0) })
        case .only(let named): keys = named
        }
        let strangers = signers == .registered ? "a key no daemon registered" : "a key not named by --public-key"
        var checkpoints: [Int64: (hash: String, signature: String, key: String)] = [:]
        for row in try session.rows("SELECT seq, hash, signature, public_key FROM checkpoints_all WHERE seq > $1", [.integer(since?.seq ?? 0)]) {
            if let seq = row.int64(0), let hash = row.string(1), let signature = row.string(2), let key = row.string(3) {
                checkpoints[seq] = (hash, signature, key)
            }
        }
        var previous = String(repeating: "0", count: 64)
        var expected: Int64 = 1
        var newestCheckpoint: AuditPoint?
        var after: Int64 = 0
        if let since {
            // Resume: the point verified before must still be there, unchanged.
            let entry = try session.row("SELECT hash FROM audit_all WHERE seq = $1", [.integer(since.seq)])?.string(0)
            let signed = try session.row("SELECT hash FROM checkpoints_all WHERE seq = $1", [.integer(since.seq)])?.string(0)
            guard entry == since.hash, signed == since.hash else {
                return AuditReport(
                    entries: 0, checkpoints: 0, firstBadSeq: since.seq,
                    problem: entry == nil
                        ? "entry \(since.seq), verified before, is gone (log truncated or rewritten)"
                        : "entry \(since.seq): differs from what an earlier verification vouched for (rewritten)")
            }
            previous = since.hash
            expected = since.seq + 1
            after = since.seq
            newestCheckpoint = since
        }
        var report = try scan(session, keys: keys, strangers: strangers, checkpoints: checkpoints, from: (previous, expected, after), newest: newestCheckpoint)
        report.resumedAfter = since?.seq
        return report
    }

    private static func scan(
        _ session: PostgresSession, keys: Set<String>, strangers: String, checkpoints: [Int64: (hash: String, signature: String, key: String)],
        from start: (previous: String, expected: Int64, after: Int64), newest: AuditPoint?
    ) throws(PostgresFailure) -> AuditReport {
        var (previous, expected, after) = start
        var newestCheckpoint = newest
        var count = 0
        var checked = 0
        // In pages, so a long log is not held in memory at once.
        while true {
            let page = try session.rows(
                "SELECT seq, at_ms, event, request_id, actor, via, details, prev_hash, hash FROM audit_all WHERE seq > $1 ORDER BY seq LIMIT 5000", [.integer(after)])
            if page.isEmpty { break }
            for row in page {
                let seq = row.int64(0) ?? -1
                func bad(_ problem: String) -> AuditReport {
                    AuditReport(entries: count, checkpoints: checked, firstBadSeq: seq, problem: problem)
                }
                guard seq == expected else { return bad("entry \(expected) is missing (next is \(seq))") }
                let prev = row.string(7) ?? ""
                guard prev == previous else { return bad("entry \(seq) does not follow entry \(seq - 1) (its previous hash differs)") }
                let hash = AuditEntry.hash(
                    seq: seq, atMillis: row.int64(1) ?? 0, event: row.string(2) ?? "", requestID: row.string(3), actor: row.string(4) ?? "",
                    via: row.string(5) ?? "", canonicalDetails: row.string(6) ?? "", previous: prev)
                guard hash == row.string(8) else { return bad("entry \(seq) was altered (its hash does not match its content)") }
                if let checkpoint = checkpoints[seq] {
                    guard checkpoint.hash == hash else { return bad("the checkpoint at entry \(seq) signs another hash") }
                    guard keys.contains(checkpoint.key) else { return bad("the checkpoint at entry \(seq) is signed by \(strangers)") }
                    guard AuditSigner.verify(seq: seq, hash: hash, signatureHex: checkpoint.signature, publicKeyHex: checkpoint.key) else {
                        return bad("the checkpoint at entry \(seq) has a bad signature")
                    }
                    checked += 1
                    newestCheckpoint = AuditPoint(seq: seq, hash: hash)
                }
                previous = hash
                expected += 1
                count += 1
                after = seq
            }
        }
        let stray = checkpoints.keys.filter { $0 >= expected }
        if let first = stray.min() {
            return AuditReport(entries: count, checkpoints: checked, firstBadSeq: first, problem: "a checkpoint names entry \(first), which the log no longer holds (entries were cut off)")
        }
        guard let head = try session.row("SELECT seq, hash FROM audit_head WHERE one"), head.int64(0) == expected - 1, head.string(1) == previous else {
            return AuditReport(entries: count, checkpoints: checked, firstBadSeq: expected - 1, problem: "the chain's head row does not name the last entry")
        }
        let lastSigned = newestCheckpoint?.seq ?? 0
        if lastSigned < expected - 1 {
            return AuditReport(
                entries: count, checkpoints: checked, firstBadSeq: lastSigned + 1,
                problem: "entries \(lastSigned + 1)…\(expected - 1) carry no signed checkpoint (appended without a daemon's key)")
        }
        for check in AuditCrossChecks.checks {
            if let id = try session.row(check.sql)?.string(0) {
                return AuditReport(
                    entries: count, checkpoints: checked, firstBadSeq: expected - 1, problem: "request \(id) \(check.what) (the tables were changed outside Holdpoint)")
            }
        }
        return AuditReport(entries: count, checkpoints: checked, firstBadSeq: nil, problem: nil, verifiedThrough: newestCheckpoint)
    }
}

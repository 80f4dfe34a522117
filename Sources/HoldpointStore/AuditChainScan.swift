import Crypto
import Foundation
import GRDB
import GRDBSQLite
import HoldpointCore

/// Walks the whole audit chain in place: every entry's link to the one before, its hash,
/// and the checkpoints that name it (a checkpoint must carry its entry's exact hash).
///
/// This is the loop `audit verify` spends its time in, so it reads columns straight from
/// SQLite's row buffer (no `Row`, no `String` per column) and hashes each entry with
/// `AuditEntryText`, the one definition the writer uses too, in one reused buffer. The audit
/// tests hold that text to RFC 8785 (`theHashedTextIsExactlyTheCanonicalJSON`).
struct AuditChainScan {
    /// How far the chain is intact, or the first entry that is not and why.
    struct Outcome {
        var entries: Int
        var checkpoints: Int
        var lastSeq: Int64
        /// The hash of the last entry walked (the start's when none was).
        var lastHash: [UInt8]
        var failure: (seq: Int64, problem: String)?
    }

    /// Where a walk starts: the first entry's number and the hash it must follow. The whole
    /// log starts at 1 after the genesis hash; the live log after an archive, past the last
    /// segment's end.
    struct Start {
        var seq: Int64
        var previousHash: String
        static let genesis = Start(seq: 1, previousHash: AuditWriter.genesis)
    }

    /// Walks the entries from `start` to the end of the table, or through `last`.
    static func run(_ db: Database, from start: Start = .genesis, through last: Int64 = .max) throws -> Outcome {
        let statement = try db.makeStatement(sql: "SELECT seq, at_ms, event, request_id, actor, via, details, prev_hash, hash FROM audit WHERE seq >= ? AND seq <= ? ORDER BY seq")
        try statement.setArguments([start.seq, last])
        let row = statement.sqliteStatement
        // Checkpoints are read alongside, both in sequence order: a merge, not a lookup per checkpoint.
        let checkpoints = try db.makeStatement(sql: "SELECT seq, hash FROM audit_checkpoints WHERE seq >= ? AND seq <= ? ORDER BY seq")
        try checkpoints.setArguments([start.seq, last])
        let checkpoint = checkpoints.sqliteStatement
        var checkpointPending = try step(checkpoint, db)
        var outcome = Outcome(entries: 0, checkpoints: 0, lastSeq: start.seq - 1, lastHash: Array(start.previousHash.utf8), failure: nil)
        var previous = Array(start.previousHash.utf8)
        var text: [UInt8] = []
        text.reserveCapacity(8192)
        var hex = [UInt8](repeating: 0, count: 64)
        while try step(row, db) {
            let seq = sqlite3_column_int64(row, 0)
            let expected = outcome.lastSeq + 1
            if seq != expected {
                outcome.failure = (expected, seq > expected ? "entry \(expected) is missing (deleted)" : "entry \(seq) is out of order")
                return outcome
            }
            guard same(column(row, 7), previous) else {
                outcome.failure = (seq, "entry \(seq): does not follow entry \(seq - 1) (chain broken: reordered, inserted or replaced)")
                return outcome
            }
            let digest = previous.withUnsafeBytes { previousBytes in
                AuditEntryText(
                    actor: column(row, 4), atMillis: sqlite3_column_int64(row, 1), canonicalDetails: column(row, 6),
                    event: column(row, 2), previous: previousBytes,
                    requestID: sqlite3_column_type(row, 3) == SQLITE_NULL ? nil : column(row, 3),
                    seq: seq, via: column(row, 5)
                ).digest(scratch: &text)
            }
            var index = 0
            for byte in digest {
                hex[index] = ActionHash.hexDigit(byte >> 4)
                hex[index + 1] = ActionHash.hexDigit(byte & 0x0F)
                index += 2
            }
            let stored = column(row, 8)
            guard same(stored, hex) else {
                outcome.failure = (seq, "entry \(seq): contents do not match its hash (edited)")
                return outcome
            }
            while checkpointPending, sqlite3_column_int64(checkpoint, 0) <= seq {
                let signed = sqlite3_column_int64(checkpoint, 0)
                guard signed == seq, same(column(checkpoint, 1), stored) else {
                    outcome.failure = (signed, "entry \(signed): differs from its signed checkpoint (rewritten)")
                    return outcome
                }
                outcome.checkpoints += 1
                checkpointPending = try step(checkpoint, db)
            }
            previous.removeAll(keepingCapacity: true)
            previous.append(contentsOf: stored)
            outcome.lastSeq = seq
            outcome.entries += 1
        }
        outcome.lastHash = previous
        if checkpointPending {
            // A checkpoint signed an entry past the end: the tail was cut off.
            let signed = sqlite3_column_int64(checkpoint, 0)
            let first = outcome.lastSeq + 1
            outcome.failure = (first, "entries \(first)…\(signed) are missing: a checkpoint signed entry \(signed) (log truncated)")
        }
        return outcome
    }

    /// Steps `statement`: true on a row, false when done.
    private static func step(_ statement: OpaquePointer, _ db: Database) throws -> Bool {
        let code = sqlite3_step(statement)
        if code == SQLITE_ROW { return true }
        if code == SQLITE_DONE { return false }
        throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
    }

    /// A column's bytes as SQLite holds them for the current row (valid until the next step).
    ///
    /// Read as a blob on purpose: `sqlite3_column_text` must hand back a NUL-terminated
    /// string, so for text that sits in the page it copies every value into a fresh buffer
    /// first; that copy was a fifth of `audit verify`. The database is UTF-8, so the blob
    /// bytes are the text's bytes.
    private static func column(_ row: OpaquePointer, _ index: Int32) -> UnsafeRawBufferPointer {
        guard let bytes = sqlite3_column_blob(row, index) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(row, index)))
    }

    /// Byte-for-byte equality (memcmp: the generic `elementsEqual` walks an iterator).
    private static func same(_ bytes: UnsafeRawBufferPointer, _ other: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count == other.count else { return false }
        guard let left = bytes.baseAddress, let right = other.baseAddress else { return bytes.count == 0 }
        return memcmp(left, right, bytes.count) == 0
    }

    private static func same(_ bytes: UnsafeRawBufferPointer, _ other: [UInt8]) -> Bool {
        other.withUnsafeBytes { same(bytes, $0) }
    }
}

import Crypto
import Foundation
import GRDB
import GRDBSQLite
import HoldpointCore

/// Walks the whole audit chain in place: every entry's link to the one before, its hash,
/// and the checkpoints that name it (a checkpoint must carry its entry's exact hash).
///
/// This is the loop `audit verify` spends its time in, so it reads columns straight from
/// SQLite's row buffer (no `Row`, no `String` per column) and rebuilds each entry's hashed
/// text in one reused buffer. The text is byte for byte the one `AuditEntry.hash` builds for
/// the writer; the audit tests hold the two to that (`entriesWithHostileTextVerifyIntact`,
/// and every tampering test) and `AuditEntry.hash` to RFC 8785
/// (`theHashedTextIsExactlyTheCanonicalJSON`).
struct AuditChainScan {
    /// How far the chain is intact, or the first entry that is not and why.
    struct Outcome {
        var entries: Int
        var checkpoints: Int
        var lastSeq: Int64
        var failure: (seq: Int64, problem: String)?
    }

    static func run(_ db: Database) throws -> Outcome {
        let statement = try db.makeStatement(sql: "SELECT seq, at_ms, event, request_id, actor, via, details, prev_hash, hash FROM audit ORDER BY seq")
        let row = statement.sqliteStatement
        // Checkpoints are read alongside, both in sequence order: a merge, not a lookup per checkpoint.
        let checkpoints = try db.makeStatement(sql: "SELECT seq, hash FROM audit_checkpoints ORDER BY seq")
        let checkpoint = checkpoints.sqliteStatement
        var checkpointPending = try step(checkpoint, db)
        var outcome = Outcome(entries: 0, checkpoints: 0, lastSeq: 0, failure: nil)
        var previous = Array(AuditWriter.genesis.utf8)
        var text: [UInt8] = []
        text.reserveCapacity(8192)
        var hex = [UInt8](repeating: 0, count: 64)
        // Held in locals so the loop neither checks the globals' initialisation nor retains them.
        let (openActor, atMs, details, event, prev) = (Self.openActor, Self.atMs, Self.details, Self.event, Self.prev)
        let (requestID, null, seqKey, via) = (Self.requestID, Self.null, Self.seqKey, Self.via)
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
            // {"actor","at_ms","details","event","prev","request_id","seq","via"}: see AuditEntry.hash.
            text.removeAll(keepingCapacity: true)
            text.append(contentsOf: openActor)
            JSONWriter.appendString(utf8: column(row, 4), to: &text)
            text.append(contentsOf: atMs)
            appendDecimal(sqlite3_column_int64(row, 1), to: &text)
            text.append(contentsOf: details)
            // The details (most of the bytes) go to the hash where SQLite holds them, uncopied.
            var hasher = SHA256()
            text.withUnsafeBytes { hasher.update(bufferPointer: $0) }
            hasher.update(bufferPointer: column(row, 6))
            text.removeAll(keepingCapacity: true)
            text.append(contentsOf: event)
            JSONWriter.appendString(utf8: column(row, 2), to: &text)
            text.append(contentsOf: prev)
            text.append(contentsOf: previous)
            text.append(contentsOf: requestID)
            if sqlite3_column_type(row, 3) == SQLITE_NULL {
                text.append(contentsOf: null)
            } else {
                JSONWriter.appendString(utf8: column(row, 3), to: &text)
            }
            text.append(contentsOf: seqKey)
            appendDecimal(seq, to: &text)
            text.append(contentsOf: via)
            JSONWriter.appendString(utf8: column(row, 5), to: &text)
            text.append(UInt8(ascii: "}"))
            text.withUnsafeBytes { hasher.update(bufferPointer: $0) }
            let digest = hasher.finalize()
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

    /// Appends `value` in decimal, without the `String` that `String(value)` allocates.
    private static func appendDecimal(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 {
            out.append(contentsOf: String(value).utf8)
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { buffer in
            var n = UInt64(value)
            var start = buffer.count
            repeat {
                start -= 1
                buffer[start] = UInt8(ascii: "0") + UInt8(n % 10)
                n /= 10
            } while n > 0
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[start...]))
        }
    }

    // The fixed parts of the hashed text, as bytes once (a string literal's `.utf8` view
    // is appended byte by byte).
    private static let openActor = Array(#"{"actor":"#.utf8)
    private static let atMs = Array(#","at_ms":"#.utf8)
    private static let details = Array(#","details":"#.utf8)
    private static let event = Array(#","event":"#.utf8)
    private static let prev = Array(#","prev":""#.utf8)
    private static let requestID = Array(#"","request_id":"#.utf8)
    private static let null = Array("null".utf8)
    private static let seqKey = Array(#","seq":"#.utf8)
    private static let via = Array(#","via":"#.utf8)

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

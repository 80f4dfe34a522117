import Crypto
import HoldpointCore

/// What an audit entry's hash covers, defined once: the canonical JSON (RFC 8785) of
/// `{"actor","at_ms","details","event","prev","request_id","seq","via"}`, `prev` being the
/// previous entry's hash. The writer (`AuditWriter`, through `AuditEntry.hash`) and the
/// verifier (`AuditChainScan`) both hash an entry with `digest(scratch:)`, so the two cannot
/// drift apart.
///
/// The fields are UTF-8 bytes where they lie (the verifier reads them in SQLite's row buffer
/// without copying); `details` is already canonical JSON, as stored.
struct AuditEntryText {
    var actor: UnsafeRawBufferPointer
    var atMillis: Int64
    var canonicalDetails: UnsafeRawBufferPointer
    var event: UnsafeRawBufferPointer
    var previous: UnsafeRawBufferPointer
    /// Nil: the entry belongs to no request (`null`).
    var requestID: UnsafeRawBufferPointer?
    var seq: Int64
    var via: UnsafeRawBufferPointer

    /// SHA-256 of the entry's text. The fixed parts and short fields are built in `scratch`
    /// (reused between entries); the details, most of the bytes, go to the hash uncopied.
    func digest(scratch text: inout [UInt8]) -> SHA256.Digest {
        var hasher = SHA256()
        text.removeAll(keepingCapacity: true)
        text.append(contentsOf: Self.openActor)
        JSONWriter.appendString(utf8: actor, to: &text)
        text.append(contentsOf: Self.atMs)
        Self.appendDecimal(atMillis, to: &text)
        text.append(contentsOf: Self.details)
        text.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        hasher.update(bufferPointer: canonicalDetails)
        text.removeAll(keepingCapacity: true)
        text.append(contentsOf: Self.event)
        JSONWriter.appendString(utf8: event, to: &text)
        text.append(contentsOf: Self.prev)
        text.append(contentsOf: previous)
        text.append(contentsOf: Self.requestIDKey)
        if let requestID { JSONWriter.appendString(utf8: requestID, to: &text) } else { text.append(contentsOf: Self.null) }
        text.append(contentsOf: Self.seqKey)
        Self.appendDecimal(seq, to: &text)
        text.append(contentsOf: Self.viaKey)
        JSONWriter.appendString(utf8: via, to: &text)
        text.append(UInt8(ascii: "}"))
        text.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return hasher.finalize()
    }

    /// The hash of an entry given as strings (the writer's side), as lowercase hex.
    static func hash(
        seq: Int64, atMillis: Int64, event: String, requestID: String?, actor: String, via: String,
        canonicalDetails: String, previous: String
    ) -> String {
        // The fields side by side in one buffer, so that one pointer serves them all.
        var storage: [UInt8] = []
        var ranges: [Range<Int>] = []
        for field in [actor, canonicalDetails, event, previous, requestID ?? "", via] {
            let start = storage.count
            storage.append(contentsOf: field.utf8)
            ranges.append(start..<storage.count)
        }
        return storage.withUnsafeBytes { all in
            func field(_ index: Int) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: all[ranges[index]]) }
            let text = AuditEntryText(
                actor: field(0), atMillis: atMillis, canonicalDetails: field(1), event: field(2), previous: field(3),
                requestID: requestID == nil ? nil : field(4), seq: seq, via: field(5))
            var scratch: [UInt8] = []
            return ActionHash.hex(Array(text.digest(scratch: &scratch)))
        }
    }

    /// Appends `value` in decimal, without the `String` that `String(value)` allocates.
    static func appendDecimal(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 {
            out.append(contentsOf: String(value).utf8)
            return
        }
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
            ) =
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

    // The fixed parts of the text, as bytes once (a string literal's `.utf8` view is
    // appended byte by byte).
    private static let openActor = Array(#"{"actor":"#.utf8)
    private static let atMs = Array(#","at_ms":"#.utf8)
    private static let details = Array(#","details":"#.utf8)
    private static let event = Array(#","event":"#.utf8)
    private static let prev = Array(#","prev":""#.utf8)
    private static let requestIDKey = Array(#"","request_id":"#.utf8)
    private static let null = Array("null".utf8)
    private static let seqKey = Array(#","seq":"#.utf8)
    private static let viaKey = Array(#","via":"#.utf8)
}

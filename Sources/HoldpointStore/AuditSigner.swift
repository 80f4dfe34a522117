import CFileLock
import Crypto
import Foundation
import HoldpointCore
import Synchronization

/// The private key behind a lock: the CryptoKit key type is not `Sendable`.
final class SigningKey: Sendable {
    let key: Mutex<Curve25519.Signing.PrivateKey>
    init(_ key: sending Curve25519.Signing.PrivateKey) { self.key = Mutex(key) }
}

/// The Ed25519 key that signs audit checkpoints, and the signed head kept outside the database.
///
/// The key is created on first use, readable only by its owner (or, in a shared setgid
/// directory, by its group: file mode trusts whoever can write the queue). The head file
/// records the newest signed (sequence, hash) so that cutting entries off the end of the
/// log — together with their checkpoints — is still detected.
public struct AuditSigner: Sendable {
    public let keyPath: String
    public let headPath: String
    /// The key, built once (rebuilding it from raw bytes derives the public key again, a
    /// scalar multiplication, inside every write transaction).
    private let signingKey: SigningKey
    public let publicKeyHex: String
    /// In a shared directory every writer must be able to advance the head: 0660, not 0640.
    private let headMode: mode_t

    public init(keyPath: String, headPath: String, shared: Bool) throws(StoreError) {
        self.keyPath = keyPath
        self.headPath = headPath
        headMode = shared ? 0o660 : 0o600
        let key: Curve25519.Signing.PrivateKey
        if let existing = try Self.loadKey(keyPath) {
            key = existing
        } else {
            key = try Self.createKey(keyPath, mode: shared ? 0o640 : 0o600)
        }
        publicKeyHex = Self.hex(key.publicKey.rawRepresentation)
        signingKey = SigningKey(key)
    }

    /// The key, or nil when there is no key file yet. Built from the file's bytes once:
    /// building it derives the public key (a scalar multiplication), and every hook and
    /// submit opens the queue.
    private static func loadKey(_ keyPath: String) throws(StoreError) -> Curve25519.Signing.PrivateKey? {
        guard let data = FileManager.default.contents(atPath: keyPath) else { return nil }
        // The hex digits, without the newline the file ends with (or any whitespace an
        // editor added). Trimmed as bytes: Foundation's character-set trimming goes
        // through UTF-16 and costs the runtime type lookups a hook pays for at start-up.
        let bytes = [UInt8](data)
        let start = bytes.firstIndex { !Self.isSpace($0) } ?? bytes.endIndex
        let end = (bytes.lastIndex { !Self.isSpace($0) } ?? start - 1) + 1
        guard start < end, let raw = unhex(String(decoding: bytes[start..<end], as: UTF8.self)),
            let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw)
        else {
            throw StoreError(.unavailable, "the audit signing key \(keyPath) is unreadable or corrupt")
        }
        return key
    }

    /// Creates a key file atomically: the key is written and synced under a temporary name,
    /// then hard-linked into place. `link` fails if the name exists, so when several
    /// processes start at once exactly one key wins, and nobody ever reads a half-written one.
    private static func createKey(_ keyPath: String, mode: mode_t) throws(StoreError) -> Curve25519.Signing.PrivateKey {
        let key = Curve25519.Signing.PrivateKey()
        let temporary = "\(keyPath).\(getpid()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode)
        guard fd >= 0 else {
            throw StoreError(.unavailable, "cannot create the audit signing key \(keyPath): \(String(cString: strerror(errno)))")
        }
        defer { unlink(temporary) }
        let bytes = Array((hex(key.rawRepresentation) + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced else { throw StoreError(.unavailable, "cannot write the audit signing key \(keyPath)") }
        if link(temporary, keyPath) == 0 { return key }
        let reason = errno
        // Another process created it first: use theirs.
        if reason == EEXIST, let existing = try loadKey(keyPath) { return existing }
        throw StoreError(.unavailable, "cannot create the audit signing key \(keyPath): \(String(cString: strerror(reason)))")
    }

    /// The message a checkpoint signs: the sequence number and the entry hash.
    static func checkpointMessage(seq: Int64, hash: String) -> [UInt8] { Array("holdpoint-audit-checkpoint/v1:\(seq):\(hash)".utf8) }

    public func sign(seq: Int64, hash: String) throws -> String {
        let message = Self.checkpointMessage(seq: seq, hash: hash)
        return Self.hex(try signingKey.key.withLock { try $0.signature(for: message) })
    }

    public static func verify(seq: Int64, hash: String, signatureHex: String, publicKeyHex: String) -> Bool {
        guard let signature = unhex(signatureHex), let keyBytes = unhex(publicKeyHex),
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: keyBytes)
        else { return false }
        return key.isValidSignature(signature, for: checkpointMessage(seq: seq, hash: hash))
    }

    /// Moves the signed head forward (never back). The head file is rewritten in place while
    /// holding an exclusive lock on it, so concurrent writers agree and readers see whole lines.
    /// Returns what went wrong, or nil: a head that cannot be advanced is an error, because a
    /// head left behind no longer guards the end of the log.
    func advanceHead(seq: Int64, hash: String, signature: String) -> String? {
        let fd = open(headPath, O_RDWR | O_CREAT | O_CLOEXEC, headMode)
        guard fd >= 0 else { return "cannot open the signed audit head \(headPath) for writing: \(String(cString: strerror(errno)))" }
        defer { close(fd) }
        if headMode & 0o020 != 0 { fchmod(fd, headMode) }  // undo the umask (fails harmlessly if not ours)
        guard hp_lock_exclusive(fd, LockFile.patience) == 0 else { return "the signed audit head \(headPath) stayed locked by another process" }
        defer { hp_unlock(fd) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = pread(fd, &buffer, buffer.count, 0)
        if count > 0, let current = Self.parseHead(String(decoding: buffer[0..<count], as: UTF8.self)), current.seq >= seq { return nil }
        // No fsync: the database commit is already durable (`GroupCommit`), so after a
        // crash the head can only lag behind the log, never run ahead of it.
        let bytes = Array("\(seq) \(hash) \(signature) \(publicKeyHex)\n".utf8)
        let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        guard written == bytes.count else { return "cannot write the signed audit head \(headPath): \(String(cString: strerror(errno)))" }
        ftruncate(fd, off_t(bytes.count))
        return nil
    }

    public struct Head: Sendable, Equatable {
        public var seq: Int64
        public var hash: String
        public var signature: String
        public var publicKey: String
    }

    public static func readHead(_ path: String) -> Head? {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else { return nil }
        return parseHead(text)
    }

    static func parseHead(_ text: String) -> Head? {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        guard parts.count == 4, let seq = Int64(parts[0]) else { return nil }
        return Head(seq: seq, hash: parts[1], signature: parts[2], publicKey: parts[3])
    }

    static func hex<D: DataProtocol>(_ data: D) -> String {
        ActionHash.hex(Array(data))
    }

    static func unhex(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let high = iterator.next() {
            guard let low = iterator.next(), let h = nibble(high), let l = nibble(low) else { return nil }
            bytes.append(h << 4 | l)
        }
        return bytes
    }

    private static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        case 0x41...0x46: return c - 0x41 + 10
        default: return nil
        }
    }
}

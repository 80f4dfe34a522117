import CFileLock
import Foundation
import HoldpointCore

/// Makes the queue's commits durable in groups, across processes.
///
/// SQLite's `synchronous = FULL` flushes the write-ahead log inside every commit, while the
/// committing process holds the write lock, so agents submitting at once each wait for all
/// the others' disk flushes in turn: about 1,050 submits a second on the reference machine
/// however many processes submit. The queue instead commits with `synchronous = NORMAL`
/// (SQLite still flushes around checkpoints) and, before a write is reported to anyone,
/// makes sure the log was flushed *after* that commit: this process flushes it, or finds
/// that another process's flush, started after the commit, has already finished. One flush
/// then covers every commit made while the one before it was in flight.
///
/// The bookkeeping is `queue.sqlite.sync`, six 64-bit numbers in two halves, each written
/// only under its own lock so that no one ever reads a half-written number:
/// - under the queue's write lock (`LockFile`): the boot the commit count belongs to, and the
///   number of the last commit, taken right after each commit;
/// - under a write lock on this file (`CFileLock`), which flushes take in turn: the boot the flush record
///   belongs to, the number of the last commit known to be on disk, the inode of the log file
///   last flushed, and how many flushes there have been (for tests and benchmarks).
///
/// The file itself is never flushed, so after a power cut its numbers mean nothing: numbers
/// from another boot count as zero, and the next writer flushes. A log file new since the
/// last flush also has its directory flushed, so its name is as durable as its contents
/// (SQLite does the same the first time it flushes a new log). The queue keeps its log file
/// between uses (`QueueStore`), so that is its first use, or after someone deleted it.
///
/// When the file cannot be used, every write flushes the log and its directory itself:
/// correct, only slower. A flush that fails is an error, which callers report as an
/// unavailable queue: the agent is denied rather than told an unrecorded request is queued.
final class GroupCommit: Sendable {
    private let descriptor: Int32
    private let logPath: String
    private let directory: String
    private let boot: UInt64
    private let writeLock: LockFile
    /// The flush lock is shared by the process's threads (see `LockFile`); they take turns
    /// here first. Taken before the write lock, never inside it.
    private let flushing = NSLock()

    private static let commitOffset: off_t = 0  // [boot, committed]
    private static let flushOffset: off_t = 16  // [boot, synced, logInode, flushes]

    init(path: String, logPath: String, mode: mode_t, writeLock: LockFile) {
        self.logPath = logPath
        self.writeLock = writeLock
        directory = (logPath as NSString).deletingLastPathComponent
        let boot = Self.currentBoot()
        self.boot = boot
        // Without a boot identity, numbers from before a power cut could not be told apart
        // from this boot's, so the file is not used at all.
        let fd = boot == 0 ? -1 : open(path, O_RDWR | O_CREAT | O_CLOEXEC, mode)
        if fd >= 0 && mode & 0o020 != 0 { fchmod(fd, mode) }  // undo the umask: the group must write (fails harmlessly if not ours)
        descriptor = fd
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Numbers the commit that just happened. Call with the queue's write lock held, right
    /// after the commit. nil when the sync file is unusable: `makeDurable` then flushes.
    func recordCommit() -> UInt64? {
        guard descriptor >= 0, let words = read(2, at: Self.commitOffset) else { return nil }
        let number = (words[0] == boot ? words[1] : 0) + 1
        return write([boot, number], at: Self.commitOffset) ? number : nil
    }

    /// Returns once commit `number` (from `recordCommit`) is on disk.
    func makeDurable(_ number: UInt64?) throws(StoreError) {
        guard let number, descriptor >= 0 else {
            try flush(knownLog: nil)
            return
        }
        flushing.lock()
        defer { flushing.unlock() }
        // Bounded like the write lock: whoever holds this file's lock for long, this writer
        // flushes the log itself (correct, only not shared).
        guard hp_lock_exclusive(descriptor, LockFile.patience) == 0 else {
            try flush(knownLog: nil)
            return
        }
        defer { hp_unlock(descriptor) }
        guard let words = read(4, at: Self.flushOffset) else {
            try flush(knownLog: nil)
            return
        }
        let current = words[0] == boot
        let synced = current ? words[1] : 0
        if synced >= number { return }
        // Every commit numbered up to `covered` was written to the log before this flush starts.
        // (Unknown when the write lock cannot be had in time: then only this commit counts.)
        let covered = writeLock.whileHolding(timedOut: { number }) { () -> UInt64 in
            guard let commits = read(2, at: Self.commitOffset), commits[0] == boot else { return number }
            return commits[1]
        }
        let inode = try flush(knownLog: current ? words[2] : nil)
        _ = write([boot, max(synced, covered, number), inode, (current ? words[3] : 0) + 1], at: Self.flushOffset)
    }

    func counters() -> (committed: UInt64, durable: UInt64, flushes: UInt64)? {
        guard descriptor >= 0, let commits = read(2, at: Self.commitOffset), let flushes = read(4, at: Self.flushOffset) else { return nil }
        return (commits[0] == boot ? commits[1] : 0, flushes[0] == boot ? flushes[1] : 0, flushes[0] == boot ? flushes[3] : 0)
    }

    /// `count` numbers at `offset`; zeros past the end of the file, nil if it cannot be read.
    private func read(_ count: Int, at offset: off_t) -> [UInt64]? {
        var words = [UInt64](repeating: 0, count: count)
        let n = words.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, offset) }
        guard n >= 0 else { return nil }
        return n == count * 8 ? words : [UInt64](repeating: 0, count: count)
    }

    private func write(_ words: [UInt64], at offset: off_t) -> Bool {
        words.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, offset) } == words.count * 8
    }

    /// Flushes the log, and its directory too unless the log is the file (inode) `knownLog`.
    /// Returns the log's inode.
    @discardableResult
    private func flush(knownLog: UInt64?) throws(StoreError) -> UInt64 {
        let fd = open(logPath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Self.failure("cannot open the write-ahead log \(logPath) to flush it") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Self.failure("cannot stat the write-ahead log \(logPath)") }
        while fdatasync(fd) != 0 {
            guard errno == EINTR else { throw Self.failure("cannot flush the write-ahead log \(logPath) to disk") }
        }
        let inode = UInt64(info.st_ino)
        if inode != knownLog {
            let dir = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard dir >= 0 else { throw Self.failure("cannot open \(directory) to flush the log's name") }
            defer { close(dir) }
            while fsync(dir) != 0 {
                guard errno == EINTR else { throw Self.failure("cannot flush the directory \(directory) to disk") }
            }
        }
        return inode
    }

    private static func failure(_ what: String) -> StoreError {
        StoreError(.unavailable, "\(what): \(String(cString: strerror(errno))); the write is not known to be durable")
    }

    /// The kernel's boot id folded to 64 bits (FNV-1a), or 0 when it cannot be read.
    static func currentBoot() -> UInt64 {
        guard let data = FileManager.default.contents(atPath: "/proc/sys/kernel/random/boot_id"), !data.isEmpty else { return 0 }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in data {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash == 0 ? 1 : hash
    }
}

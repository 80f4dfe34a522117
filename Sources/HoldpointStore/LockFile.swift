import CFileLock
import Foundation

/// An exclusive write lock on a file beside the queue, the way processes take turns.
///
/// It serialises a new queue's first use (switching to WAL, migrating, creating the key:
/// each a check-then-act that two processes starting at once would both act on) and every
/// write. SQLite lets a blocked writer only poll, sleeping in steps that grow to 100 ms; with
/// dozens of agents submitting at once its write lock sat free while they slept. Waiting on
/// the lock file, a writer is woken the moment it is free. It is a separate file because
/// closing any descriptor of the database file would drop SQLite's own POSIX locks on it.
///
/// It is a POSIX write lock on a descriptor open for writing (`CFileLock`), not an `flock`:
/// an `flock` can be taken through a read-only descriptor, so anyone who could read the lock
/// file could stall every writer, the kill switch included. A wait is bounded
/// (`patience`): a writer that cannot have the lock in time fails (exit 69, and a hook
/// denies), and `halt` goes ahead on SQLite's own lock instead (`QueueStore.write`).
/// A holder that dies releases it with its descriptor (close-on-exec, so no child keeps it).
/// If the file cannot be opened for writing (a read-only user), work runs unlocked and
/// SQLite's own locking still keeps it correct, only slower.
final class LockFile: Sendable {
    private let descriptor: Int32
    /// A lock belongs to the open file, which every thread of the process shares: one
    /// thread's unlock would release another's hold. Threads take turns here first.
    private let threads = NSLock()
    /// Seconds a writer waits for another process's hold before giving up.
    static let patience: Double = 10

    init(path: String, mode: mode_t) {
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, mode)
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Runs `body` holding the lock, against other processes and other threads. When another
    /// process holds it for longer than `patience` seconds, runs `timedOut` instead. Not
    /// reentrant.
    func whileHolding<T, Failure: Error>(
        patience: Double = LockFile.patience, timedOut: () throws(Failure) -> T,
        _ body: () throws(Failure) -> T
    ) throws(Failure) -> T {
        threads.lock()
        defer { threads.unlock() }
        guard descriptor >= 0 else { return try body() }
        switch hp_lock_exclusive(descriptor, patience) {
        case 0:
            defer { hp_unlock(descriptor) }
            return try body()
        case 1:
            return try timedOut()
        default:
            return try body()  // no lock to be had (an old kernel): SQLite's locking alone
        }
    }
}

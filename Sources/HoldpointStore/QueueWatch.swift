import Foundation
import HoldpointCore

#if canImport(Glibc)
    import Glibc
#endif

/// Wakes a reader when another process commits to the queue file, so that waiting for a
/// decision (`holdpoint wait`, `submit --wait`, a hook's hold) and the console's refresh do
/// not have to poll.
///
/// Every commit writes the queue's write-ahead log (`queue.sqlite-wal`), and a checkpoint
/// writes the queue file itself; the kernel reports both (inotify on the queue's directory,
/// names filtered here). A wake-up means "look again", never "something changed": callers
/// still read the queue to learn what, so a spurious wake-up costs one read and a missed
/// one cannot happen once the watch exists (events queue in the kernel until read). Where
/// inotify is not available the watch cannot be made and callers poll as before.
public final class QueueWatch {
    /// Readable whenever a change may have landed (for `poll`); owned by the watch.
    public let fileDescriptor: Int32
    private let names: Set<String>

    /// Watches the queue at `queuePath`; nil where the platform cannot (callers poll).
    public init?(queuePath: String) {
        #if os(Linux)
            let directory = QueueStore.directory(of: queuePath)
            let base = String(queuePath.split(separator: "/").last ?? "")
            let fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
            guard fd >= 0 else { return nil }
            guard inotify_add_watch(fd, directory, UInt32(IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE)) >= 0 else {
                close(fd)
                return nil
            }
            fileDescriptor = fd
            names = [base, base + "-wal"]
        #else
            return nil
        #endif
    }

    deinit { close(fileDescriptor) }

    /// Blocks until the queue may have changed or `timeout` seconds pass. True on a change.
    public func wait(timeout: Double) -> Bool {
        let giveUpAt = Clock.now() + max(0, min(timeout, 3_600))
        while true {
            var descriptor = pollfd(fd: fileDescriptor, events: Int16(POLLIN), revents: 0)
            let left = giveUpAt - Clock.now()
            guard left > 0, poll(&descriptor, 1, Int32((left * 1000).rounded(.up))) > 0 else { return false }
            if drain() { return true }  // else: another file in the directory; keep waiting
        }
    }

    /// Reads every event queued so far; true when one was about the queue's files.
    @discardableResult
    public func drain() -> Bool {
        #if os(Linux)
            var relevant = false
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(fileDescriptor, $0.baseAddress, $0.count) }
                guard count > 0 else { return relevant }
                var offset = 0
                let header = MemoryLayout<inotify_event>.size
                while offset + header <= count {
                    let nameLength = buffer.withUnsafeBytes { Int($0.load(fromByteOffset: offset + 12, as: UInt32.self)) }
                    let nameStart = offset + header
                    let nameBytes = buffer[nameStart..<min(count, nameStart + nameLength)].prefix { $0 != 0 }
                    if names.contains(String(decoding: nameBytes, as: UTF8.self)) { relevant = true }
                    offset = nameStart + nameLength
                }
            }
        #else
            return false
        #endif
    }
}

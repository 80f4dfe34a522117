import AsyncHTTPClient
import Foundation
import HoldpointCore
import HoldpointStore
import NIOCore
import NIOHTTP1
import Subprocess
import Synchronization
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Delivers the policy's notifications from the audit log: escalates what is due, then for
/// each sink reads the entries after its cursor, sends the events it subscribes to in
/// order, and moves the cursor. A failed delivery is recorded and retried with back-off
/// (1 s doubling to 5 min); nothing after it in the log is sent before it, so a receiver
/// that comes back gets every event in order. Nothing here can change or delay a decision:
/// it only reads the log and writes its own cursors.
///
/// Run by `holdpoint serve` (on every commit and once a second) and, in file mode, by
/// `holdpoint notify run`. The owner calls `close()` when done.
public final class Notifier: Sendable {
    public let store: any QueueBackend
    public let sinks: [NotifySink]
    private let http: HTTPClient
    private let host: String
    /// When escalations were last looked for: at most once a second, however often a pass runs.
    private let lastEscalation = Mutex<Double>(0)

    /// Entries read per sink per pass.
    static let batch = 200

    public init(store: any QueueBackend, sinks: [NotifySink]) {
        self.store = store
        self.sinks = sinks
        var configuration = HTTPClient.Configuration()
        // A webhook that redirects is not followed: the signed body goes where the policy says.
        configuration.redirectConfiguration = .disallow
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        host = HostName.current
    }

    /// Makes every sink's cursor now (a new sink starts at the log's end), so that what is
    /// committed after this returns is delivered, however late the first pass runs.
    public func prepareCursors() throws(StoreError) {
        for sink in sinks { _ = try store.notifyCursor(sink: sink.name) }
    }

    /// How long a claim on a sink lasts (renewed every pass and every batch): another daemon
    /// sharing the queue takes a sink over this long after its deliverer died.
    static let lease: Double = 60

    /// Who this notifier is to the queue's delivery leases: its daemon's signing key.
    private var owner: String { store.publicKeyHex }

    public func close() async {
        for sink in sinks { try? store.releaseDelivery(sink: sink.name, owner: owner) }
        try? await http.shutdown()
    }

    /// One pass: escalations, then every sink that is not waiting out a back-off. Returns
    /// lines for the log (deliveries and failures).
    @discardableResult
    public func runOnce(now: Double = Clock.now()) async -> [String] {
        var log: [String] = []
        let escalationDue = lastEscalation.withLock { last in
            guard now - last >= 1 else { return false }
            last = now
            return true
        }
        if escalationDue {
            do {
                let escalated = try store.escalateDue()
                if escalated > 0 { log.append("escalated \(escalated) request\(escalated == 1 ? "" : "s")") }
            } catch {
                log.append("escalation: \(error)")
            }
        }
        for sink in sinks {
            do {
                log += try await deliver(sink, now: now)
            } catch {
                log.append("\(sink.name): \(error)")
            }
        }
        return log
    }

    private func deliver(_ sink: NotifySink, now: Double) async throws -> [String] {
        var cursor = try store.notifyCursor(sink: sink.name)
        guard cursor.nextAttempt <= now else { return [] }
        var log: [String] = []
        while true {
            // Another daemon on the same queue delivers this sink: leave it to that one.
            guard try store.claimDelivery(sink: sink.name, owner: owner, seconds: Self.lease) else { return log }
            // What it delivered while this one waited is behind the cursor now.
            cursor = try store.notifyCursor(sink: sink.name)
            let entries = try store.auditEntries(afterSeq: cursor.deliveredSeq, requestID: nil, limit: nil, first: Self.batch)
            guard let last = entries.last else { return log }
            var sent = 0
            var through = cursor.deliveredSeq
            for entry in entries {
                let request = try entry.requestID.flatMap { id throws(StoreError) in try store.request(id: id) }
                if let notification = Notification.from(entry, request: request), sink.wants(notification.event) {
                    do {
                        try await send(notification, to: sink)
                        sent += 1
                        log.append("\(sink.name): delivered \(notification.event.rawValue) \(notification.requestID ?? notification.agent ?? "") (entry \(entry.seq))")
                    } catch {
                        // What was sent so far counts; this one is retried first next time.
                        if through > cursor.deliveredSeq { try store.notifyDelivered(sink: sink.name, through: through, events: sent) }
                        let backoff = min(300, pow(2, Double(min(cursor.failures, 9))))
                        try store.notifyFailed(sink: sink.name, error: "\(error)", retryAt: now + backoff)
                        log.append("\(sink.name): \(notification.event.rawValue) \(notification.requestID ?? "") not delivered (\(error)); retry in \(Int(backoff)) s")
                        return log
                    }
                }
                through = entry.seq
            }
            try store.notifyDelivered(sink: sink.name, through: last.seq, events: sent)
            cursor.deliveredSeq = last.seq
            cursor.failures = 0
            if entries.count < Self.batch { return log }
        }
    }

    // MARK: - Sinks

    struct DeliveryError: Error, CustomStringConvertible {
        let description: String
    }

    func send(_ notification: Notification, to sink: NotifySink) async throws {
        switch sink.target {
        case .webhook(let url, let urlFile, let format):
            guard let target = try url ?? urlFile.map(Self.secret) else { throw DeliveryError(description: "no webhook URL") }
            let routingKey = try sink.routingKeyFile.map(Self.secret)
            let message = WebhookFormat.message(notification, sink: sink, format: format, routingKey: routingKey, host: host)
            var request = HTTPClientRequest(url: target)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: message.contentType)
            request.headers.add(name: "User-Agent", value: "holdpoint")
            for (name, value) in message.headers { request.headers.add(name: name, value: value) }
            if let secretFile = sink.secretFile {
                let secret = try Self.secret(secretFile)
                request.headers.add(name: WebhookFormat.signatureHeader, value: WebhookFormat.signature(body: message.body, secret: Array(secret.utf8)))
            }
            request.body = .bytes(ByteBuffer(bytes: message.body))
            let response = try await http.execute(request, timeout: .milliseconds(Int64(sink.timeout * 1000)))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            guard (200..<300).contains(response.status.code) else { throw DeliveryError(description: "HTTP \(response.status.code)") }
        case .command(let argv):
            try await runCommand(argv, input: Array(JSONWriter.compact(notification.genericJSON(sink: sink.name)).utf8), timeout: sink.timeout)
        case .syslog(let socket):
            try Self.syslog(notification, sink: sink, socket: socket, host: host)
        }
    }

    /// A secret file's text, a trailing newline removed.
    static func secret(_ path: String) throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw DeliveryError(description: "cannot read \(path)") }
        var trimmed = Substring(text)
        while trimmed.last == "\n" || trimmed.last == "\r" { trimmed = trimmed.dropLast() }
        return String(trimmed)
    }

    private func runCommand(_ argv: [String], input: [UInt8], timeout: Double) async throws {
        guard let program = argv.first else { throw DeliveryError(description: "no command") }
        var options = PlatformOptions()
        options.teardownSequence = [.gracefulShutDown(allowedDurationToNextStep: .milliseconds(500))]
        let task = Task {
            try await Subprocess.run(
                program.contains("/") ? .path(FilePath(program)) : .name(program), arguments: Arguments(Array(argv.dropFirst())),
                platformOptions: options, input: .array(input), output: .string(limit: 64 * 1024), error: .string(limit: 64 * 1024))
        }
        let timer = Task {
            try await Task.sleep(nanoseconds: UInt64(timeout * 1_000_000_000))
            task.cancel()
        }
        defer { timer.cancel() }
        let result: ExecutionResult<Void, StringOutput<UTF8>, StringOutput<UTF8>>
        do { result = try await task.value } catch { throw DeliveryError(description: task.isCancelled ? "timed out after \(Int(timeout)) s" : "\(error)") }
        guard case .exited(0) = result.terminationStatus else {
            let said = result.standardError.trimmingCharacters(in: .whitespacesAndNewlines)
            throw DeliveryError(description: "\(program) ended with \(result.terminationStatus)\(said.isEmpty ? "" : ": \(SafeText.escape(String(said.prefix(200))))")")
        }
    }

    /// RFC 5424 over a local datagram socket: facility local0, severity by event.
    static func syslog(_ n: Notification, sink: NotifySink, socket path: String, host: String) throws {
        let severity =
            switch n.event {
            case .escalated, .halted: 2  // critical
            case .gated, .expiring: 4  // warning
            case .expired, .blocked, .resumed: 5  // notice
            case .decided: 6  // informational
            }
        let message = JSONWriter.compact(n.genericJSON(sink: sink.name))
        let line = "<\(16 * 8 + severity)>1 \(Clock.iso8601(n.at)) \(host.isEmpty ? "-" : host) holdpoint \(getpid()) \(n.event.rawValue) - \(message)"
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw DeliveryError(description: "socket: \(String(cString: strerror(errno)))") }
        defer { Glibc.close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw DeliveryError(description: "socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let payload = Array(line.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, payload, payload.count, 0, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard sent == payload.count else { throw DeliveryError(description: "syslog \(path): \(String(cString: strerror(errno)))") }
    }
}

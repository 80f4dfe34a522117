import Foundation
import HoldpointCore
import HoldpointGate
import HoldpointStore

/// One blocking connection to `holdpoint serve`: a call writes one frame and reads one
/// answer. Plain POSIX calls rather than an event loop, because agents' hooks are short
/// processes and the connection is their whole job.
///
/// Every failure is a `StoreError`: `.unavailable` when the daemon cannot be reached, stops
/// answering, or hangs up (an agent is then denied), or the kind the daemon sent.
public final class DaemonConnection: @unchecked Sendable {
    // @unchecked: the descriptor and call counter are only touched under `lock`.
    public let socketPath: String
    private let lock = NSLock()
    private var descriptor: Int32 = -1
    private var nextID = 1
    private var buffer: [UInt8] = []
    /// What the client says of where it runs (`ssh 10.0.0.7`, `tty /dev/pts/3`): recorded by
    /// the daemon as claimed, never trusted.
    private let claimedOrigin: String?

    public init(socketPath: String, claimedOrigin: String?) {
        self.socketPath = socketPath
        self.claimedOrigin = claimedOrigin
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Connects a new socket to `path`, or throws `.unavailable` naming why.
    public static func connectSocket(_ path: String) throws(StoreError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { throw StoreError(.unavailable, "the socket path \(path) is longer than \(capacity - 1) bytes") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        #if os(Linux)
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
            let fd = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw StoreError(.unavailable, "cannot create a socket: \(String(cString: strerror(errno)))") }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let reason = errno
            close(fd)
            let hint = reason == ENOENT || reason == ECONNREFUSED ? " (is `holdpoint serve` running?)" : reason == EACCES ? " (this user may not connect: see the socket's group)" : ""
            throw StoreError(.unavailable, "cannot reach the daemon at \(path): \(String(cString: strerror(reason)))\(hint)")
        }
        #if os(macOS)
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
        return fd
    }

    /// Sends `method` with `params` and returns the daemon's `result`. `timeout`: seconds to
    /// wait for the answer (a held hook waits as long as its hold, plus a margin).
    public func call(_ method: Wire.Method, _ params: JSONValue = .object([]), timeout: Double = 60) throws(StoreError) -> JSONValue {
        lock.lock()
        defer { lock.unlock() }
        // A connection the daemon closed while it sat idle reads as end-of-file: start anew
        // rather than send a call into it.
        if descriptor >= 0 && !isOpen() { disconnect() }
        if descriptor < 0 { descriptor = try Self.connectSocket(socketPath) }
        let id = nextID
        nextID += 1
        var envelope: [(key: String, value: JSONValue)] = [("rpc", .string(Wire.version)), ("id", .number(Double(id))), ("method", .string(method.rawValue)), ("params", params)]
        if let claimedOrigin { envelope.append(("claimed_origin", .string(claimedOrigin))) }
        var frame = Array(JSONWriter.compact(.object(envelope)).utf8)
        frame.append(0x0A)
        do throws(StoreError) {
            try writeAll(frame)
            let line = try readLine(deadline: Clock.now() + timeout)
            let answer: JSONValue
            do { answer = try JSONReader.parse(line) } catch {
                throw StoreError(.unavailable, "the daemon sent an unreadable answer: \(error)")
            }
            if let error = answer["error"] { throw Wire.error(from: error) }
            guard answer["id"]?.numberValue == Double(id), let result = answer["result"] else {
                throw StoreError(.unavailable, "the daemon's answer does not match the call (\(method.rawValue))")
            }
            return result
        } catch {
            // After any failure the stream's position is unknown: start over next time.
            if error.kind == .unavailable { disconnect() }
            throw error
        }
    }

    /// Whether the connection is still usable: nothing is waiting to be read on an idle
    /// connection but an end-of-file or the daemon's notice that it closed it.
    private func isOpen() -> Bool {
        var fds = [pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)]
        return poll(&fds, 1, 0) == 0
    }

    private func disconnect() {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
        buffer = []
    }

    private func writeAll(_ bytes: [UInt8]) throws(StoreError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw StoreError(.unavailable, "the daemon at \(socketPath) hung up: \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    private func readLine(deadline: Double) throws(StoreError) -> [UInt8] {
        var scanned = 0
        while true {
            if let newline = buffer[scanned...].firstIndex(of: 0x0A) {
                let line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                return line
            }
            scanned = buffer.count
            guard buffer.count <= Wire.maximumAnswer else { throw StoreError(.unavailable, "the daemon's answer is over \(Wire.maximumAnswer) bytes") }
            let left = deadline - Clock.now()
            guard left > 0 else { throw StoreError(.unavailable, "the daemon at \(socketPath) did not answer in time") }
            var fds = [pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 1, Int32(min(left * 1000, 60_000).rounded(.up)))
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw StoreError(.unavailable, "the daemon at \(socketPath) closed the connection before answering") }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }
}

/// `QueueService` over the daemon's socket. The daemon classifies, stamps every time and
/// decides who the caller is (from the kernel); this side only carries the calls.
public struct DaemonClient: QueueService {
    public let connection: DaemonConnection

    public init(socketPath: String, claimedOrigin: String?) {
        connection = DaemonConnection(socketPath: socketPath, claimedOrigin: claimedOrigin)
    }

    private func bad(_ method: Wire.Method) -> StoreError {
        StoreError(.unavailable, "the daemon's answer to \(method.rawValue) is not in the expected form")
    }

    private func request(_ r: ActionRequest) -> JSONValue { r.document }

    /// A margin over a wait's own length for the answer to arrive.
    private static let margin: Double = 30

    public func whoAmI() throws(StoreError) -> Identity {
        let result = try connection.call(.hello)
        guard let identity = result["identity"].flatMap(Wire.identity(from:)) else { throw bad(.hello) }
        return identity
    }

    /// What the daemon's policy says a console should show: production's environment names
    /// and the fatigue guards (`approvals.min_read_time`, `attention_check_after`,
    /// `attention_check_within`); nil from a daemon that does not say.
    public func consoleSettings() throws(StoreError) -> (productionEnvironments: Set<String>, approvals: ApprovalRules)? {
        let hello = try connection.call(.hello)
        guard let console = hello["console"],
            let names = console["production_environments"]?.arrayValue?.compactMap(\.stringValue),
            let minRead = console["min_read_time"]?.numberValue, let after = console["attention_check_after"]?.numberValue,
            let within = console["attention_check_within"]?.numberValue, after >= 0, after < 1_000_000
        else { return nil }
        var approvals = ApprovalRules()
        approvals.minReadTime = minRead
        approvals.attentionCheckAfter = Int(after)
        approvals.attentionCheckWithin = within
        // Who decides and how (a daemon before this field sent none: the defaults stand).
        if let rules = hello["approvals"] {
            approvals.reviewers = rules["reviewers"]?.arrayValue?.compactMap(\.stringValue) ?? []
            if let required = rules["required"]?.numberValue, required >= 0, required < 1_000 { approvals.required = Int(required) }
            approvals.allowSelfApproval = rules["allow_self_approval"]?.boolValue ?? false
            if let timeout = rules["gated_timeout"]?.numberValue { approvals.timeouts[.gated] = timeout }
            if let validFor = rules["valid_for"]?.numberValue { approvals.validFor = validFor }
            approvals.escalateAfter = rules["escalate_after"]?.numberValue
        }
        return (Set(names), approvals)
    }

    public func classify(_ r: ActionRequest) throws(StoreError) -> (Classification, requiredApprovals: Int) {
        guard let c = Wire.classification(from: try connection.call(.classify, .object([("request", request(r))]))) else { throw bad(.classify) }
        return c
    }

    public func submit(_ r: ActionRequest, timeout: Double?) throws(StoreError) -> StoredRequest {
        let params = JSONValue.object([("request", request(r)), ("timeout", timeout.map(JSONValue.number) ?? .null)])
        guard let stored = StoredRequest(wireJSON: try connection.call(.submit, params)) else { throw bad(.submit) }
        return stored
    }

    public func wait(id: String, timeout: Double?) throws(StoreError) -> StoredRequest? {
        // Without a timeout the daemon answers at the request's deadline at the latest; the
        // call's own timeout only guards against a daemon that stopped answering.
        let result = try connection.call(
            .wait, .object([("id", .string(id)), ("timeout", timeout.map(JSONValue.number) ?? .null)]),
            timeout: (timeout ?? 24 * 3600) + Self.margin)
        if result == .null { return nil }
        guard let stored = StoredRequest(wireJSON: result) else { throw bad(.wait) }
        return stored
    }

    public func admit(_ r: ActionRequest, consumer: String, hold: Double, timeout: Double?) throws(StoreError) -> Gate.Outcome {
        let params = JSONValue.object([
            ("request", request(r)), ("consumer", .string(consumer)),
            ("hold", hold.isFinite ? .number(hold) : .null), ("timeout", timeout.map(JSONValue.number) ?? .null),
        ])
        let wait = hold.isFinite ? hold : (timeout ?? 24 * 3600)
        guard let outcome = Wire.outcome(from: try connection.call(.admit, params, timeout: wait + Self.margin)) else { throw bad(.admit) }
        return outcome
    }

    public func consume(id: String, actionSHA256: String, consumer: String) throws(StoreError) -> ConsumeResult {
        let params = JSONValue.object([("id", .string(id)), ("action_sha256", .string(actionSHA256)), ("consumer", .string(consumer))])
        guard let result = Wire.consumeResult(from: try connection.call(.consume, params)) else { throw bad(.consume) }
        return result
    }

    public func request(id: String) throws(StoreError) -> StoredRequest? {
        let result = try connection.call(.request, .object([("id", .string(id))]))
        if result == .null { return nil }
        guard let stored = StoredRequest(wireJSON: result) else { throw bad(.request) }
        return stored
    }

    public func list(_ filter: RequestFilter) throws(StoreError) -> [StoredRequest] {
        guard let items = try connection.call(.list, Wire.filter(filter), timeout: 600).arrayValue else { throw bad(.list) }
        var out: [StoredRequest] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let stored = StoredRequest(wireJSON: item) else { throw bad(.list) }
            out.append(stored)
        }
        return out
    }

    public func decide(id: String, verdict: Verdict, reason: String) throws(StoreError) -> DecideResult {
        let params = JSONValue.object([("id", .string(id)), ("verdict", .string(verdict.rawValue)), ("reason", .string(reason))])
        guard let result = Wire.decideResult(from: try connection.call(.decide, params)) else { throw bad(.decide) }
        return result
    }

    public func halt(agent: String, reason: String) throws(StoreError) -> Int {
        guard let n = try connection.call(.halt, .object([("agent", .string(agent)), ("reason", .string(reason))])).numberValue else { throw bad(.halt) }
        return Int(n)
    }

    public func resume(agent: String) throws(StoreError) -> Bool {
        guard let done = try connection.call(.resume, .object([("agent", .string(agent))])).boolValue else { throw bad(.resume) }
        return done
    }

    public func halts() throws(StoreError) -> [QueueStore.Halt] {
        guard let items = try connection.call(.halts).arrayValue else { throw bad(.halts) }
        return items.compactMap(Wire.halt(from:))
    }

    public func haltFor(agent: String) throws(StoreError) -> QueueStore.Halt? {
        let result = try connection.call(.haltFor, .object([("agent", .string(agent))]))
        return result == .null ? nil : Wire.halt(from: result)
    }

    public func establishedActions() throws(StoreError) -> Set<String> {
        guard let items = try connection.call(.established).arrayValue else { throw bad(.established) }
        return Set(items.compactMap(\.stringValue))
    }

    public func startRun(id: String, pid: Int32) throws(StoreError) -> StoredRequest? {
        let result = try connection.call(.startRun, .object([("id", .string(id)), ("pid", .number(Double(pid)))]))
        return result == .null ? nil : StoredRequest(wireJSON: result)
    }

    public func finishRun(id: String, exitCode: Int32?, signal: Int32?, note: String?) throws(StoreError) -> StoredRequest? {
        let params = JSONValue.object([
            ("id", .string(id)), ("exit_code", exitCode.map { .number(Double($0)) } ?? .null),
            ("signal", signal.map { .number(Double($0)) } ?? .null), ("note", note.map(JSONValue.string) ?? .null),
        ])
        let result = try connection.call(.finishRun, params)
        return result == .null ? nil : StoredRequest(wireJSON: result)
    }

    public func auditEntries(afterSeq: Int64, requestID: String?, limit: Int?) throws(StoreError) -> [AuditEntry] {
        let params = JSONValue.object([
            ("after_seq", .number(Double(afterSeq))), ("request_id", requestID.map(JSONValue.string) ?? .null),
            ("limit", limit.map { .number(Double($0)) } ?? .null),
        ])
        guard let items = try connection.call(.auditEntries, params, timeout: 600).arrayValue else { throw bad(.auditEntries) }
        var out: [AuditEntry] = []
        for item in items {
            guard let entry = AuditEntry(json: item) else { throw bad(.auditEntries) }
            out.append(entry)
        }
        return out
    }

    public func verifyAudit(publicKeyHex: String?, requireHead: Bool, since: AuditPoint?) throws(StoreError) -> (AuditReport, publicKeyHex: String) {
        let params = JSONValue.object([
            ("public_key", publicKeyHex.map(JSONValue.string) ?? .null), ("require_head", .bool(requireHead)),
            ("since", since.map(Wire.point) ?? .null),
        ])
        let result = try connection.call(.auditVerify, params, timeout: 3600)
        guard let report = Wire.report(from: result) else { throw bad(.auditVerify) }
        return report
    }

    public func notifyState() throws(StoreError) -> NotifyState {
        guard let state = Wire.notifyState(from: try connection.call(.notifyStatus)) else { throw bad(.notifyStatus) }
        return state
    }

    public func changeCounter() throws(StoreError) -> Int64 {
        guard let n = try connection.call(.changeCounter).numberValue else { throw bad(.changeCounter) }
        return Int64(n)
    }

    /// A second connection on which the daemon pushes a line whenever anything is
    /// committed: poll its descriptor, read what is there, refresh. The caller closes it.
    public func openChangeFeed() throws(StoreError) -> Int32 {
        let fd = try DaemonConnection.connectSocket(connection.socketPath)
        var frame = Array(JSONWriter.compact(.object([("rpc", .string(Wire.version)), ("id", .number(1)), ("method", .string(Wire.Method.subscribe.rawValue)), ("params", .object([]))])).utf8)
        frame.append(0x0A)
        let sent = frame.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == frame.count else {
            close(fd)
            throw StoreError(.unavailable, "cannot subscribe to the daemon's changes")
        }
        return fd
    }
}

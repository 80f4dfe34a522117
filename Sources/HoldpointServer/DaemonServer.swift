import Foundation
import HoldpointCore
import HoldpointRPC
import HoldpointStore
import NIOCore
import NIOPosix
import Synchronization

/// `holdpoint serve`'s socket: a Unix-domain stream socket speaking `holdpoint.rpc/v1`
/// (see `Wire`), served with SwiftNIO.
///
/// Hostile clients are expected. A frame over `Wire.maximumFrame`, a frame that is not JSON
/// or not a call, a frame left unfinished for `Wire.frameDeadline` seconds, a connection idle
/// for `idleTimeout`, and connections past `maximumConnections` get an error frame where one
/// can be sent, and are closed; everyone else is served as before.
public final class DaemonServer: Sendable {
    public struct Limits: Sendable {
        public var maximumConnections = 1024
        /// Connections one OS user may hold at once, so that no one user (an agent) can take
        /// every place and lock the reviewers out.
        public var maximumConnectionsPerUser = 128
        /// Seconds a connection with no call under way (and no subscription) stays open.
        public var idleTimeout: Double = 120
        /// Calls a client may queue on one connection before it is cut off.
        public var maximumQueuedCalls = 16
        /// Seconds a client may take to finish a frame it has started.
        public var frameDeadline: Double = Wire.frameDeadline
        public init() {}
    }

    public let daemon: Daemon
    public let socketPath: String
    let limits: Limits
    let connections = Mutex(0)
    let connectionsByUser = Mutex([UInt32: Int]())

    public init(daemon: Daemon, socketPath: String, limits: Limits = Limits()) {
        self.daemon = daemon
        self.socketPath = socketPath
        self.limits = limits
    }

    /// Binds the socket (mode 0660, group `socketGroup` when given: the socket's mode and
    /// group decide who can connect at all), serves until `stop` returns, then stops
    /// accepting, answers waiting clients with "shutting down" (they fail closed), lets calls
    /// under way finish, and returns.
    public func run(socketGroup: gid_t?, ready: @Sendable () -> Void = {}, stop: @escaping @Sendable () async -> Void) async throws(StoreError) {
        try Self.clearStaleSocket(socketPath)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = self
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 512)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(SlowFrameGuard(seconds: server.limits.frameDeadline))
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder(maximum: Wire.maximumFrame)))
                    try channel.pipeline.syncOperations.addHandler(RPCHandler(server: server))
                }
            }
        let channel: Channel
        let oldMask = umask(0o117)  // the socket file is created 0660
        do {
            channel = try await bootstrap.bind(unixDomainSocketPath: socketPath).get()
        } catch {
            umask(oldMask)
            try? await group.shutdownGracefully()
            throw StoreError(.unavailable, "cannot listen on \(socketPath): \(error)")
        }
        umask(oldMask)
        if let socketGroup, chown(socketPath, getuid(), socketGroup) != 0 {
            let reason = String(cString: strerror(errno))
            try? await channel.close()
            try? await group.shutdownGracefully()
            throw StoreError(.unavailable, "cannot give the socket \(socketPath) to group \(socketGroup): \(reason)")
        }
        chmod(socketPath, 0o660)
        ready()
        let daemon = self.daemon
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: 1_000_000_000)
                await daemon.expireDue()
            }
        }
        // Retention runs on its own schedule, first soon after start.
        let retention = daemon.policy.retention.map { rules in
            Task {
                try? await Task.sleep(nanoseconds: 5_000_000_000)
                while !Task.isCancelled {
                    if let line = await daemon.archiveDue() { try? FileHandle.standardError.write(contentsOf: Data((line + "\n").utf8)) }
                    try? await Task.sleep(nanoseconds: UInt64(rules.every * 1_000_000_000))
                }
            }
        }
        await stop()
        ticker.cancel()
        retention?.cancel()
        try? await channel.close()
        unlink(socketPath)
        // Waiting clients are answered "shutting down" (a denial); calls already writing
        // finish on the pool before it stops.
        await daemon.shutDown()
        try? await group.shutdownGracefully()
    }

    /// A socket file left by a daemon that died is removed; one a live daemon answers on is
    /// not (two daemons on one queue would each think they own it).
    static func clearStaleSocket(_ path: String) throws(StoreError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw StoreError(.unavailable, "\(path) exists and is not a socket; refusing to replace it")
        }
        if let fd = try? DaemonConnection.connectSocket(path) {
            close(fd)
            throw StoreError(.unavailable, "another daemon is already serving on \(path)")
        }
        unlink(path)
    }
}

/// The peer's credentials as `SO_PEERCRED` returns them (`struct ucred`, which Swift's
/// Glibc module does not export): pid, uid, gid, in that order.
struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

/// Closes a connection that leaves a frame unfinished for `Wire.frameDeadline` seconds: a
/// frame is unfinished exactly when the bytes so far do not end in a newline.
final class SlowFrameGuard: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private var deadline: Scheduled<Void>?
    private let seconds: Double

    init(seconds: Double) { self.seconds = seconds }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        let complete = bytes.readableBytes > 0 && bytes.getInteger(at: bytes.writerIndex - 1, as: UInt8.self) == 0x0A
        if complete {
            deadline?.cancel()
            deadline = nil
        } else if deadline == nil && bytes.readableBytes > 0 {
            let channel = context.channel
            let seconds = self.seconds
            deadline = context.eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) {
                RPCHandler.sendError(StoreError(.badInput, "frame not finished within \(seconds) s; closing"), id: .null, on: channel, thenClose: true)
            }
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        context.fireChannelInactive()
    }
}

/// Splits the stream into newline-terminated frames of at most `maximum` bytes.
struct LineFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let maximum: Int
    /// Bytes already searched for a newline, so a long frame is scanned once.
    private var scanned = 0

    init(maximum: Int) { self.maximum = maximum }

    struct FrameTooLarge: Error {}

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let start = scanned
        let newline: Int? = buffer.withUnsafeReadableBytes { raw in
            guard raw.count > start else { return nil }
            return raw[start...].firstIndex(of: 0x0A)
        }
        guard let newline else {
            scanned = buffer.readableBytes
            if scanned > maximum { throw FrameTooLarge() }
            return .needMoreData
        }
        scanned = 0
        if newline > maximum { throw FrameTooLarge() }
        guard let frame = buffer.readSlice(length: newline) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 1)
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }
}

/// One connection: who it is (from the kernel), its calls in order, its subscription.
final class RPCHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let server: DaemonServer
    private var peer: Peer?
    private var queued: [ByteBuffer] = []
    private var busy = false
    private var counted = false
    private var countedUser: UInt32?
    private var subscription: UInt64?
    private var idle: Scheduled<Void>?
    /// A subscriber's newest sequence number not yet sent (while a send is scheduled).
    private var unsentSeq: Int64?

    init(server: DaemonServer) { self.server = server }

    func channelActive(context: ChannelHandlerContext) {
        let limit = server.limits.maximumConnections
        let admitted = server.connections.withLock { count -> Bool in
            guard count < limit else { return false }
            count += 1
            return true
        }
        guard admitted else {
            Self.sendError(StoreError(.unavailable, "the daemon is serving \(limit) connections already; try again"), id: .null, on: context.channel, thenClose: true)
            return
        }
        counted = true
        scheduleIdle(context)
        context.fireChannelActive()
        let channel = context.channel
        guard let provider = channel as? SocketOptionProvider else {
            Self.sendError(StoreError(.unavailable, "the daemon cannot tell who is connecting; refused"), id: .null, on: channel, thenClose: true)
            return
        }
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        provider.unsafeGetSocketOption(level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
            .whenComplete { (result: Result<PeerCredentials, Error>) in
                guard case .success(let credentials) = result else {
                    Self.sendError(StoreError(.unavailable, "the daemon cannot tell who is connecting (no peer credentials); refused"), id: .null, on: channel, thenClose: true)
                    return
                }
                let handler = handler.value
                let perUser = handler.server.limits.maximumConnectionsPerUser
                let admitted = handler.server.connectionsByUser.withLock { counts -> Bool in
                    guard counts[credentials.uid, default: 0] < perUser else { return false }
                    counts[credentials.uid, default: 0] += 1
                    return true
                }
                guard admitted else {
                    Self.sendError(StoreError(.unavailable, "uid \(credentials.uid) already holds \(perUser) connections; close some and try again"), id: .null, on: channel, thenClose: true)
                    return
                }
                handler.countedUser = credentials.uid
                handler.peer = Peer.resolve(uid: credentials.uid, gid: credentials.gid, pid: credentials.pid)
                if !handler.busy { handler.startNext(boundContext.value) }
            }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if counted { server.connections.withLock { $0 -= 1 } }
        counted = false
        if let uid = countedUser { server.connectionsByUser.withLock { $0[uid, default: 1] -= 1 } }
        countedUser = nil
        idle?.cancel()
        if let subscription { server.daemon.hub.unsubscribe(subscription) }
        subscription = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard subscription == nil else {
            Self.sendError(StoreError(.usage, "a subscribed connection sends nothing more"), id: .null, on: context.channel, thenClose: true)
            return
        }
        guard queued.count < server.limits.maximumQueuedCalls else {
            Self.sendError(StoreError(.usage, "more than \(server.limits.maximumQueuedCalls) calls queued on one connection"), id: .null, on: context.channel, thenClose: true)
            return
        }
        queued.append(unwrapInboundIn(data))
        idle?.cancel()
        idle = nil
        if !busy && peer != nil { startNext(context) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        let message = error is LineFrameDecoder.FrameTooLarge ? "frame over \(Wire.maximumFrame) bytes; closing" : "connection error: \(error)"
        Self.sendError(StoreError(.badInput, message), id: .null, on: context.channel, thenClose: true)
    }

    private func scheduleIdle(_ context: ChannelHandlerContext) {
        guard subscription == nil else { return }
        idle?.cancel()
        let channel = context.channel
        let seconds = server.limits.idleTimeout
        idle = context.eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) {
            RPCHandler.sendError(StoreError(.unavailable, "idle for \(Int(seconds)) s; closing (reconnect to call again)"), id: .null, on: channel, thenClose: true)
        }
    }

    private func startNext(_ context: ChannelHandlerContext) {
        guard let peer else { return }  // calls wait until the kernel has named the caller
        guard !queued.isEmpty else {
            busy = false
            scheduleIdle(context)
            return
        }
        busy = true
        let frame = queued.removeFirst()
        let channel = context.channel
        let daemon = server.daemon
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        Self.spawn(frame, daemon: daemon, peer: peer) { reply, subscribe in
            Self.write(reply, on: channel)
            channel.eventLoop.execute {
                let handler = handler.value
                if subscribe { handler.subscribe(boundContext.value) }
                handler.startNext(boundContext.value)
            }
        }
    }

    /// Answers `frame` in a task of its own, then calls `done` with the reply.
    private static func spawn(_ frame: ByteBuffer, daemon: Daemon, peer: Peer, done: @escaping @Sendable (JSONValue, Bool) -> Void) {
        Task {
            let answered = await answer(frame, daemon: daemon, peer: peer)
            done(answered.0, answered.subscribe)
        }
    }

    /// The answer to one frame, and whether it subscribed the connection.
    static func answer(_ frame: ByteBuffer, daemon: Daemon, peer: Peer) async -> (JSONValue, subscribe: Bool) {
        switch parse(frame) {
        case .failure(let error, let id):
            return (errorFrame(error, id: id), false)
        case .success(let method, let params, let id, let origin):
            if method == .subscribe {
                return (.object([("id", id), ("result", .object([("subscribed", .bool(true))]))]), true)
            }
            let result: Result<JSONValue, StoreError> = await daemon.result(method, params: params, peer: peer, claimedOrigin: origin)
            switch result {
            case .success(let value): return (.object([("id", id), ("result", value)]), false)
            case .failure(let error): return (errorFrame(error, id: id), false)
            }
        }
    }

    private func subscribe(_ context: ChannelHandlerContext) {
        idle?.cancel()
        idle = nil
        let channel = context.channel
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        subscription = server.daemon.hub.subscribe { seq in
            channel.eventLoop.execute { handler.value.pushChange(seq, on: channel) }
        }
    }

    /// Coalesces a burst of commits into one line every 20 ms at most.
    private func pushChange(_ seq: Int64, on channel: Channel) {
        let scheduled = unsentSeq != nil
        unsentSeq = max(unsentSeq ?? 0, seq)
        guard !scheduled else { return }
        let handler = NIOLoopBound(self, eventLoop: channel.eventLoop)
        channel.eventLoop.scheduleTask(in: .milliseconds(20)) {
            let handler = handler.value
            guard let seq = handler.unsentSeq else { return }
            handler.unsentSeq = nil
            RPCHandler.write(.object([("event", .string("changed")), ("seq", .number(Double(seq)))]), on: channel)
        }
    }

    enum Call {
        case success(Wire.Method, params: JSONValue, id: JSONValue, origin: String?)
        case failure(StoreError, id: JSONValue)
    }

    static func parse(_ frame: ByteBuffer) -> Call {
        let bytes = frame.getBytes(at: frame.readerIndex, length: frame.readableBytes) ?? []
        let value: JSONValue
        do { value = try JSONReader.parse(bytes) } catch {
            return .failure(StoreError(.badInput, "frame is not JSON: \(error)"), id: .null)
        }
        let id = value["id"] ?? .null
        guard value["rpc"]?.stringValue == Wire.version else {
            return .failure(StoreError(.usage, "expected \"rpc\":\"\(Wire.version)\""), id: id)
        }
        guard let name = value["method"]?.stringValue, let method = Wire.Method(rawValue: name) else {
            return .failure(StoreError(.usage, "unknown method \(value["method"]?.shortDescription ?? "(none)")"), id: id)
        }
        return .success(method, params: value["params"] ?? .object([]), id: id, origin: value["claimed_origin"]?.stringValue)
    }

    static func errorFrame(_ error: StoreError, id: JSONValue) -> JSONValue {
        .object([("id", id), ("error", Wire.errorJSON(error))])
    }

    static func write(_ value: JSONValue, on channel: Channel) {
        var text = JSONWriter.compact(value)
        text.append("\n")
        channel.writeAndFlush(ByteBuffer(string: text), promise: nil)
    }

    static func sendError(_ error: StoreError, id: JSONValue, on channel: Channel, thenClose: Bool) {
        var text = JSONWriter.compact(errorFrame(error, id: id))
        text.append("\n")
        let written = channel.writeAndFlush(ByteBuffer(string: text))
        if thenClose { written.whenComplete { _ in channel.close(promise: nil) } }
    }
}

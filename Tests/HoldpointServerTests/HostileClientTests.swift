import Foundation
import HoldpointCore
import HoldpointGate
import HoldpointRPC
import HoldpointServer
import HoldpointStore
import HoldpointTestSupport
import Testing

/// A daemon in this process on a socket in a temporary directory, and raw clients that
/// misbehave against it. After each misbehaviour an ordinary client must still be served.
struct HostileClientTests {
    final class Running: @unchecked Sendable {
        let directory: URL
        let socket: String
        let task: Task<Void, Never>
        let stop: AsyncStream<Void>.Continuation

        init(limits: DaemonServer.Limits) async throws {
            directory = try Scratch.directory("hp-server")
            socket = directory.appendingPathComponent("s.sock").path
            var policy = try PolicyLoader.load(policyFile: nil)
            policy.approvals.reviewers = [Peer.resolve(uid: getuid(), gid: getgid(), pid: 0).user]
            let store = try QueueStore(path: directory.appendingPathComponent("q.sqlite").path)
            let daemon = Daemon(store: store, policy: policy) { _, _ in .none }
            let server = DaemonServer(daemon: daemon, socketPath: socket, limits: limits)
            let (stream, continuation) = AsyncStream<Void>.makeStream()
            stop = continuation
            let (readyStream, ready) = AsyncStream<Void>.makeStream()
            task = Task {
                try? await server.run(
                    socketGroup: nil,
                    ready: {
                        ready.yield()
                        ready.finish()
                    },
                    stop: {
                        for await _ in stream { return }
                    })
            }
            for await _ in readyStream { break }
        }

        func shutDown() async {
            stop.yield()
            stop.finish()
            await task.value
            try? FileManager.default.removeItem(at: directory)
        }

        var client: DaemonClient { DaemonClient(socketPath: socket, claimedOrigin: "test") }
    }

    /// A raw connection: bytes in, lines out.
    final class Raw {
        let fd: Int32
        init(_ path: String) throws { fd = try DaemonConnection.connectSocket(path) }
        deinit { close(fd) }

        func send(_ bytes: [UInt8]) -> Bool {
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, min(65536, $0.count - offset), Int32(MSG_NOSIGNAL)) }
                if n <= 0 { return false }
                offset += n
            }
            return true
        }

        /// The daemon's next line (without waiting for the connection to close).
        func readLine(seconds: Double = 30) -> String { read(seconds: seconds) { $0.contains(0x0A) }.text }

        /// Everything the daemon sends until it closes the connection (or `seconds` pass).
        func readUntilClosed(seconds: Double = 10) -> (text: String, closed: Bool) { read(seconds: seconds) { _ in false } }

        /// Reads until `enough` says so, the daemon closes the connection, or `seconds` pass.
        func read(seconds: Double, until enough: ([UInt8]) -> Bool) -> (text: String, closed: Bool) {
            var out: [UInt8] = []
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline && !enough(out) {
                var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
                guard poll(&fds, 1, 100) > 0 else { continue }
                var chunk = [UInt8](repeating: 0, count: 4096)
                let n = recv(fd, &chunk, chunk.count, 0)
                if n <= 0 { return (String(decoding: out, as: UTF8.self), true) }
                out += chunk[0..<n]
            }
            return (String(decoding: out, as: UTF8.self), false)
        }
    }

    /// Runs blocking client work on a thread of its own: on the two threads of this machine's
    /// cooperative pool it would starve the daemon's own tasks, which share that pool here.
    func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }

    /// An ordinary client is still served: it can classify and submit.
    func stillServes(_ running: Running) throws {
        let request = try ActionRequest.shellCommand("ls -la", environment: "staging", agentID: "after", mode: .autonomous)
        let stored = try running.client.submit(request, timeout: nil)
        #expect(stored.state == .allowed)
    }

    @Test func garbageGetsAnErrorAndTheDaemonKeepsServing() async throws {
        let running = try await Running(limits: .init())
        try await onThread {
            let raw = try Raw(running.socket)
            #expect(raw.send(Array("this is not json\n".utf8)))
            let text = raw.readLine()
            #expect(text.contains("\"kind\":\"bad_input\""))
            #expect(text.contains("not JSON"))
            // One bad frame is answered and the connection goes on.
            #expect(raw.send(Array("{\"rpc\":\"holdpoint.rpc/v1\",\"id\":2,\"method\":\"hello\"}\n".utf8)))
            #expect(raw.readLine().contains("\"id\":2,\"result\""))
            let wrong = try Raw(running.socket)
            #expect(wrong.send(Array("{\"rpc\":\"holdpoint.rpc/v1\",\"id\":7,\"method\":\"format_disk\"}\n".utf8)))
            let answer = wrong.readLine()
            #expect(answer.contains("\"id\":7"))
            #expect(answer.contains("unknown method"))
            try stillServes(running)
        }
        await running.shutDown()
    }

    /// A client sends `bytes` and stops: the daemon tells it `saying` and closes that
    /// connection, and goes on serving everyone else.
    func expectCutOff(limits: DaemonServer.Limits = .init(), sending bytes: [UInt8], saying: String) async throws {
        let running = try await Running(limits: limits)
        try await onThread {
            let raw = try Raw(running.socket)
            _ = raw.send(bytes)
            let (text, closed) = raw.readUntilClosed()
            #expect(closed)
            #expect(text.contains(saying))
            try stillServes(running)
        }
        await running.shutDown()
    }

    @Test func anOversizedFrameClosesOnlyThatConnection() async throws {
        try await expectCutOff(sending: [UInt8](repeating: UInt8(ascii: "a"), count: 10 << 20), saying: "frame over")  // 10 MB, no newline
    }

    @Test func aHalfSentFrameIsCutOffAtItsDeadline() async throws {
        var limits = DaemonServer.Limits()
        limits.frameDeadline = 0.5
        try await expectCutOff(limits: limits, sending: Array("{\"rpc\":\"holdpoint.rpc/v1\",\"id\":1,\"meth".utf8), saying: "not finished within")
    }

    @Test func connectionsPastTheCapAreTurnedAwayAndTheDaemonRecovers() async throws {
        var limits = DaemonServer.Limits()
        limits.maximumConnections = 50
        limits.maximumConnectionsPerUser = 100
        let running = try await Running(limits: limits)
        try await onThread {
            var idle: [Raw] = []
            for _ in 0..<50 { idle.append(try Raw(running.socket)) }
            // Each of the fifty holds its place once the daemon has named its caller. (A long
            // deadline, not a pause: with the whole suite running on two cores, the daemon's
            // tasks share the cooperative pool with every other test's.)
            for raw in idle { #expect(raw.send(Array("{\"rpc\":\"holdpoint.rpc/v1\",\"id\":1,\"method\":\"hello\"}\n".utf8))) }
            for raw in idle {
                var fds = [pollfd(fd: raw.fd, events: Int16(POLLIN), revents: 0)]
                #expect(poll(&fds, 1, 60_000) == 1)
                var chunk = [UInt8](repeating: 0, count: 4096)
                #expect(recv(raw.fd, &chunk, chunk.count, 0) > 0)
            }
            let extra = try Raw(running.socket)
            let (text, closed) = extra.readUntilClosed()
            #expect(closed)
            #expect(text.contains("connections already"))
            idle.removeAll()  // closes them
            // Served again once the others have gone (the daemon sees them close in its own time).
            var served = false
            for _ in 0..<200 where !served {
                served = (try? stillServes(running)) != nil
                if !served { usleep(20_000) }
            }
            #expect(served)
        }
        await running.shutDown()
    }

    @Test func oneUserCannotTakeEveryPlace() async throws {
        var limits = DaemonServer.Limits()
        limits.maximumConnectionsPerUser = 5
        let running = try await Running(limits: limits)
        try await onThread {
            let mine = try (0..<5).map { _ in try Raw(running.socket) }
            for raw in mine { #expect(raw.send(Array("{\"rpc\":\"holdpoint.rpc/v1\",\"id\":1,\"method\":\"hello\"}\n".utf8))) }
            for raw in mine { #expect(raw.readLine().contains("\"result\"")) }
            try withExtendedLifetime(mine) {  // the five stay open while the sixth knocks
                let sixth = try Raw(running.socket)
                let (text, closed) = sixth.readUntilClosed()
                #expect(closed)
                #expect(text.contains("already holds 5 connections"))
            }
        }
        await running.shutDown()
    }

    @Test func aSubscriberIsToldOfEveryCommit() async throws {
        let running = try await Running(limits: .init())
        try await onThread {
            let fd = try running.client.openChangeFeed()
            defer { close(fd) }
            var first = [UInt8](repeating: 0, count: 4096)
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
            #expect(poll(&fds, 1, 30_000) == 1)
            #expect(String(decoding: first[0..<max(0, recv(fd, &first, first.count, 0))], as: UTF8.self).contains("subscribed"))
            try stillServes(running)
            fds[0].revents = 0
            #expect(poll(&fds, 1, 30_000) == 1)
            var pushed = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &pushed, pushed.count, 0)
            #expect(String(decoding: pushed[0..<max(0, n)], as: UTF8.self).contains("\"event\":\"changed\""))
        }
        await running.shutDown()
    }
}

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real HTTP/1.1 receiver on 127.0.0.1 for webhook tests: it records every request and
/// answers 500 to the first `failFirst` (an outage), then 200. One request per connection,
/// each connection on a thread of its own. With `holdFirst`, the answer to the first request
/// waits until `releaseFirst()` (a sender caught in the middle of a delivery).
public final class HTTPReceiver: @unchecked Sendable {
    public struct Received {
        public var path: String
        public var headers: [String: String]  // lowercased names
        public var body: [UInt8]
        public var json: Any? { try? JSONSerialization.jsonObject(with: Data(body)) }
    }

    public let port: UInt16
    private let fd: Int32
    private let lock = NSLock()
    private var received: [Received] = []
    private var failuresLeft: Int
    private var holding: Bool
    private let firstReleased = DispatchSemaphore(value: 0)

    public init(failFirst: Int = 0, holdFirst: Bool = false) throws {
        failuresLeft = failFirst
        holding = holdFirst
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        port = UInt16(bigEndian: address.sin_port)
        self.fd = fd
        let thread = Thread { [self] in self.serve() }
        thread.start()
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    /// Fail the next `n` requests (an outage starting now).
    public func fail(next n: Int) { lock.withLock { failuresLeft = n } }

    /// Answers the held first request.
    public func releaseFirst() { firstReleased.signal() }

    public var requests: [Received] { lock.withLock { received } }

    /// The same, for async tests: suspends between looks instead of blocking a thread of the
    /// shared pool (which the task being waited for may need).
    public func arrived(_ seconds: Double = 20, _ condition: ([Received]) -> Bool) async -> [Received] {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            let now = requests
            if condition(now) { return now }
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
        return requests
    }

    /// Waits (observing, up to `seconds`) until `condition` holds for what arrived.
    public func await(_ seconds: Double = 20, _ condition: ([Received]) -> Bool) -> [Received] {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            let now = requests
            if condition(now) { return now }
            usleep(10_000)
        }
        return requests
    }

    private func serve() {
        while true {
            let client = accept(fd, nil, nil)
            guard client >= 0 else { return }
            Thread { [self] in
                handle(client)
                close(client)
            }.start()
        }
    }

    private func handle(_ client: Int32) {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        var headerEnd: Int?
        var contentLength = 0
        while true {
            let n = read(client, &buffer, buffer.count)
            guard n > 0 else { return }
            data += buffer[0..<n]
            if headerEnd == nil, let range = Data(data).range(of: Data("\r\n\r\n".utf8)) {
                headerEnd = range.upperBound
                let head = String(decoding: data[0..<range.lowerBound], as: UTF8.self)
                for line in head.split(separator: "\r\n").dropFirst() {
                    if let colon = line.firstIndex(of: ":"), line[..<colon].lowercased() == "content-length" {
                        contentLength = Int(line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)) ?? 0
                    }
                }
            }
            if let headerEnd, data.count >= headerEnd + contentLength { break }
        }
        guard let headerEnd else { return }
        let head = String(decoding: data[0..<(headerEnd - 4)], as: UTF8.self)
        let lines = head.split(separator: "\r\n")
        let path = lines.first?.split(separator: " ").dropFirst().first.map(String.init) ?? ""
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            if let colon = line.firstIndex(of: ":") {
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        let body = Array(data[headerEnd..<(headerEnd + contentLength)])
        let (fail, hold): (Bool, Bool) = lock.withLock {
            let hold = holding
            holding = false
            if failuresLeft > 0 {
                failuresLeft -= 1
                return (true, hold)
            }
            received.append(Received(path: path, headers: headers, body: body))
            return (false, hold)
        }
        if hold { firstReleased.wait() }
        let response =
            fail
            ? "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
        _ = response.utf8CString.withUnsafeBufferPointer { write(client, $0.baseAddress, $0.count - 1) }
    }
}

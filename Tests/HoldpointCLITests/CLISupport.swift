import Foundation

/// Runs the real `holdpoint` binary as a child process, as agents and scripts do.
struct CLIResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum CLI {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The binary `swift test` built next to the test bundle.
    static let binary: URL = locate("holdpoint")
    /// Agent and reviewer processes racing on one queue file.
    static let workload: URL = locate("holdpoint-workload")

    static func locate(_ name: String) -> URL {
        var candidates: [URL] = []
        if let executable = Bundle.main.executableURL { candidates.append(executable.deletingLastPathComponent()) }
        candidates.append(Bundle.main.bundleURL)
        candidates.append(packageRoot.appendingPathComponent(".build/debug"))
        for directory in candidates {
            let url = directory.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return packageRoot.appendingPathComponent(".build/debug/\(name)")
    }

    /// Waits (observing /proc, up to 20 s) until `process` sleeps in a wait for the kernel
    /// (poll, ppoll or a timed sleep): a waiter that has read its request and now waits.
    /// True when seen.
    @discardableResult
    static func awaitAsleep(_ process: Process) -> Bool {
        let end = Date().addingTimeInterval(20)
        let path = "/proc/\(process.processIdentifier)/task"
        while Date() < end && process.isRunning {
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            for task in tasks {
                let call = (try? String(contentsOfFile: "\(path)/\(task)/syscall", encoding: .utf8))?.split(separator: " ").first
                #if arch(x86_64)
                    if ["7", "271", "35", "230"].contains(call) { return true }
                #else
                    if ["73", "101", "115"].contains(call) { return true }
                #endif
            }
            usleep(2_000)
        }
        return false
    }

    static func run(_ arguments: [String], stdin: [UInt8]? = nil, environment: [String: String] = [:], executable: URL = binary) throws -> CLIResult {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        for key in ["HOLDPOINT_POLICY", "HOLDPOINT_ENV", "HOLDPOINT_AGENT", "HOLDPOINT_QUEUE", "HOLDPOINT_AUDIT", "HOLDPOINT_SOCKET"] { env[key] = nil }
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        // A child may rightly stop reading early (an oversize request): that must not kill the tests.
        signal(SIGPIPE, SIG_IGN)
        try process.run()
        let writer = input.fileHandleForWriting
        let feed = Thread {
            if let stdin { try? writer.write(contentsOf: Data(stdin)) }
            try? writer.close()
        }
        feed.start()
        // Read both pipes to the end before waiting, so a large output cannot dead-lock.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CLIResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Starts the binary without waiting; stdout and stderr go to files in `directory`.
    static func start(_ arguments: [String], executable: URL = binary, environment: [String: String] = [:], output: URL) throws -> Process {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// The output a started process wrote, once there is some (a few seconds at most).
    static func output(of file: URL) throws -> String {
        for _ in 0..<200 {
            let text = String(decoding: try Data(contentsOf: file), as: UTF8.self)
            if !text.isEmpty { return text }
            usleep(10_000)
        }
        return ""
    }
}

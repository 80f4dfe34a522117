import Foundation

/// A new, empty directory under the system's temporary directory, one per test: tests run
/// in parallel and must not share files by accident.
public enum Scratch {
    public static func directory(_ prefix: String = "holdpoint-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

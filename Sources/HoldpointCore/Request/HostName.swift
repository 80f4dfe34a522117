import Foundation

/// This machine's name, as syslog lines and notifications name their source.
public enum HostName {
    public static var current: String {
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

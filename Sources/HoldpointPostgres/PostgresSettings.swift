import Foundation
import HoldpointCore

/// Where the shared PostgreSQL queue is and how to reach it: a `postgres://` URL (given with
/// `--queue`, or read from a DSN file), the password from the environment or a password
/// file, and TLS.
///
/// A password never comes from the command line or the policy (argv is readable by every
/// user on the machine, and the policy is shared): a URL that carries one is refused. It
/// comes, as libpq's tools take it, from `PGPASSWORD`, from `PGPASSFILE` (default
/// `~/.pgpass`, `host:port:database:user:password` lines), or from the DSN file itself, which
/// only its owner may read.
public struct PostgresSettings: Sendable, Equatable {
    public enum TLSMode: String, Sendable {
        /// No TLS: only for a server on this machine or a private network.
        case disable
        /// TLS, without checking the server's certificate.
        case require
        /// TLS, the certificate checked against `rootCertificate` (or the system's roots)
        /// and the host name: what a fleet across hosts should use.
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var database: String
    public var password: String?
    public var tls: TLSMode
    /// `sslrootcert`: the CA bundle that signed the server's certificate (PEM).
    public var rootCertificate: String?
    /// Where the password came from, for messages (never the password itself).
    public var passwordSource: String?
    /// The schema the queue's tables live in (`?schema=NAME`): several queues can share one
    /// database, one schema each. Default: the user's `search_path` (`public`).
    public var schema: String?

    /// Whether `text` names a PostgreSQL queue rather than a file.
    public static func names(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") || text.hasSuffix(".dsn")
    }

    /// The settings from `--queue`'s value: a URL, or a DSN file (a path ending in `.dsn`
    /// holding the URL, which may carry the password: 0600, and owned by the caller).
    public static func parse(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(StoreError) -> PostgresSettings {
        if text.hasSuffix(".dsn") { return try fromFile(text, environment: environment) }
        var settings = try parseURL(text, allowPassword: false)
        settings.lookUpPassword(environment: environment)
        return settings
    }

    static func fromFile(_ path: String, environment: [String: String]) throws(StoreError) -> PostgresSettings {
        var info = stat()
        guard stat(path, &info) == 0, let data = FileManager.default.contents(atPath: path) else {
            throw StoreError(.unavailable, "cannot read the queue's DSN file \(path)")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw StoreError(.configuration, "the DSN file \(path) may be read by others (mode \(String(info.st_mode & 0o777, radix: 8))): chmod 600 \(path)")
        }
        let line = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.first { !$0.isEmpty && !$0.hasPrefix("#") }
        guard let line else { throw StoreError(.configuration, "the DSN file \(path) holds no postgres:// URL") }
        var settings = try parseURL(line, allowPassword: true)
        if settings.password != nil {
            settings.passwordSource = path
        } else {
            settings.lookUpPassword(environment: environment)
        }
        return settings
    }

    /// `postgres://user[:password]@host[:port]/database[?sslmode=…&sslrootcert=…]`.
    static func parseURL(_ text: String, allowPassword: Bool) throws(StoreError) -> PostgresSettings {
        guard let components = URLComponents(string: text), ["postgres", "postgresql"].contains(components.scheme ?? "") else {
            throw StoreError(.configuration, "not a postgres:// URL: \(Self.redacted(text))")
        }
        if components.password != nil, !allowPassword {
            throw StoreError(
                .configuration,
                "a password does not belong in the queue URL (the command line is readable by every user): use PGPASSFILE, PGPASSWORD or a DSN file (docs/serve.md)")
        }
        guard let host = components.host, !host.isEmpty else { throw StoreError(.configuration, "the queue URL names no host: \(Self.redacted(text))") }
        guard let user = components.user, !user.isEmpty else { throw StoreError(.configuration, "the queue URL names no user: \(Self.redacted(text))") }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty else { throw StoreError(.configuration, "the queue URL names no database: \(Self.redacted(text))") }
        var tls = TLSMode.verifyFull
        var root: String?
        var schema: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                switch item.value ?? "" {
                case "disable": tls = .disable
                case "require": tls = .require
                case "verify-full": tls = .verifyFull
                default:
                    throw StoreError(.configuration, "sslmode=\(item.value ?? ""): expected disable, require or verify-full (verify-ca and prefer are not offered: they fail open)")
                }
            case "sslrootcert": root = item.value
            case "schema": schema = item.value
            default: throw StoreError(.configuration, "unknown queue URL parameter '\(item.name)' (expected sslmode, sslrootcert, schema)")
            }
        }
        // Loopback needs no TLS unless asked for; elsewhere the default is verify-full.
        if !(components.queryItems ?? []).contains(where: { $0.name == "sslmode" }), ["127.0.0.1", "localhost", "::1"].contains(host) { tls = .disable }
        return PostgresSettings(
            host: host, port: components.port ?? 5432, user: user, database: database, password: components.password, tls: tls,
            rootCertificate: root, passwordSource: components.password == nil ? nil : "the DSN", schema: schema)
    }

    /// `PGPASSWORD`, else the first matching line of `PGPASSFILE` (or `~/.pgpass`).
    mutating func lookUpPassword(environment: [String: String]) {
        if let password = environment["PGPASSWORD"], !password.isEmpty {
            self.password = password
            passwordSource = "PGPASSWORD"
            return
        }
        let file = environment["PGPASSFILE"] ?? (environment["HOME"].map { $0 + "/.pgpass" } ?? "")
        guard !file.isEmpty, let text = try? String(contentsOfFile: file, encoding: .utf8) else { return }
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            let fields = Self.passFileFields(String(line))
            guard fields.count == 5 else { continue }
            let wanted = [host, String(port), database, user]
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) {
                password = fields[4]
                passwordSource = file
                return
            }
        }
    }

    /// A `.pgpass` line's fields: `:` separates, `\` escapes.
    static func passFileFields(_ line: String) -> [String] {
        var fields: [String] = []
        var current = ""
        var escaped = false
        for character in line {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == ":" {
                fields.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        fields.append(current)
        return fields
    }

    /// How `--queue`'s value is shown in messages: a URL without its password, or the DSN file's path.
    public static func redactedName(_ text: String) -> String { redacted(text) }

    /// The URL with any password replaced, for messages.
    static func redacted(_ text: String) -> String {
        guard var components = URLComponents(string: text), components.password != nil else { return text }
        components.password = "***"
        return components.string ?? "postgres://…"
    }

    /// How the queue is named in messages and `checklist`: no password.
    public var description: String {
        "postgres://\(user)@\(host):\(port)/\(database) (TLS \(tls.rawValue))"
    }
}

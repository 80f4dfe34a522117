import Foundation
import HoldpointCore
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization

/// A value in or out of a query: what the queue's tables hold.
public enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case boolean(Bool)
}

/// One row of a result, by column position.
public struct SQLRow: Sendable {
    public let values: [SQLValue]

    public subscript(_ index: Int) -> SQLValue { index < values.count ? values[index] : .null }

    public func string(_ index: Int) -> String? {
        if case .text(let text) = self[index] { return text }
        return nil
    }

    public func int64(_ index: Int) -> Int64? {
        switch self[index] {
        case .integer(let value): return value
        case .real(let value): return Int64(exactly: value)
        default: return nil
        }
    }

    public func double(_ index: Int) -> Double? {
        switch self[index] {
        case .real(let value): return value
        case .integer(let value): return Double(value)
        default: return nil
        }
    }
}

/// Why a statement failed, with PostgreSQL's SQLSTATE when the server said: a caller retries
/// a serialization failure (`40001`) or a deadlock (`40P01`); everything else ends in *deny*.
public struct PostgresFailure: Error, Sendable, CustomStringConvertible {
    public let sqlState: String?
    public let message: String
    /// The connection is gone (the server restarted, the network failed): reconnect.
    public let connectionLost: Bool

    public var description: String { sqlState.map { "\(message) (SQLSTATE \($0))" } ?? message }

    public var storeError: StoreError { StoreError(.unavailable, "PostgreSQL: \(description)") }

    init(_ error: any Error) {
        if let error = error as? PostgresFailure {
            self = error
            return
        }
        if let psql = error as? PSQLError {
            sqlState = psql.serverInfo?[.sqlState]
            if let server = psql.serverInfo?[.message] {
                message = server
            } else if let underlying = psql.underlying {
                message = "\(psql.code): \(underlying)"
            } else {
                message = "\(psql.code)"
            }
            connectionLost =
                [.connectionError, .serverClosedConnection, .clientClosedConnection].contains(psql.code)
                || (sqlState?.hasPrefix("08") ?? false) || sqlState == "57P01" || sqlState == "57P02" || sqlState == "57P03"
        } else {
            sqlState = nil
            message = "\(error)"
            connectionLost = error is ChannelError || error is IOError
        }
    }

    init(message: String) {
        sqlState = nil
        self.message = message
        connectionLost = false
    }

    init(lostConnection message: String) {
        sqlState = nil
        self.message = message
        connectionLost = true
    }
}

/// One PostgreSQL connection used synchronously, from threads that are not its event loop's
/// (the daemon's blocking pool, a command's main thread): each call waits for its answer,
/// except `send`, for a write whose answer is only whether it failed.
///
/// The event loop group is the caller's (`PostgresQueue` owns one); the session owns only its
/// connection, and `close()` ends it.
public final class PostgresSession: Sendable {
    let connection: PostgresConnection
    let logger: Logger
    public let settings: PostgresSettings
    /// The first failure of a statement sent without waiting, not yet reported.
    private let unreported = Mutex<PostgresFailure?>(nil)

    init(connection: PostgresConnection, logger: Logger, settings: PostgresSettings) {
        self.connection = connection
        self.logger = logger
        self.settings = settings
    }

    /// Opens a connection, over TLS as `settings.tls` says, and points it at the schema.
    public static func connect(_ settings: PostgresSettings, on group: any EventLoopGroup, schema: String? = nil) throws(StoreError) -> PostgresSession {
        let tls: PostgresConnection.Configuration.TLS
        do {
            switch settings.tls {
            case .disable:
                tls = .disable
            case .require:
                var configuration = TLSConfiguration.makeClientConfiguration()
                configuration.certificateVerification = .none
                tls = .require(try NIOSSLContext(configuration: configuration))
            case .verifyFull:
                var configuration = TLSConfiguration.makeClientConfiguration()
                configuration.certificateVerification = .fullVerification
                if let root = settings.rootCertificate { configuration.trustRoots = .file(root) }
                tls = .require(try NIOSSLContext(configuration: configuration))
            }
        } catch {
            throw StoreError(.configuration, "TLS for \(settings.description): \(error)")
        }
        var configuration = PostgresConnection.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: settings.password, database: settings.database, tls: tls)
        configuration.options.connectTimeout = .seconds(10)
        var logger = Logger(label: "holdpoint.postgres")
        logger.logLevel = .critical
        let connection: PostgresConnection
        do {
            connection = try PostgresConnection.connect(on: group.next(), configuration: configuration, id: 1, logger: logger).wait()
        } catch {
            let failure = PostgresFailure(error)
            let hint = settings.password == nil && failure.sqlState == "28P01" ? " (no password found: PGPASSWORD, PGPASSFILE or ~/.pgpass)" : ""
            throw StoreError(.unavailable, "cannot connect to \(settings.description): \(failure)\(hint)")
        }
        let session = PostgresSession(connection: connection, logger: logger, settings: settings)
        if let schema = schema ?? settings.schema {
            do {
                try session.execute("SET search_path TO \(Self.identifier(schema))")
            } catch {
                session.close()
                throw error.storeError
            }
        }
        return session
    }

    /// `name` quoted as an SQL identifier.
    public static func identifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    func query(_ sql: String, _ arguments: [SQLValue]) throws(PostgresFailure) -> PostgresQueryResult {
        let answer: PostgresQueryResult
        do {
            answer = try bounded(start(sql, arguments))
        } catch {
            try reportSent()
            throw error
        }
        try reportSent()
        return answer
    }

    /// Sends a statement and returns without waiting for its answer; a failure is thrown by
    /// the next statement that waits (`execute`, `rows`, `row`, the transaction's COMMIT).
    ///
    /// The connection runs statements one after another in the order they were sent, so a
    /// later statement's answer comes after every earlier one's: by then each sent statement
    /// has succeeded or its failure is here. Sending saves the caller a wait on each answer
    /// (a wake-up of its thread per statement), which is most of a statement's cost on a
    /// local server; the writes of a transaction go this way and its reads wait.
    public func send(_ sql: String, _ arguments: [SQLValue] = []) throws(PostgresFailure) {
        try start(sql, arguments).whenFailure { [self] error in
            self.unreported.withLock { first in
                if first == nil { first = PostgresFailure(error) }
            }
        }
    }

    /// Throws the first failure of a statement sent before, once.
    private func reportSent() throws(PostgresFailure) {
        if let failure = unreported.withLock({ first -> PostgresFailure? in
            defer { first = nil }
            return first
        }) {
            throw failure
        }
    }

    private func start(_ sql: String, _ arguments: [SQLValue]) throws(PostgresFailure) -> EventLoopFuture<PostgresQueryResult> {
        var binds = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch argument {
            case .null: binds.appendNull()
            case .integer(let value): binds.append(value)
            case .real(let value): binds.append(value)
            case .text(let value): binds.append(value)
            case .boolean(let value): binds.append(value)
            }
        }
        guard !connection.isClosed else { throw PostgresFailure(lostConnection: "the connection to \(settings.description) is closed") }
        return connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
    }

    /// How long a statement may take, lock waits included, before the connection is given up
    /// as lost: an answer that never comes (a server that went away without closing the
    /// connection) must end in an error, and so in *deny*, not in a hang.
    public static let statementPatience: Double = 60

    /// Waits for `future` at most `statementPatience`; past it, closes the connection.
    func bounded<T: Sendable>(_ future: EventLoopFuture<T>) throws(PostgresFailure) -> T {
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<Result<T, any Error>?>(nil)
        future.whenComplete { result in
            outcome.withLock { $0 = result }
            done.signal()
        }
        guard done.wait(timeout: .now() + Self.statementPatience) == .success, let result = outcome.withLock({ $0 }) else {
            connection.close().whenComplete { _ in }
            throw PostgresFailure(lostConnection: "\(settings.description) did not answer within \(Int(Self.statementPatience)) s")
        }
        do {
            return try result.get()
        } catch {
            throw PostgresFailure(error)
        }
    }

    /// Runs a statement (`$1`, `$2`, … for the arguments). Returns the rows it changed.
    @discardableResult
    public func execute(_ sql: String, _ arguments: [SQLValue] = []) throws(PostgresFailure) -> Int {
        try query(sql, arguments).metadata.rows ?? 0
    }

    /// The rows a query returns.
    public func rows(_ sql: String, _ arguments: [SQLValue] = []) throws(PostgresFailure) -> [SQLRow] {
        let result = try query(sql, arguments)
        var out: [SQLRow] = []
        out.reserveCapacity(result.rows.count)
        for row in result.rows {
            var values: [SQLValue] = []
            for cell in row {
                values.append(try Self.value(cell))
            }
            out.append(SQLRow(values: values))
        }
        return out
    }

    /// The first row, if any.
    public func row(_ sql: String, _ arguments: [SQLValue] = []) throws(PostgresFailure) -> SQLRow? {
        try rows(sql, arguments).first
    }

    static func value(_ cell: PostgresCell) throws(PostgresFailure) -> SQLValue {
        guard cell.bytes != nil else { return .null }
        do {
            switch cell.dataType {
            case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
            case .float4, .float8: return .real(try cell.decode(Double.self))
            case .numeric: return .real(Double(try cell.decode(String.self)) ?? .nan)
            case .bool: return .boolean(try cell.decode(Bool.self))
            default: return .text(try cell.decode(String.self))
            }
        } catch {
            throw PostgresFailure(message: "column \(cell.columnName): cannot read a \(cell.dataType) value")
        }
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws
    /// (or when a statement it sent without waiting failed).
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try reportSent()  // nothing of an earlier transaction is carried into this one
        try send("BEGIN")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            _ = try? execute("ROLLBACK")
            _ = try? reportSent()
            throw error
        }
    }

    public func close() {
        _ = try? bounded(connection.close() as EventLoopFuture<Void>)
    }

    /// Calls `handler` with each notification's payload on `channel`, on the connection's
    /// event loop, from now until the connection closes.
    public func listen(_ channel: String, handler: @escaping @Sendable (String) -> Void) throws(PostgresFailure) {
        connection.addListener(channel: channel) { _, notification in handler(notification.payload) }
        try execute("LISTEN \(Self.identifier(channel))")
    }
}

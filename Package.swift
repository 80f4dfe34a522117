// swift-tools-version: 6.0
// Holdpoint: a hold point for AI agents in production.
//
// The module graph points one way (see docs/architecture.md):
//   HoldpointCore  (domain: requests, policy, tiers, shell analysis; no storage, no terminal)
//   HoldpointStore (the SQLite queue and the audit log; knows no terminal)
//   HoldpointConsole (the review console as pure state, update and view into a cell grid;
//                   sees the queue through `ReviewSource`, knows no storage)
//   HoldpointTerminal (the thin ncurses backend: paints the grid, reads keys; CNcurses)
//   HoldpointGate  (the runtime boundary: the gate, the executor, hooks, and `QueueService`,
//                   the one interface every command uses, over the file or the daemon)
//   HoldpointRPC   (holdpoint.rpc/v1: the daemon's wire format and its blocking client)
//   HoldpointServer (`holdpoint serve`: the daemon on a Unix socket, SwiftNIO)
//   HoldpointNotify (paging: webhooks, commands and syslog fed from the audit log, escalation)
//   holdpoint      (the CLI: wires the modules together)
//   holdpoint-bench, holdpoint-workload (speed figures; racing agent and reviewer processes)
//   HoldpointTestSupport (Tests/: what several test targets share)
//
// Linux only: the group commit reads /proc and flushes with fdatasync, waiters sleep on
// inotify, and the daemon learns its callers from SO_PEERCRED. A macOS port would need
// F_FULLFSYNC, kqueue and LOCAL_PEERCRED, and tests to hold it.
import PackageDescription

let package = Package(
    name: "Holdpoint",
    products: [
        .executable(name: "holdpoint", targets: ["holdpoint"]),
        .library(name: "HoldpointCore", targets: ["HoldpointCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.30.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        .target(
            name: "HoldpointCore",
            dependencies: [
                "Yams",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            // The YAML the built-ins are compiled from (CompiledBuiltins.swift); tests read it
            // from here, and HOLDPOINT_DATA_DIR can point at a copy.
            exclude: ["Resources"]
        ),
        .target(
            name: "HoldpointStore",
            dependencies: [
                "HoldpointCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C interface, for the one loop where GRDB's row wrapper costs more
                // than the work (audit verification reads every entry in place).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                "CSQLiteOptions",
                "CFileLock",
            ]
        ),
        // The PostgreSQL queue for fleets: several daemons on several hosts share one database.
        .target(
            name: "HoldpointPostgres",
            dependencies: [
                "HoldpointCore",
                "HoldpointStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                // To read a SQLite queue that `queue copy` moves into PostgreSQL.
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Write locks with a bounded wait (a timer signal interrupts the blocking call).
        .target(name: "CFileLock"),
        // SQLite settings behind variadic C functions, which Swift cannot call.
        .target(name: "CSQLiteOptions", linkerSettings: [.linkedLibrary("sqlite3")]),
        .target(
            name: "HoldpointConsole",
            dependencies: ["HoldpointCore", "Yams"]
        ),
        // The runtime boundary: agent hooks, the gate they share with `exec`, and the executor.
        .target(
            name: "HoldpointGate",
            dependencies: [
                "HoldpointCore",
                "HoldpointStore",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // The daemon's wire format and the blocking client every command uses in socket mode.
        .target(
            name: "HoldpointRPC",
            dependencies: ["HoldpointCore", "HoldpointStore", "HoldpointGate"]
        ),
        // `holdpoint serve`: the daemon that alone owns the queue in socket mode.
        .target(
            name: "HoldpointServer",
            dependencies: [
                "HoldpointCore",
                "HoldpointStore",
                "HoldpointGate",
                "HoldpointRPC",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Paging the on-call reviewer: the audit log is the outbox; each sink keeps a cursor.
        .target(
            name: "HoldpointNotify",
            dependencies: [
                "HoldpointCore",
                "HoldpointStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // Async-signal-safe crash and watchdog handlers: a hook that dies still says "deny".
        .target(name: "CFailClosed"),
        .systemLibrary(
            name: "CNcurses",
            providers: [.apt(["libncurses-dev"])]
        ),
        .target(
            name: "HoldpointTerminal",
            dependencies: ["CNcurses", "HoldpointConsole", "HoldpointCore"]
        ),
        .executableTarget(
            name: "holdpoint",
            dependencies: [
                "HoldpointCore",
                "HoldpointStore",
                "HoldpointConsole",
                "HoldpointTerminal",
                "HoldpointGate",
                "HoldpointRPC",
                "HoldpointServer",
                "HoldpointNotify",
                "HoldpointPostgres",
                "CFailClosed",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "holdpoint-bench",
            dependencies: ["HoldpointCore", "HoldpointStore", "HoldpointConsole", "HoldpointRPC"]
        ),
        // Agent and reviewer processes racing on one queue file: for the crash and concurrency
        // tests and the benchmark. Not installed.
        .executableTarget(
            name: "holdpoint-workload",
            dependencies: ["HoldpointCore", "HoldpointStore"]
        ),
        // What several test targets share: scratch directories, sample values.
        .target(
            name: "HoldpointTestSupport",
            dependencies: ["HoldpointCore"],
            path: "Tests/HoldpointTestSupport"
        ),
        .testTarget(
            name: "HoldpointCoreTests",
            dependencies: ["HoldpointTestSupport", "HoldpointCore"]
        ),
        .testTarget(
            name: "HoldpointStoreTests",
            dependencies: ["HoldpointTestSupport", "HoldpointCore", "HoldpointStore", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(
            name: "HoldpointGateTests",
            dependencies: ["HoldpointTestSupport", "HoldpointCore", "HoldpointStore", "HoldpointGate"]
        ),
        .testTarget(
            name: "HoldpointServerTests",
            dependencies: ["HoldpointTestSupport", "HoldpointCore", "HoldpointStore", "HoldpointGate", "HoldpointRPC", "HoldpointServer"]
        ),
        // Against a real PostgreSQL server: `.ci/postgres start DIR` makes a throwaway one.
        .testTarget(
            name: "HoldpointPostgresTests",
            dependencies: [
                "HoldpointTestSupport", "HoldpointCore", "HoldpointStore", "HoldpointPostgres", "HoldpointServer", "HoldpointNotify", .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "HoldpointConsoleTests",
            dependencies: ["HoldpointTestSupport", "HoldpointCore", "HoldpointStore", "HoldpointConsole"],
            exclude: ["Snapshots"]
        ),
        .testTarget(
            name: "HoldpointCLITests",
            // Depends on the executable so `swift test` always builds the binary it runs.
            dependencies: [
                "HoldpointCore", "HoldpointStore", "HoldpointConsole", "HoldpointTestSupport", "holdpoint", "holdpoint-workload", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

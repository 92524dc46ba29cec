// swift-tools-version:6.0
import Foundation
import PackageDescription

/// CI sets CACHESRVD_WERROR=1: warnings in our own targets are errors (dependencies are not affected).
let warningsAsErrors: [SwiftSetting] =
    ProcessInfo.processInfo.environment["CACHESRVD_WERROR"] == "1" ? [.unsafeFlags(["-warnings-as-errors"])] : []

/// Release builds leave out the run-time checks of exclusive access: every test runs a debug build, which keeps them
/// (they trap on an overlapping access), and so do the fuzzers' release builds (CACHESRVD_FUZZ=1). Under `-P 16` the
/// checks were 3% of the server's samples (`swift_beginAccess` and `AccessSet::insert`), spread over every class
/// property a request touches.
let releaseSettings: [SwiftSetting] =
    ProcessInfo.processInfo.environment["CACHESRVD_FUZZ"] == "1"
    ? [] : [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let swiftSettings: [SwiftSetting] =
    [
        .enableUpcomingFeature("ExistentialAny")
    ] + warningsAsErrors + releaseSettings

let package = Package(
    name: "cachesrvd",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "cachesrvd", targets: ["cachesrvd"]),
        .executable(name: "cachectl", targets: ["cachectl"]),
        .library(name: "CacheProtocol", targets: ["CacheProtocol"]),
        .library(name: "Tiers", targets: ["Tiers"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.25.0"),
    ],
    targets: [
        // System libraries: SQLite's C API and OpenSSL's libcrypto (EVP), from libsqlite3-dev and libssl-dev.
        .systemLibrary(
            name: "CSQLite",
            path: "Sources/CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            path: "Sources/COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // Request parser and reply encoder (and the client-side reply parser): no sockets, no tiers.
        .target(
            name: "CacheProtocol",
            dependencies: ["BinaryText", .product(name: "NIOCore", package: "swift-nio")],
            path: "Sources/Protocol",
            swiftSettings: swiftSettings
        ),
        // Unix-socket rules shared by the server and the client: the default path, private directories, peer
        // credentials. Glibc only.
        .target(
            name: "LocalSocket",
            path: "Sources/LocalSocket",
            swiftSettings: swiftSettings
        ),
        // The lossless mapping between byte strings and Swift Strings that keys, values and fields travel in: shared
        // by the protocol, the tiers and both binaries, no dependencies.
        .target(
            name: "BinaryText",
            path: "Sources/BinaryText",
            swiftSettings: swiftSettings
        ),
        // Masks secrets inside URLs (a userinfo password): shared by the tiers and cachectl, no dependencies.
        .target(
            name: "Redaction",
            path: "Sources/Redaction",
            swiftSettings: swiftSettings
        ),
        // The table of an entry's fields (names, kinds, columns): shared by the tiers and cachectl, no dependencies.
        .target(
            name: "EntrySchema",
            path: "Sources/EntrySchema",
            swiftSettings: swiftSettings
        ),
        // The cache entry, the tiers and the tiered cache: no NIO networking (only its pthread lock).
        .target(
            name: "Tiers",
            dependencies: [
                "BinaryText",
                "EntrySchema",
                "Redaction",
                "CSQLite",
                "COpenSSL",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Tiers",
            swiftSettings: swiftSettings
        ),
        // L3 on PostgreSQL: a blocking `PersistentStore` over postgres-nio on its own event loops. Kept out of `Tiers`,
        // which knows no NIO networking.
        .target(
            name: "PostgresTier",
            dependencies: [
                "BinaryText",
                "Redaction",
                "Tiers",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/PostgresTier",
            swiftSettings: swiftSettings
        ),
        // The server: NIO channel handlers, the command table and the commands.
        .target(
            name: "CacheServer",
            dependencies: [
                "BinaryText",
                "CacheProtocol",
                "Tiers",
                "PostgresTier",
                "LocalSocket",
                "Redaction",
                "COpenSSL",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/CacheServer",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "cachesrvd",
            dependencies: [
                "CacheServer",
                "LocalSocket",
                "Tiers",
                "PostgresTier",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Sources/cachesrvd",
            swiftSettings: swiftSettings
        ),
        // The thin client: links the protocol, never the tiers.
        .executableTarget(
            name: "cachectl",
            dependencies: [
                "BinaryText",
                "EntrySchema",
                "CacheProtocol",
                "LocalSocket",
                "Redaction",
                "COpenSSL",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/cachectl",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "cachesrvd-bench",
            dependencies: ["Tiers"],
            path: "Benchmarks/TierBench",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ProtocolTests",
            dependencies: ["BinaryText", "CacheProtocol", .product(name: "NIOCore", package: "swift-nio")],
            path: "Tests/ProtocolTests",
            swiftSettings: swiftSettings
        ),
        // The entries and cipher the store tests of every backend share.
        .target(
            name: "TierTestSupport",
            dependencies: ["Tiers"],
            path: "Tests/TierTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TiersTests",
            dependencies: ["BinaryText", "EntrySchema", "Tiers", "Redaction", "TierTestSupport"],
            path: "Tests/TiersTests",
            swiftSettings: swiftSettings
        ),
        // Starts a throw-away PostgreSQL cluster for the tests that need one (PostgresTierTests, EndToEndTests).
        .target(
            name: "PostgresTestSupport",
            path: "Tests/PostgresTestSupport",
            swiftSettings: swiftSettings
        ),
        // The PostgreSQL L3 store against a real, throw-away PostgreSQL (skipped when PostgreSQL is not installed).
        .testTarget(
            name: "PostgresTierTests",
            dependencies: [
                "PostgresTier", "Tiers", "BinaryText", "PostgresTestSupport", "TierTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Tests/PostgresTierTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CacheServerTests",
            dependencies: [
                "CacheServer", "CacheProtocol", "Tiers", "LocalSocket",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            path: "Tests/CacheServerTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LocalSocketTests",
            dependencies: ["LocalSocket"],
            path: "Tests/LocalSocketTests",
            swiftSettings: swiftSettings
        ),
        // cachesrvd's own parts: the configuration file and reload bookkeeping.
        .testTarget(
            name: "CacheSrvdTests",
            dependencies: ["cachesrvd"],
            path: "Tests/CacheSrvdTests",
            swiftSettings: swiftSettings
        ),
        // cachectl's pure parts: CSV/JSON parsing, warm rows, reply formatting, key derivation.
        .testTarget(
            name: "CacheCtlTests",
            dependencies: ["cachectl", "CacheProtocol", "LocalSocket"],
            path: "Tests/CacheCtlTests",
            swiftSettings: swiftSettings
        ),
        // Drives the real cachesrvd and cachectl binaries over real Unix sockets.
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "CacheProtocol", "LocalSocket", "PostgresTestSupport", .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tests/EndToEndTests",
            // The parity test's case files, read by path from the sources (RedisParityEndToEndTests).
            exclude: ["Parity"],
            swiftSettings: swiftSettings
        ),
    ]
)

// libFuzzer targets (scripts/fuzz.sh, docs/fuzzing.md): declared only when CACHESRVD_FUZZ=1, so a normal
// `swift build`/`swift test` neither sees nor builds them. They have no `main`: libFuzzer's comes with
// `--sanitize=fuzzer`, and the command target reaches the server's internals with `@testable import`, which needs
// `-enable-testing` (the script passes it) rather than a public fuzzing entry point in CacheServer.
if ProcessInfo.processInfo.environment["CACHESRVD_FUZZ"] == "1" {
    let fuzzerSettings = swiftSettings + [.unsafeFlags(["-parse-as-library"])]
    package.targets += [
        .target(
            name: "FuzzSupport",
            dependencies: ["CacheProtocol"],
            path: "Fuzz/Support",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "fuzz-request-parser",
            dependencies: ["FuzzSupport", "CacheProtocol", .product(name: "NIOCore", package: "swift-nio")],
            path: "Fuzz/RequestParser",
            swiftSettings: fuzzerSettings
        ),
        .executableTarget(
            name: "fuzz-commands",
            dependencies: [
                "FuzzSupport", "CacheServer", "CacheProtocol", "Tiers", "COpenSSL",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Fuzz/Commands",
            swiftSettings: fuzzerSettings
        ),
        .executableTarget(
            name: "fuzz-connection",
            dependencies: [
                "FuzzSupport", "CacheServer", "CacheProtocol", "Tiers", "LocalSocket",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Fuzz/Connection",
            swiftSettings: fuzzerSettings
        ),
    ]
}

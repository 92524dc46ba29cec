import COpenSSL
import Foundation
import Logging
import Tiers

@testable import CacheServer

/// The server the command fuzzer talks to, chosen by `CACHESRVD_FUZZ_TIERS`.
///
/// - `memory` (the default): a fresh memory-only cache per input, on a manual clock, so every input starts from
///   the same state and a crash reproduces exactly.
/// - `sqlite` or `jsonl`: one cache over real L2 (that backend) and L3 SQLite files in a temporary directory
///   (`CACHESRVD_FUZZ_DATA_DIR`, else a new one under `TMPDIR`), flushed before each input; it is shared because
///   opening SQLite per input would be too slow, so a crash may need the inputs before it to reproduce.
enum FuzzServer {
    /// The disk-backed server, when one was asked for (made on first use; globals are initialized once, safely).
    private static let disk: ServerContext? = makeDiskServer()

    /// The server for one input, and the clock to advance between its requests (nil for the disk variants).
    static func forInput() -> (ServerContext, ManualClock?) {
        if let disk { return (disk, nil) }
        let clock = ManualClock()
        let configuration = baseConfiguration(dataDirectory: "/nonexistent", tiers: [.l1])
        let cache = TieredCache(configuration: configuration.cache, clock: clock, logger: quietLogger)
        return (ServerContext(configuration: configuration, cache: cache, processID: 1), clock)
    }

    /// Small bounds so that eviction, demotion and the limits are reached by short inputs.
    private static func baseConfiguration(dataDirectory: String, tiers: Set<TierID>) -> ServerConfiguration {
        var configuration = ServerConfiguration(socketPath: "/nonexistent.sock", dataDirectory: dataDirectory)
        configuration.tiers = tiers
        configuration.maxClients = 4
        configuration.cache.l1MaxEntries = 8
        configuration.cache.l2MaxEntries = 16
        configuration.cache.l3MaxEntries = 32
        configuration.cache.healthHistoryLimit = 4
        configuration.cache.fsync = .no
        return configuration
    }

    private static let quietLogger = Logger(label: "cachesrvd.fuzz") { _ in SwiftLogNoOpLogHandler() }

    private static func makeDiskServer() -> ServerContext? {
        let environment = ProcessInfo.processInfo.environment
        let backend: ServerConfiguration.L2Backend
        switch environment["CACHESRVD_FUZZ_TIERS"] ?? "memory" {
        case "memory": return nil
        case "sqlite": backend = .sqlite
        case "jsonl": backend = .jsonl
        case let other: fatalError("CACHESRVD_FUZZ_TIERS must be memory, sqlite or jsonl, not \(other)")
        }
        let directory = environment["CACHESRVD_FUZZ_DATA_DIR"] ?? makeTemporaryDirectory()
        var configuration = baseConfiguration(dataDirectory: directory, tiers: [.l1, .l2, .l3])
        configuration.l2Backend = backend
        // libFuzzer ends the process with exit() while this shared cache's disk writers still run (cachesrvd
        // stops them before it exits): keep OpenSSL from freeing its locks at exit under a writer that is
        // encrypting a row, which crashed a CI run. Called before anything else initializes OpenSSL.
        _ = OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_ATEXIT), nil)
        do {
            let cache = try TierFactory.makeCache(
                configuration,
                environment: [:],  // the server's default: a key file generated in the data directory
                logger: quietLogger
            )
            return ServerContext(configuration: configuration, cache: cache, processID: 1)
        } catch {
            fatalError("cannot open the disk tiers in \(directory): \(error)")
        }
    }

    private static func makeTemporaryDirectory() -> String {
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        var template = Array("\(base)/cachesrvd-fuzz-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { fatalError("mkdtemp failed in \(base)") }
        return String(cString: made)
    }
}

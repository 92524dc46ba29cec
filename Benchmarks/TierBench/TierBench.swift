import Foundation
import Logging
import Tiers

#if canImport(Glibc)
import Glibc
#endif

/// Disk-tier figures against proxywhirl's own targets: reads and writes of L2 (SQLite and JSONL) and L3 at 10K and
/// 1M entries, and the cost of CLEANUP on 5K expired entries.
///
/// Usage: cachesrvd-bench [--sizes 10000,1000000] [--reads 10000] [--dir /tmp/x]
/// Build it in release mode: `swift run -c release cachesrvd-bench`.
@main
struct TierBench {
    static func main() throws {
        var sizes = [10_000, 1_000_000]
        var reads = 10_000
        var root = NSTemporaryDirectory() + "cachesrvd-bench-\(getpid())"
        var arguments = CommandLine.arguments.dropFirst()
        while let argument = arguments.popFirst() {
            switch argument {
            case "--sizes": sizes = arguments.popFirst()!.split(separator: ",").compactMap { Int($0) }
            case "--reads": reads = Int(arguments.popFirst()!)!
            case "--dir": root = arguments.popFirst()!
            default:
                print("usage: cachesrvd-bench [--sizes 10000,1000000] [--reads N] [--dir DIR]")
                exit(64)
            }
        }
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let cipher = CredentialCipher(current: FernetKey.generate())
        print(
            "| store | entries | write (entries/s, batches of 1000) | read mean | read p99 | cleanup 5K expired | count() |"
        )
        print("|---|---|---|---|---|---|---|")
        for size in sizes {
            let stores: [(String, () throws -> any PersistentStore)] = [
                (
                    "L2 sqlite",
                    {
                        try SQLiteL2Store(
                            directory: root + "/l2-\(size)",
                            cipher: cipher,
                            fsync: .everysec,
                            logger: logger
                        )
                    }
                ),
                (
                    "L3 sqlite",
                    {
                        try SQLiteL3Store(
                            path: root + "/l3-\(size).db",
                            cipher: cipher,
                            fsync: .everysec,
                            logger: logger
                        )
                    }
                ),
                (
                    "L2 jsonl",
                    {
                        try JSONLStore(
                            directory: root + "/jsonl-\(size)",
                            cipher: cipher,
                            fsync: .everysec,
                            logger: logger
                        )
                    }
                ),
            ]
            for (name, open) in stores {
                if name == "L2 jsonl", size > 100_000 { continue }  // JSONL keeps every entry in memory; not for 1M
                let store = try open()
                let row = try measure(store, size: size, reads: reads)
                print("| \(name) | \(size) | \(row) |")
                store.close()
            }
        }
        try? FileManager.default.removeItem(atPath: root)
    }

    static func entry(_ index: Int, now: Double, ttl: Int) -> CacheEntry {
        var entry = CacheEntry(
            key: String(UInt64(index) &* 0x9E37_79B9_7F4A_7C15, radix: 16),
            proxyURL: "http://10.\(index >> 16 & 255).\(index >> 8 & 255).\(index & 255):8080",
            username: index % 4 == 0 ? "user\(index)" : nil,
            password: index % 4 == 0 ? "secret\(index)" : nil,
            source: "bench",
            now: now,
            ttlSeconds: ttl
        )
        entry.healthStatus = .healthy
        return entry
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        var start = timespec()
        var end = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        try body()
        clock_gettime(CLOCK_MONOTONIC, &end)
        return Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
    }

    static func format(_ seconds: Double) -> String {
        seconds < 1e-3 ? String(format: "%.1f µs", seconds * 1e6) : String(format: "%.2f ms", seconds * 1e3)
    }

    static func measure(_ store: any PersistentStore, size: Int, reads: Int) throws -> String {
        let now = Date().timeIntervalSince1970
        let writeTime = try seconds {
            var batch: [StoreWrite] = []
            batch.reserveCapacity(1000)
            for index in 0..<size {
                batch.append(.put(entry(index, now: now, ttl: 3600)))
                if batch.count == 1000 {
                    try store.apply(batch)
                    batch.removeAll(keepingCapacity: true)
                }
            }
            if !batch.isEmpty { try store.apply(batch) }
        }
        var latencies: [Double] = []
        latencies.reserveCapacity(reads)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<reads {
            let index = Int.random(in: 0..<size, using: &generator)
            let key = entry(index, now: now, ttl: 1).key
            latencies.append(try seconds { _ = try store.get(key) })
        }
        latencies.sort()
        let mean = latencies.reduce(0, +) / Double(latencies.count)
        let p99 = latencies[min(latencies.count - 1, latencies.count * 99 / 100)]
        // 5K entries that expired a second ago, among the others.
        try store.apply((0..<5_000).map { .put(entry(size + $0, now: now - 10, ttl: 1)) })
        var removed = 0
        let cleanup = try seconds { removed = try store.removeExpired(now: now).count }
        precondition(removed == 5_000, "cleanup removed \(removed)")
        let count = try seconds { _ = try store.count() }
        return
            "\(Int(Double(size) / writeTime)) | \(format(mean)) | \(format(p99)) | \(format(cleanup)) | \(format(count))"
    }
}

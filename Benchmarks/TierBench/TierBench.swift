import Foundation
import Logging
import Tiers

#if canImport(Glibc)
import Glibc
#endif

/// Disk-tier figures against proxywhirl's own targets: reads and writes of L2 (SQLite and JSONL) and L3 at 10K and
/// 1M entries, the cost of CLEANUP on 5K expired entries, count() and keys(); then the tiered cache as cachesrvd runs
/// it (L1 + SQLite L2 + SQLite L3, default bounds) over each L3: L1 hits, cold gets served by L3, and warming 10K
/// entries until the disk writers have committed them.
///
/// Usage: cachesrvd-bench [--sizes 10000,1000000] [--reads 10000] [--dir /tmp/x]
/// Build it in release mode: `swift run -c release cachesrvd-bench`. Prints two Markdown tables.
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
            "| store | entries | write (entries/s, batches of 1000) | read mean | read p99 | cleanup 5K expired "
                + "| count() | keys() | single put (one per transaction) |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for size in sizes {
            let stores: [(String, () throws -> any PersistentStore)] = [
                (
                    "L2 sqlite",
                    {
                        try SQLiteStore(
                            .l2(directory: root + "/l2-\(size)"),
                            cipher: cipher,
                            fsync: .everysec,
                            logger: logger
                        )
                    }
                ),
                (
                    "L3 sqlite",
                    {
                        try SQLiteStore(
                            .l3(path: root + "/l3-\(size).db"),
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
        print()
        print(
            "| tiered cache over L3 of | L1 get mean | L1 get p99 | cold get (L3) mean | cold get (L3) p99 | warm 10K |"
        )
        print("|---|---|---|---|---|---|")
        for size in sizes {
            let row = try measureTiered(
                l3Path: root + "/l3-\(size).db",
                size: size,
                reads: reads,
                root: root,
                cipher: cipher
            )
            print("| \(size) | \(row) |")
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
        var listed = 0
        let keys = try seconds {
            var cursor: UInt64 = 0
            repeat {
                let page = try store.scanKeys(cursor: cursor, limit: 1000)
                listed += page.keys.count
                cursor = page.next
            } while cursor != 0
        }
        precondition(listed == size, "keys() listed \(listed) of \(size)")
        // 1,000 updates of existing entries, each its own apply (what a rotator reporting one proxy at a time
        // costs; proxywhirl's JSONL tier rewrote the whole shard for each).
        let singlePuts = 1_000
        let single = try seconds {
            for index in 0..<singlePuts {
                var updated = entry(index * 7 % size, now: now, ttl: 3600)
                updated.accessCount = index
                try store.apply([.put(updated)])
            }
        }
        return "\(Int(Double(size) / writeTime)) | \(format(mean)) | \(format(p99)) | \(format(cleanup)) "
            + "| \(format(count)) | \(format(keys)) | \(format(single / Double(singlePuts)))"
    }

    /// Mean and p99 of a sorted list of latencies, formatted as two table cells.
    static func summary(_ latencies: [Double]) -> String {
        let sorted = latencies.sorted()
        let mean = sorted.reduce(0, +) / Double(sorted.count)
        return "\(format(mean)) | \(format(sorted[min(sorted.count - 1, sorted.count * 99 / 100)]))"
    }

    /// The tiered cache with cachesrvd's default bounds (L1 1000, L2 5000) over an existing L3 of `size` entries
    /// and an empty L2: gets of keys resident in L1, gets of distinct keys only L3 holds (each read from L2, then
    /// L3, and promoted, as `GET` does on a miss), and 10K puts until both writers have committed them.
    static func measureTiered(
        l3Path: String,
        size: Int,
        reads: Int,
        root: String,
        cipher: CredentialCipher
    ) throws -> String {
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let l2 = try SQLiteStore(
            .l2(directory: root + "/tiered-l2-\(size)"),
            cipher: cipher,
            fsync: .everysec,
            logger: logger
        )
        let l3 = try SQLiteStore(.l3(path: l3Path), cipher: cipher, fsync: .everysec, logger: logger)
        let cache = TieredCache(configuration: TieredCache.Configuration(), l2: l2, l3: l3, logger: logger)
        defer { cache.shutdown() }
        let now = Date().timeIntervalSince1970
        // Cold: distinct keys, so none was promoted by an earlier read.
        var generator = SystemRandomNumberGenerator()
        var cold: [Double] = []
        for index in (0..<size).shuffled(using: &generator).prefix(reads) {
            let key = entry(index, now: now, ttl: 1).key
            var found: CacheEntry?
            cold.append(try seconds { found = try cache.get(key, mode: .mayBlock) })
            precondition(found != nil, "cold get missed \(key)")
        }
        cache.flushWrites()
        // L1 hits: 500 keys made resident by one read each (L1 holds 1000).
        let resident = (0..<size).suffix(500).map { entry($0, now: now, ttl: 1).key }
        for key in resident { _ = try cache.get(key, mode: .mayBlock) }
        var hits: [Double] = []
        for round in 0..<max(reads, 1000) {
            let key = resident[round % resident.count]
            hits.append(try seconds { _ = try cache.get(key, mode: .memoryOnly) })
        }
        let warm = seconds {
            for index in 0..<10_000 { cache.put(entry(size + 100_000 + index, now: now, ttl: 3600)) }
            cache.flushWrites()
        }
        return "\(summary(hits)) | \(summary(cold)) | \(format(warm))"
    }
}

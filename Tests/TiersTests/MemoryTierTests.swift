import Dispatch
import Foundation
import Tiers
import XCTest

final class MemoryTierTests: XCTestCase {
    private let now = 1_764_000_000.0

    private func entry(_ key: String, accessCount: Int = 0, ttl: Int? = nil) -> CacheEntry {
        var entry = CacheEntry(key: key, proxyURL: "http://\(key):8080", now: now, ttlSeconds: ttl)
        entry.accessCount = accessCount
        return entry
    }

    /// Both with one shard and with many: the policy is global either way.
    private let shardCounts = [1, 16]

    func testLRUEvictsLeastRecentlyUsed() {
        for shards in shardCounts {
            let tier = MemoryTier(maxEntries: 3, policy: .lru, shardCount: shards)
            tier.put(entry("a"))
            tier.put(entry("b"))
            tier.put(entry("c"))
            XCTAssertNotNil(tier.get("a", now: now))
            XCTAssertEqual(tier.put(entry("d")).map(\.key), ["b"], "shards \(shards)")
            tier.put(entry("c"))  // a put is a use too
            XCTAssertEqual(tier.put(entry("e")).map(\.key), ["a"], "shards \(shards)")
            XCTAssertEqual(Set(tier.keys()), ["c", "d", "e"])
            XCTAssertEqual(tier.figures.evictions, 2)
        }
    }

    func testLFUEvictsLeastFrequentlyUsedThenOldest() {
        for shards in shardCounts {
            let tier = MemoryTier(maxEntries: 3, policy: .lfu, shardCount: shards)
            tier.put(entry("a"))
            tier.put(entry("b"))
            tier.put(entry("c"))
            _ = tier.get("a", now: now)
            _ = tier.get("a", now: now)
            _ = tier.get("c", now: now)
            XCTAssertEqual(tier.put(entry("d")).map(\.key), ["b"], "shards \(shards)")
            // d (count 0) was just stored and is spared once; now it is the least used.
            XCTAssertEqual(tier.put(entry("e")).map(\.key), ["d"], "shards \(shards)")
            // a has 2, c and e 1 each after this get: the tie goes to c, used less recently.
            _ = tier.get("e", now: now)
            XCTAssertEqual(tier.put(entry("f")).map(\.key), ["c"], "shards \(shards)")
            XCTAssertEqual(Set(tier.keys()), ["a", "e", "f"])
        }
    }

    func testLFUTiesGoToTheOldest() {
        for shards in shardCounts {
            let tier = MemoryTier(maxEntries: 3, policy: .lfu, shardCount: shards)
            tier.put(entry("a"))
            tier.put(entry("b"))
            tier.put(entry("c"))
            XCTAssertEqual(tier.put(entry("d")).map(\.key), ["a"], "shards \(shards)")
        }
    }

    func testFIFOEvictsInInsertionOrder() {
        for shards in shardCounts {
            let tier = MemoryTier(maxEntries: 3, policy: .fifo, shardCount: shards)
            tier.put(entry("a"))
            tier.put(entry("b"))
            tier.put(entry("c"))
            _ = tier.get("a", now: now)
            tier.put(entry("a", accessCount: 50))  // an update keeps the insertion order
            XCTAssertEqual(tier.put(entry("d")).map(\.key), ["a"], "shards \(shards)")
            XCTAssertEqual(tier.put(entry("e")).map(\.key), ["b"], "shards \(shards)")
        }
    }

    func testBoundHoldsExactlyAcrossShards() {
        for policy in EvictionPolicy.allCases {
            let tier = MemoryTier(maxEntries: 100, policy: policy, shardCount: 16)
            var evicted = 0
            for index in 0..<1000 {
                evicted += tier.put(entry("key-\(index)", accessCount: index % 7)).count
                XCTAssertLessThanOrEqual(tier.count, 100)
            }
            XCTAssertEqual(tier.count, 100)
            XCTAssertEqual(evicted, 900)
            XCTAssertEqual(tier.keys().count, 100)
            XCTAssertEqual(tier.figures.evictions, 900)
        }
        // Storing exactly maxEntries evicts nothing, whatever the hashing.
        let full = MemoryTier(maxEntries: 1000, policy: .lru)
        for index in 0..<1000 { XCTAssertTrue(full.put(entry("p\(index)")).isEmpty) }
        XCTAssertEqual(full.count, 1000)
    }

    /// Sixteen shards compare their candidates (and spare the key just stored in its own shard); one shard has
    /// nothing to compare. Fed the same random puts, gets and removes one after another, both must evict the same
    /// keys in the same order, under every policy.
    func testShardsEvictExactlyAsOneShardDoes() {
        for (index, policy) in EvictionPolicy.allCases.enumerated() {
            var generator = SplitMix64(seed: 0x5EED + UInt64(index))
            let reference = MemoryTier(maxEntries: 40, policy: policy, shardCount: 1)
            let sharded = MemoryTier(maxEntries: 40, policy: policy, shardCount: 16)
            var evictions = 0
            for step in 0..<6000 {
                let key = "k\(generator.next() % 150)"
                switch generator.next() % 10 {
                case 0..<5:
                    let stored = entry(key, accessCount: Int(generator.next() % 4))
                    let expected = reference.put(stored).map(\.key)
                    XCTAssertEqual(sharded.put(stored).map(\.key), expected, "\(policy), step \(step)")
                    evictions += expected.count
                case 5..<9:
                    let expected = reference.get(key, now: now)?.key
                    XCTAssertEqual(sharded.get(key, now: now)?.key, expected, "\(policy), step \(step)")
                default:
                    XCTAssertEqual(sharded.remove(key)?.key, reference.remove(key)?.key, "\(policy), step \(step)")
                }
            }
            XCTAssertGreaterThan(evictions, 1000, "\(policy)")
            XCTAssertEqual(Set(sharded.keys()), Set(reference.keys()), "\(policy)")
        }
    }

    func testLargeLFUEvictsTheLowestCount() {
        let tier = MemoryTier(maxEntries: 500, policy: .lfu, shardCount: 16)
        for index in 0..<500 {
            tier.put(entry("k\(index)", accessCount: (index * 7919) % 97 + 1))
        }
        for round in 0..<200 {
            let evicted = tier.put(entry("new\(round)", accessCount: 1000))
            XCTAssertEqual(evicted.count, 1)
            let minimum = tier.keys().compactMap { tier.peek($0)?.accessCount }.min()!
            XCTAssertLessThanOrEqual(evicted[0].accessCount, minimum)
        }
    }

    func testGetBumpsAccessAndCountsHitsAndMisses() {
        let tier = MemoryTier(maxEntries: 10)
        tier.put(entry("a"))
        let hit = tier.get("a", now: now + 5)
        XCTAssertEqual(hit?.accessCount, 1)
        XCTAssertEqual(hit?.lastAccessed, now + 5)
        XCTAssertNil(tier.get("zz", now: now))
        XCTAssertEqual(tier.peek("a")?.accessCount, 1)
        XCTAssertEqual(tier.figures, MemoryTier.Figures(hits: 1, misses: 1, evictions: 0))
        XCTAssertEqual(tier.remove("a")?.key, "a")
        XCTAssertNil(tier.remove("a"))
        XCTAssertEqual(tier.count, 0)
    }

    func testRemoveExpiredAndRemoveAll() {
        let tier = MemoryTier(maxEntries: 10)
        tier.put(entry("short", ttl: 10))
        tier.put(entry("long", ttl: 1000))
        tier.put(entry("forever"))
        XCTAssertEqual(tier.removeExpired(now: now + 10).map(\.key), ["short"])
        XCTAssertEqual(tier.count, 2)
        XCTAssertEqual(tier.removeAll(), 2)
        XCTAssertEqual(tier.count, 0)
        tier.put(entry("again"))
        XCTAssertEqual(tier.keys(), ["again"])
    }

    func testScanReturnsEveryKeyPresentThroughoutOnce() {
        let tier = MemoryTier(maxEntries: 10_000, shardCount: 8)
        for index in 0..<1000 { tier.put(entry("stay\(index)")) }
        var seen: [String: Int] = [:]
        var cursor: UInt64 = 0
        var step = 0
        repeat {
            let (next, keys) = tier.scan(cursor: cursor, count: 37)
            for key in keys { seen[key, default: 0] += 1 }
            // Churn while scanning: add and remove other keys.
            tier.put(entry("churn\(step)"))
            if step > 2 { tier.remove("churn\(step - 2)") }
            step += 1
            cursor = next
        } while cursor != 0
        for index in 0..<1000 {
            XCTAssertEqual(seen["stay\(index)"], 1, "stay\(index)")
        }
    }

    func testConcurrentUseStaysConsistent() {
        let tier = MemoryTier(maxEntries: 64, policy: .lru, shardCount: 16)
        let threads = 8
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            var random = SystemRandomNumberGenerator()
            for step in 0..<5000 {
                let key = "k\(Int.random(in: 0..<200, using: &random))"
                switch step % 4 {
                case 0, 1:
                    tier.put(CacheEntry(key: key, proxyURL: "http://\(key)", now: 0, ttlSeconds: nil))
                case 2:
                    if let found = tier.get(key, now: 1) { XCTAssertEqual(found.key, key) }
                default:
                    tier.remove(key)
                }
                if step % 500 == 0 { XCTAssertLessThanOrEqual(tier.count, 64 + threads) }
            }
            _ = thread
        }
        let keys = tier.keys()
        XCTAssertLessThanOrEqual(tier.count, 64)
        XCTAssertEqual(keys.count, tier.count)
        XCTAssertEqual(Set(keys).count, keys.count)
        for key in keys {
            XCTAssertEqual(tier.peek(key)?.key, key)
        }
        for policy in [EvictionPolicy.lfu, .fifo] {
            let other = MemoryTier(maxEntries: 32, policy: policy, shardCount: 4)
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                for step in 0..<3000 {
                    let key = "k\((step * 31 + thread * 7) % 150)"
                    if step % 3 == 0 {
                        _ = other.get(key, now: 2)
                    } else {
                        other.put(CacheEntry(key: key, proxyURL: "http://x", now: 0, ttlSeconds: nil))
                    }
                }
            }
            XCTAssertEqual(other.count, 32)
            XCTAssertEqual(other.keys().count, 32)
        }
    }

    /// L1 keeps the key and URL bytes in one block of its own: every field comes back as stored, whatever the
    /// lengths and bytes, and a change of the URL or of any other field replaces what was held.
    func testEntriesComeBackExactlyAsStored() {
        let tier = MemoryTier(maxEntries: 100)
        var full = CacheEntry(
            key: "key:000000000001",
            proxyURL: "http://user:pw@10.0.0.1:3128",
            username: "alice",
            password: "s3cret",
            source: "a-source-name-long-enough-to-be-boxed",
            now: now,
            ttlSeconds: 60
        )
        full.healthStatus = .degraded
        full.failureCount = 3
        full.lastHealthError = "timeout"
        full.evictedFromL1 = true
        full.accessCount = 7
        let values = [
            full,
            CacheEntry(key: "", proxyURL: "", now: now, ttlSeconds: nil),
            CacheEntry(key: "k", proxyURL: String(repeating: "u", count: 70_000), now: now, ttlSeconds: 1),
            CacheEntry(key: "\u{0}\u{7F}bin\u{FFFD}", proxyURL: "\u{1F600} url", now: now, ttlSeconds: nil),
        ]
        for value in values {
            tier.put(value)
            XCTAssertEqual(tier.peek(value.key), value)
        }
        var changed = full
        changed.proxyURL = "http://10.0.0.2:3128"
        changed.ttlSeconds = 5
        tier.put(changed)
        XCTAssertEqual(tier.peek(full.key), changed)
        let hit = tier.get(full.key, now: now + 1)
        XCTAssertEqual(hit?.proxyURL, changed.proxyURL)
        XCTAssertEqual(hit?.accessCount, changed.accessCount + 1)
        XCTAssertEqual(tier.count, values.count)
    }

    /// Keys are compared by their UTF-8 bytes, as they are spread over the shards: two spellings of one text are
    /// two keys, even in one shard (keys from clients are `BinaryText` strings, whose `==` is byte equality).
    func testKeysAreComparedByTheirBytes() {
        let tier = MemoryTier(maxEntries: 10, shardCount: 1)
        tier.put(entry("caf\u{E9}"))
        XCTAssertNil(tier.peek("cafe\u{301}"))
        tier.put(entry("cafe\u{301}"))
        XCTAssertEqual(tier.count, 2)
        XCTAssertEqual(tier.remove("cafe\u{301}")?.key.utf8.count, 6)
        XCTAssertEqual(tier.peek("caf\u{E9}")?.key.utf8.count, 5)
    }
}

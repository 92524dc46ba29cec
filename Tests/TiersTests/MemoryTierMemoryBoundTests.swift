import XCTest

@testable import Tiers

/// L1 bounded by memory (`--l1-max-memory`), its running total, the key index, and the sizes the option takes.
final class MemoryTierMemoryBoundTests: XCTestCase {
    private let now = 1_764_000_000.0

    /// Keys of 16 bytes and values of 40: each entry is estimated at the same size.
    private func entry(_ index: Int, value: String = String(repeating: "v", count: 40)) -> CacheEntry {
        CacheEntry(key: "key:" + String(100_000_000_000 + index), proxyURL: value, now: now, ttlSeconds: nil)
    }

    private var size: Int { entry(0).estimatedBytes }

    func testEvictsWhenOverInTheLRUOrder() {
        for shards in [1, 16] {
            let tier = MemoryTier(maxEntries: nil, maxMemory: 10 * size, policy: .lru, shardCount: shards)
            for index in 0..<10 {
                XCTAssertEqual(tier.put(entry(index)), [])
            }
            XCTAssertEqual(tier.usedBytes, 10 * size)
            XCTAssertNotNil(tier.get(entry(0).key, now: now))  // 0 is now the most recently used
            XCTAssertEqual(tier.put(entry(10)).map(\.key), [entry(1).key], "shards \(shards)")
            XCTAssertEqual(tier.put(entry(11)).map(\.key), [entry(2).key], "shards \(shards)")
            XCTAssertEqual(tier.count, 10)
            XCTAssertEqual(tier.usedBytes, 10 * size)
            XCTAssertEqual(tier.figures.evictions, 2)
        }
    }

    func testAGrowingEntryEvictsOthersAndIsSpared() {
        let tier = MemoryTier(maxEntries: nil, maxMemory: 10 * size, policy: .lru, shardCount: 16)
        for index in 0..<10 {
            tier.put(entry(index))
        }
        // Entry 9 grows by about three entries' worth: the three least recently used go, 9 stays.
        let grown = entry(9, value: String(repeating: "w", count: 3 * size))
        let evicted = tier.put(grown)
        XCTAssertEqual(evicted.map(\.key), (0..<evicted.count).map { entry($0).key })
        XCTAssertGreaterThanOrEqual(evicted.count, 3)
        XCTAssertLessThanOrEqual(tier.usedBytes, 10 * size)
        XCTAssertEqual(tier.peek(grown.key)?.proxyURL, grown.proxyURL)
    }

    func testLFUOrderUnderTheMemoryBound() {
        let tier = MemoryTier(maxEntries: nil, maxMemory: 3 * size, policy: .lfu, shardCount: 16)
        tier.put(entry(0))
        tier.put(entry(1))
        tier.put(entry(2))
        _ = tier.get(entry(0).key, now: now)
        _ = tier.get(entry(2).key, now: now)
        XCTAssertEqual(tier.put(entry(3)).map(\.key), [entry(1).key])
    }

    func testAnEntryLargerThanTheBoundIsKeptAlone() {
        let tier = MemoryTier(maxEntries: nil, maxMemory: 2 * size, policy: .lru, shardCount: 4)
        tier.put(entry(0))
        let huge = entry(1, value: String(repeating: "h", count: 10 * size))
        XCTAssertEqual(tier.put(huge).map(\.key), [entry(0).key])
        XCTAssertEqual(tier.keys(), [huge.key])
        XCTAssertEqual(tier.usedBytes, huge.estimatedBytes)
    }

    func testTheTotalFollowsRemovalsAndClearing() {
        let tier = MemoryTier(maxEntries: nil, maxMemory: nil, shardCount: 16)
        for index in 0..<100 {
            tier.put(CacheEntry(key: entry(index).key, proxyURL: "x", now: now, ttlSeconds: index < 50 ? 10 : nil))
        }
        let full = tier.usedBytes
        XCTAssertEqual(full, (0..<100).reduce(0) { $0 + (tier.peek(entry($1).key)?.estimatedBytes ?? 0) })
        XCTAssertNotNil(tier.remove(entry(99).key))
        XCTAssertEqual(tier.usedBytes, full - full / 100)
        XCTAssertEqual(tier.removeExpired(now: now + 10).count, 50)
        XCTAssertEqual(tier.usedBytes, 49 * (full / 100))
        XCTAssertEqual(tier.removeAll(), 49)
        XCTAssertEqual(tier.usedBytes, 0)
        XCTAssertEqual(tier.count, 0)
    }

    func testLoweringTheBoundEvictsAtOnce() {
        let tier = MemoryTier(maxEntries: nil, maxMemory: nil, policy: .fifo, shardCount: 16)
        for index in 0..<20 {
            tier.put(entry(index))
        }
        var evicted: [String] = []
        tier.changeMaxMemory(to: 5 * size) { evicted.append($0.key) }
        XCTAssertEqual(evicted, (0..<15).map { entry($0).key })
        XCTAssertEqual(tier.count, 5)
        XCTAssertEqual(tier.maxMemory, 5 * size)
        tier.changeMaxMemory(to: nil) { _ in XCTFail("no bound evicts nothing") }
        XCTAssertNil(tier.maxMemory)
    }

    func testBothBoundsApply() {
        let tier = MemoryTier(maxEntries: 5, maxMemory: 10 * size, policy: .lru, shardCount: 16)
        for index in 0..<8 {
            tier.put(entry(index))
        }
        XCTAssertEqual(tier.count, 5, "the count bound is the tighter one")
        XCTAssertEqual(tier.usedBytes, 5 * size)
    }

    /// The open-addressing index against a dictionary, through inserts and removals that shift buckets back.
    func testTheIndexAgreesWithADictionary() {
        let tier = MemoryTier(maxEntries: nil, maxMemory: nil, shardCount: 1)
        var reference: [String: String] = [:]
        var generator = SplitMix64(seed: 8)
        for step in 0..<20_000 {
            let key = "k\(generator.next() % 2_000)"
            if generator.next() % 3 == 0 {
                XCTAssertEqual(tier.remove(key)?.proxyURL, reference.removeValue(forKey: key), "step \(step)")
            } else {
                let value = "v\(step)"
                tier.put(CacheEntry(key: key, proxyURL: value, now: now, ttlSeconds: nil))
                reference[key] = value
            }
        }
        XCTAssertEqual(tier.count, reference.count)
        XCTAssertEqual(Set(tier.keys()), Set(reference.keys))
        for (key, value) in reference {
            XCTAssertEqual(tier.peek(key)?.proxyURL, value)
        }
        for index in 0..<2_000 where reference["k\(index)"] == nil {
            XCTAssertNil(tier.peek("k\(index)"))
        }
    }

    func testMemorySizesReadAsRedisReadsThem() {
        XCTAssertEqual(MemoryTier.parseMemorySize("0"), 0)
        XCTAssertEqual(MemoryTier.parseMemorySize("1048576"), 1_048_576)
        XCTAssertEqual(MemoryTier.parseMemorySize("100b"), 100)
        XCTAssertEqual(MemoryTier.parseMemorySize("1k"), 1000)
        XCTAssertEqual(MemoryTier.parseMemorySize("1kb"), 1024)
        XCTAssertEqual(MemoryTier.parseMemorySize("512mb"), 536_870_912)
        XCTAssertEqual(MemoryTier.parseMemorySize("512MB"), 536_870_912)
        XCTAssertEqual(MemoryTier.parseMemorySize("2m"), 2_000_000)
        XCTAssertEqual(MemoryTier.parseMemorySize("1gb"), 1_073_741_824)
        XCTAssertEqual(MemoryTier.parseMemorySize("1G"), 1_000_000_000)
        for bad in ["", "mb", "-1", "1.5gb", "1tb", "1 gb", "12x", "99999999999999999999", "9999999999999gb"] {
            XCTAssertNil(MemoryTier.parseMemorySize(bad), bad)
        }
    }

    func testTheDefaultIsAQuarterOfTheLowerLimit() {
        let gib = 1 << 30
        XCTAssertEqual(MemoryTier.defaultMaxMemory(physical: 16 * gib, limit: nil), 4 * gib)
        XCTAssertEqual(MemoryTier.defaultMaxMemory(physical: 16 * gib, limit: 2 * gib), gib / 2)
        XCTAssertEqual(MemoryTier.defaultMaxMemory(physical: 16 * gib, limit: 64 * gib), 4 * gib)
        XCTAssertEqual(MemoryTier.defaultMaxMemory(physical: 16 * gib, limit: 1), MemoryTier.smallestDefaultMaxMemory)
        XCTAssertEqual(MemoryTier.parseLimit("max\n"), nil)
        XCTAssertEqual(MemoryTier.parseLimit("536870912\n"), 536_870_912)
        XCTAssertGreaterThanOrEqual(MemoryTier.defaultMaxMemory, MemoryTier.smallestDefaultMaxMemory)
        XCTAssertLessThanOrEqual(MemoryTier.defaultMaxMemory, max(MemoryTier.physicalMemoryBytes() / 4, 64 << 20))
    }
}

/// A small deterministic generator, so a failing sequence can be replayed.
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}

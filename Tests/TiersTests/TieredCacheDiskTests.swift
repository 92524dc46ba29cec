import Foundation
import Tiers
import XCTest

/// The tiered cache over disk tiers (the fault-injecting `TieredCacheTestStore`): promotion, demotion,
/// read-your-writes, `wouldBlock`, writer batching, eviction and health history.
final class TieredCacheDiskTests: TieredCacheTestCase {
    override class var clockStart: Double { 2_000_000 }

    private static func entry(_ key: String, ttl: Int? = 600, clock: ManualClock) -> CacheEntry {
        CacheEntry(key: key, proxyURL: "http://\(key):8080", now: clock.now(), ttlSeconds: ttl)
    }

    func testWritesReachEveryDiskTier() throws {
        let (l2, l3) = (TieredCacheTestStore(.l2), TieredCacheTestStore(.l3))
        let (cache, clock) = makeCache(l2: l2, l3: l3)
        XCTAssertTrue(cache.hasDiskTiers)
        cache.put(entry("a", clock: clock))
        cache.put(entry("b", clock: clock))
        XCTAssertTrue(try cache.delete("b", mode: .memoryOnly))
        cache.flushWrites()
        XCTAssertEqual(l2.stored("a"), entry("a", clock: clock))
        XCTAssertEqual(l3.stored("a"), entry("a", clock: clock))
        XCTAssertEqual(l2.keys, ["a"])
        XCTAssertEqual(l3.keys, ["a"])
        let statistics = cache.statistics()
        XCTAssertEqual(statistics.tiers.map(\.configured), [true, true, true])
        XCTAssertEqual(statistics.tiers[1].backend, "test-store l2")
        XCTAssertGreaterThanOrEqual(statistics.tiers[2].commits, 1)
        XCTAssertEqual(statistics.tiers[2].pendingWrites, 0)
    }

    func testL1EvictionDemotesAndAReadPromotesBack() throws {
        let (l2, l3) = (TieredCacheTestStore(.l2), TieredCacheTestStore(.l3))
        let (cache, clock) = makeCache(l2: l2, l3: l3) { $0.l1MaxEntries = 2 }
        cache.put(entry("a", clock: clock))
        cache.put(entry("b", clock: clock))
        cache.put(entry("c", clock: clock))
        cache.flushWrites()
        XCTAssertEqual(l2.stored("a")?.evictedFromL1, true)
        XCTAssertEqual(l3.stored("a")?.evictedFromL1, false, "a demotion goes to L2 alone: L3 holds the entry already")
        XCTAssertEqual(cache.statistics().demotions, 1)

        XCTAssertThrowsError(try cache.get("a", mode: .memoryOnly)) { error in
            XCTAssertEqual(error as? TieredCacheError, .wouldBlock)
        }
        XCTAssertEqual(cache.statistics().tiers[0].misses, 0, "a wouldBlock attempt counts nothing")
        let promoted = try XCTUnwrap(cache.get("a", mode: .mayBlock))
        XCTAssertFalse(promoted.evictedFromL1)
        XCTAssertEqual(promoted.accessCount, 1)
        XCTAssertEqual(try cache.get("a", mode: .memoryOnly)?.accessCount, 2, "resident again")

        let statistics = cache.statistics()
        XCTAssertEqual(statistics.promotions, 1)
        XCTAssertEqual(statistics.demotions, 2, "promoting a evicted b")
        XCTAssertEqual(statistics.tiers[0].hits, 1)
        XCTAssertEqual(statistics.tiers[0].misses, 1)
        XCTAssertEqual(statistics.tiers[1].hits, 1)
        cache.flushWrites()
        XCTAssertEqual(l2.stored("a")?.accessCount, 0, "hits stay in L1 until the entry is written again")
        XCTAssertEqual(l2.stored("b")?.evictedFromL1, true)
        cache.shutdown()
        XCTAssertEqual(l2.stored("a")?.evictedFromL1, false, "the shutdown writes L1's entries through")
        XCTAssertEqual(l3.stored("a")?.accessCount, 2, "with their access figures")
    }

    func testL3HitFillsL1AndL2() throws {
        let (l2, l3) = (TieredCacheTestStore(.l2), TieredCacheTestStore(.l3))
        let (cache, clock) = makeCache(l2: l2, l3: l3)
        var old = entry("x", clock: clock)
        old.evictedFromL1 = true
        l3.seed(old)
        let found = try XCTUnwrap(cache.get("x", mode: .mayBlock))
        XCTAssertEqual(found.proxyURL, "http://x:8080")
        let statistics = cache.statistics()
        XCTAssertEqual(statistics.promotions, 2)
        XCTAssertEqual(statistics.tiers[1].misses, 1)
        XCTAssertEqual(statistics.tiers[2].hits, 1)
        XCTAssertNil(try cache.get("nothing", mode: .mayBlock))
        XCTAssertEqual(cache.statistics().tiers.map(\.misses), [2, 2, 1])
        cache.flushWrites()
        XCTAssertEqual(l2.stored("x")?.accessCount, 1)
        XCTAssertEqual(l2.stored("x")?.evictedFromL1, false)
    }

    func testReadsSeeQueuedWritesBeforeTheyAreCommitted() throws {
        let l2 = TieredCacheTestStore(.l2)
        let (cache, clock) = makeCache(l2: l2) { $0.l1MaxEntries = 1 }
        l2.block()
        cache.put(entry("a", clock: clock))
        l2.waitUntilApplyIsBlocked()
        cache.put(entry("b", clock: clock))  // evicts a: its demotion waits in the queue
        // A queued write is in memory: the read needs no blocking thread (an event loop may make it).
        XCTAssertEqual(try cache.get("a", mode: .memoryOnly)?.proxyURL, "http://a:8080")  // evicts b
        XCTAssertEqual(cache.statistics().tiers[1].hits, 1)
        XCTAssertTrue(try cache.delete("b", mode: .mayBlock))
        XCTAssertThrowsError(try cache.get("b", mode: .memoryOnly), "a queued delete: the disks must be asked") {
            XCTAssertEqual($0 as? TieredCacheError, .wouldBlock)
        }
        XCTAssertNil(try cache.get("b", mode: .mayBlock))
        XCTAssertNil(try cache.peek("b", mode: .mayBlock))
        XCTAssertEqual(l2.calls("get"), 0, "answered from the overlay")
        XCTAssertTrue(l2.keys.isEmpty)
        XCTAssertGreaterThan(cache.statistics().tiers[1].pendingWrites, 0)

        l2.unblock()
        cache.flushWrites()
        XCTAssertEqual(l2.keys, ["a"])
        XCTAssertEqual(cache.statistics().tiers[1].pendingWrites, 0)
        XCTAssertNil(try cache.get("b", mode: .mayBlock))
        XCTAssertEqual(l2.calls("get"), 1, "committed: now the store answers")
    }

    func testQueuedWritesAreGroupCommitted() throws {
        let l2 = TieredCacheTestStore(.l2)
        let (cache, clock) = makeCache(l2: l2)
        l2.block()
        cache.put(entry("first", clock: clock))
        l2.waitUntilApplyIsBlocked()
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            for index in 0..<25 {
                cache.put(Self.entry("t\(thread)-\(index % 5)", clock: clock))
            }
        }
        l2.unblock()
        cache.flushWrites()
        let batches = l2.appliedBatches
        XCTAssertEqual(batches.count, 2, "everything queued meanwhile went into one transaction")
        XCTAssertEqual(batches[1].count, 20, "repeated writes of a key were coalesced")
        XCTAssertEqual(l2.keys.count, 21)
    }

    func testMemoryOnlyCallsThrowWouldBlockBeforeChangingAnything() throws {
        let l2 = TieredCacheTestStore(.l2)
        let (cache, clock) = makeCache(l2: l2)
        l2.seed(entry("k", clock: clock))
        var bodyRan = false
        XCTAssertThrowsError(try cache.update("k", mode: .memoryOnly) { _ in bodyRan = true })
        XCTAssertFalse(bodyRan)
        XCTAssertThrowsError(try cache.delete("k", mode: .memoryOnly))
        XCTAssertThrowsError(try cache.peek("k", mode: .memoryOnly))
        XCTAssertThrowsError(try cache.reportHealth("k", HealthReport(ok: true), mode: .memoryOnly))
        XCTAssertThrowsError(try cache.get("k", mode: .memoryOnly))
        XCTAssertEqual(cache.statistics().tiers.map(\.misses), [0, 0, 0])
        XCTAssertEqual(l2.calls("get"), 0)

        let seen = try cache.update("k", mode: .mayBlock) { current -> String? in
            current?.source = "updated"
            return current?.proxyURL
        }
        XCTAssertEqual(seen, "http://k:8080")
        XCTAssertEqual(try cache.peek("k", mode: .memoryOnly)?.source, "updated", "promoted into L1")
        cache.flushWrites()
        XCTAssertEqual(l2.stored("k")?.source, "updated")
    }

    func testExpiredEntryOnDiskIsRemovedEverywhere() throws {
        let (l2, l3) = (TieredCacheTestStore(.l2), TieredCacheTestStore(.l3))
        let (cache, clock) = makeCache(l2: l2, l3: l3)
        l2.seed(entry("old", ttl: 5, clock: clock))
        l3.seed(entry("old", ttl: 5, clock: clock))
        clock.advance(by: 5)
        XCTAssertNil(try cache.get("old", mode: .mayBlock))
        cache.flushWrites()
        XCTAssertNil(l2.stored("old"))
        XCTAssertNil(l3.stored("old"))
        XCTAssertEqual(cache.statistics().tiers[1].evictionsTTL, 1)
    }

    func testDiskTierEvictionKeepsItWithinItsBound() throws {
        let (l2, l3) = (TieredCacheTestStore(.l2), TieredCacheTestStore(.l3))
        let (cache, clock) = makeCache(l2: l2, l3: l3) { $0.l2MaxEntries = 3 }
        for index in 0..<5 {
            cache.put(entry("k\(index)", clock: clock))
            cache.flushWrites()
        }
        XCTAssertEqual(l2.keys.count, 3)
        XCTAssertEqual(l3.keys.count, 5, "L3 is unbounded")
        let statistics = cache.statistics()
        XCTAssertEqual(statistics.tiers[1].evictionsLRU, 2)
        XCTAssertEqual(statistics.tiers[1].size, 3)
        XCTAssertEqual(try cache.count(), 5)
        XCTAssertEqual(try cache.size(of: .l2), 3)
    }

    func testHealthHistoryIsAppendedToL3AndGoesWithTheEntry() throws {
        let l3 = TieredCacheTestStore(.l3)
        let (cache, clock) = makeCache(l3: l3)
        cache.put(entry("p", clock: clock))
        _ = try cache.reportHealth("p", HealthReport(ok: true, responseTimeMs: 120), mode: .memoryOnly)
        clock.advance(by: 60)
        _ = try cache.reportHealth(
            "p",
            HealthReport(ok: false, error: "refused", checkURL: "http://check"),
            mode: .memoryOnly
        )
        let history = try cache.history("p", limit: 10)
        XCTAssertEqual(history.map(\.status), [.unhealthy, .healthy])
        XCTAssertEqual(history[0].errorMessage, "refused")
        XCTAssertEqual(history[0].checkURL, "http://check")
        XCTAssertEqual(history[0].checkTime, clock.now())
        XCTAssertEqual(history[1].responseTimeMs, 120)
        XCTAssertEqual(try cache.history("p", limit: 1).count, 1)

        _ = try cache.reportHealth("p", HealthReport(ok: false), mode: .memoryOnly)
        XCTAssertEqual(
            try cache.reportHealth("p", HealthReport(ok: false), mode: .memoryOnly),
            .removed(failureCount: 3)
        )
        XCTAssertEqual(try cache.history("p", limit: 10), [])
        XCTAssertNil(l3.stored("p"))
        XCTAssertEqual(cache.statistics().tiers.map(\.evictionsHealth), [1, 0, 1])
    }

    func testWholeCacheOperationsUseTheAuthoritativeTier() throws {
        let l3 = TieredCacheTestStore(.l3)
        let (cache, clock) = makeCache(l3: l3) { $0.l1MaxEntries = 2 }
        for index in 0..<10 { cache.put(entry("k\(index)", ttl: index < 3 ? 10 : nil, clock: clock)) }
        XCTAssertEqual(try cache.count(), 10)
        XCTAssertEqual(try cache.size(of: .l1), 2)
        XCTAssertEqual(try cache.size(of: .l2), 0)
        XCTAssertEqual(Set(try cache.allKeys()).count, 10)
        var seen = Set<String>()
        var cursor: UInt64 = 0
        repeat {
            let (next, keys) = try cache.scan(cursor: cursor, count: 3)
            seen.formUnion(keys)
            cursor = next
        } while cursor != 0
        XCTAssertEqual(seen.count, 10)

        clock.advance(by: 10)
        XCTAssertEqual(try cache.removeExpired(), 3)
        XCTAssertEqual(try cache.count(), 7)
        XCTAssertEqual(try cache.removeAll(), 7)
        XCTAssertEqual(try cache.count(), 0)
        XCTAssertTrue(l3.keys.isEmpty)
    }

    func testShutdownCommitsSyncsAndClosesOnce() throws {
        let l2 = TieredCacheTestStore(.l2)
        let (cache, clock) = makeCache(l2: l2) { $0.fsync = .everysec }
        XCTAssertNil(cache.durabilityPoint(), "only fsync always waits")
        cache.put(entry("a", clock: clock))
        cache.shutdown()
        XCTAssertNotNil(l2.stored("a"))
        XCTAssertGreaterThanOrEqual(l2.calls("sync"), 1)
        XCTAssertTrue(l2.closed)
        cache.shutdown()
        cache.put(entry("late", clock: clock))
        XCTAssertNil(l2.stored("late"), "writes after shutdown are dropped")
        XCTAssertFalse(cache.statistics().tiers[1].degraded)
    }

    func testConcurrentClientsKeepDiskTiersInStepWithL1() throws {
        let (l2, l3) = (TieredCacheTestStore(.l2), TieredCacheTestStore(.l3))
        let (cache, clock) = makeCache(l2: l2, l3: l3) { $0.l1MaxEntries = 16 }
        DispatchQueue.concurrentPerform(iterations: 6) { thread in
            for step in 0..<400 {
                let key = "k\((step * 13 + thread * 5) % 40)"
                switch step % 5 {
                case 0, 1: cache.put(Self.entry(key, clock: clock))
                case 2: _ = try? cache.get(key, mode: .mayBlock)
                case 3: _ = try? cache.update(key, mode: .mayBlock) { current in current?.recoveryAttempt += 1 }
                default: _ = try? cache.delete(key, mode: .mayBlock)
                }
            }
        }
        cache.flushWrites()
        XCTAssertLessThanOrEqual(try cache.size(of: .l1), 16)
        for index in 0..<40 {
            let key = "k\(index)"
            if let resident = try? cache.peek(key, mode: .memoryOnly) {
                XCTAssertEqual(l2.stored(key), resident, key)
                XCTAssertEqual(l3.stored(key), resident, key)
            } else {
                XCTAssertEqual(l2.stored(key), l3.stored(key), key)
            }
        }
    }
}

import Tiers
import XCTest

/// The tiered cache with L1 alone: everything in memory, nothing ever throws `wouldBlock`.
final class TieredCacheTests: XCTestCase {
    private func makeCache(
        _ adjust: (inout TieredCache.Configuration) -> Void = { _ in }
    ) -> (TieredCache, ManualClock) {
        var configuration = TieredCache.Configuration()
        adjust(&configuration)
        let clock = ManualClock(start: 1_000_000)
        return (TieredCache(configuration: configuration, clock: clock), clock)
    }

    private func entry(_ key: String, ttl: Int? = 60, clock: ManualClock, source: String = "unknown") -> CacheEntry {
        CacheEntry(key: key, proxyURL: "http://\(key):3128", source: source, now: clock.now(), ttlSeconds: ttl)
    }

    func testPutGetBumpsAccessAndCountsStatistics() throws {
        let (cache, clock) = makeCache()
        XCTAssertFalse(cache.hasDiskTiers)
        cache.put(entry("a", clock: clock))
        clock.advance(by: 5)
        let first = try cache.get("a", mode: .memoryOnly)
        XCTAssertEqual(first?.accessCount, 1)
        XCTAssertEqual(first?.lastAccessed, 1_000_005)
        XCTAssertEqual(try cache.get("a", mode: .memoryOnly)?.accessCount, 2)
        XCTAssertNil(try cache.get("missing", mode: .memoryOnly))
        XCTAssertEqual(try cache.peek("a", mode: .memoryOnly)?.accessCount, 2)

        let statistics = cache.statistics()
        XCTAssertEqual(statistics.tiers.map(\.tier), [.l1, .l2, .l3])
        XCTAssertEqual(statistics.tiers.map(\.configured), [true, false, false])
        XCTAssertEqual(statistics.tiers[0].hits, 2)
        XCTAssertEqual(statistics.tiers[0].misses, 1)
        XCTAssertEqual(statistics.tiers[0].size, 1)
        XCTAssertEqual(statistics.overallHitRate, 2.0 / 3.0, accuracy: 1e-9)
        XCTAssertNil(cache.durabilityPoint())
        cache.shutdown()
        cache.shutdown()
    }

    func testExpiredEntriesAreRemovedOnRead() throws {
        let (cache, clock) = makeCache()
        cache.put(entry("a", ttl: 10, clock: clock))
        cache.put(entry("b", ttl: nil, clock: clock))
        clock.advance(by: 9.5)
        XCTAssertNotNil(try cache.peek("a", mode: .memoryOnly))
        clock.advance(by: 0.5)
        XCTAssertNil(try cache.peek("a", mode: .memoryOnly))
        XCTAssertEqual(try cache.count(), 2, "peek changes nothing")
        XCTAssertNil(try cache.get("a", mode: .memoryOnly))
        XCTAssertEqual(try cache.count(), 1)
        XCTAssertEqual(cache.statistics().tiers[0].evictionsTTL, 1)
        clock.advance(by: 1_000_000)
        XCTAssertNotNil(try cache.get("b", mode: .memoryOnly), "no TTL: never expires")
    }

    func testResolvedTTLUsesTheSourceElseTheDefault() {
        let (cache, _) = makeCache { configuration in
            configuration.defaultTTL = 900
            configuration.sourceTTLs = ["premium": 7200]
        }
        XCTAssertEqual(cache.resolvedTTL(source: "premium"), 7200)
        XCTAssertEqual(cache.resolvedTTL(source: "free"), 900)
    }

    func testUpdateCreatesChangesDeletesAndBodyErrorsChangeNothing() throws {
        let (cache, clock) = makeCache()
        let created = try cache.update("a", mode: .memoryOnly) { current -> Bool in
            XCTAssertNil(current)
            current = CacheEntry(key: "ignored", proxyURL: "http://a", now: clock.now(), ttlSeconds: 30)
            return true
        }
        XCTAssertTrue(created)
        XCTAssertEqual(try cache.peek("a", mode: .memoryOnly)?.key, "a", "the key is the one updated")

        try cache.update("a", mode: .memoryOnly) { (current: inout CacheEntry?) throws(TieredCacheError) in
            try current?.set(.healthStatus, to: "healthy", now: clock.now())
        }
        XCTAssertEqual(try cache.peek("a", mode: .memoryOnly)?.healthStatus, .healthy)

        XCTAssertThrowsError(
            try cache.update("a", mode: .memoryOnly) { (current: inout CacheEntry?) throws(TieredCacheError) in
                current?.proxyURL = "http://changed"
                try current?.set(.ttlSeconds, to: "-5", now: clock.now())
            }
        ) { error in
            XCTAssertEqual(
                error as? TieredCacheError,
                .invalid("invalid value for 'ttl_seconds': expected a non-negative integer")
            )
        }
        XCTAssertEqual(try cache.peek("a", mode: .memoryOnly)?.proxyURL, "http://a")

        try cache.update("a", mode: .memoryOnly) { current in current = nil }
        XCTAssertNil(try cache.peek("a", mode: .memoryOnly))
        XCTAssertEqual(try cache.count(), 0)
    }

    func testDeleteReportsWhetherTheKeyExisted() throws {
        let (cache, clock) = makeCache()
        cache.put(entry("a", clock: clock))
        cache.put(entry("short", ttl: 1, clock: clock))
        clock.advance(by: 2)
        XCTAssertTrue(try cache.delete("a", mode: .memoryOnly))
        XCTAssertFalse(try cache.delete("a", mode: .memoryOnly))
        XCTAssertFalse(try cache.delete("short", mode: .memoryOnly), "an expired key does not exist")
        XCTAssertEqual(try cache.count(), 0)
    }

    func testHealthFailuresRemoveTheEntryAtTheThreshold() throws {
        let (cache, clock) = makeCache()
        cache.put(entry("p", clock: clock))
        XCTAssertEqual(try cache.reportHealth("nope", HealthReport(ok: false), mode: .memoryOnly), .notFound)
        let fail = HealthReport(ok: false, responseTimeMs: 5000, error: "timeout")
        XCTAssertEqual(
            try cache.reportHealth("p", fail, mode: .memoryOnly),
            .updated(status: .unhealthy, failureCount: 1)
        )
        clock.advance(by: 10)
        XCTAssertEqual(
            try cache.reportHealth("p", fail, mode: .memoryOnly),
            .updated(status: .unhealthy, failureCount: 2)
        )
        var current = try XCTUnwrap(cache.peek("p", mode: .memoryOnly))
        XCTAssertEqual(current.consecutiveHealthFailures, 2)
        XCTAssertEqual(current.totalHealthChecks, 2)
        XCTAssertEqual(current.totalHealthCheckFailures, 2)
        XCTAssertEqual(current.lastHealthError, "timeout")
        XCTAssertEqual(current.lastHealthCheck, clock.now())

        // Recovery: ok resets the failure count.
        XCTAssertEqual(
            try cache.reportHealth("p", HealthReport(ok: true), mode: .memoryOnly),
            .updated(status: .healthy, failureCount: 0)
        )
        current = try XCTUnwrap(cache.peek("p", mode: .memoryOnly))
        XCTAssertEqual(current.consecutiveHealthFailures, 0)
        XCTAssertEqual(current.consecutiveHealthSuccesses, 1)
        XCTAssertEqual(current.totalHealthChecks, 3)
        XCTAssertEqual(current.totalHealthCheckFailures, 2)

        for expected in 1...2 {
            XCTAssertEqual(
                try cache.reportHealth("p", fail, mode: .memoryOnly),
                .updated(status: .unhealthy, failureCount: expected)
            )
        }
        XCTAssertEqual(try cache.reportHealth("p", fail, mode: .memoryOnly), .removed(failureCount: 3))
        XCTAssertNil(try cache.peek("p", mode: .memoryOnly))
        XCTAssertEqual(cache.statistics().tiers[0].evictionsHealth, 1)
        XCTAssertEqual(try cache.history("p", limit: 10), [], "no L3, no history")
    }

    func testHealthInvalidationCanBeTurnedOff() throws {
        let (cache, clock) = makeCache { $0.healthInvalidation = false }
        cache.put(entry("p", clock: clock))
        for expected in 1...5 {
            XCTAssertEqual(
                try cache.reportHealth("p", HealthReport(ok: false), mode: .memoryOnly),
                .updated(status: .unhealthy, failureCount: expected)
            )
        }
    }

    func testL1EvictionWithoutDiskTiersDropsTheEntry() throws {
        let (cache, clock) = makeCache { $0.l1MaxEntries = 2 }
        cache.put(entry("a", clock: clock))
        cache.put(entry("b", clock: clock))
        _ = try cache.get("a", mode: .memoryOnly)
        cache.put(entry("c", clock: clock))
        XCTAssertNil(try cache.get("b", mode: .memoryOnly))
        XCTAssertEqual(Set(try cache.allKeys()), ["a", "c"])
        let statistics = cache.statistics()
        XCTAssertEqual(statistics.tiers[0].evictionsLRU, 1)
        XCTAssertEqual(statistics.demotions, 0)
    }

    func testScanVisitsEveryKeyAndSkipsExpiredOnes() throws {
        let (cache, clock) = makeCache { $0.l1MaxEntries = 5000 }
        for index in 0..<500 { cache.put(entry("k\(index)", ttl: index < 50 ? 1 : 100, clock: clock)) }
        clock.advance(by: 1)
        var seen = Set<String>()
        var cursor: UInt64 = 0
        var steps = 0
        repeat {
            let (next, keys) = try cache.scan(cursor: cursor, count: 10)
            seen.formUnion(keys)
            cursor = next
            steps += 1
        } while cursor != 0
        XCTAssertEqual(seen, Set((50..<500).map { "k\($0)" }))
        XCTAssertGreaterThan(steps, 10)
        XCTAssertEqual(Set(try cache.allKeys()), seen)
    }

    func testRemoveExpiredAndRemoveAll() throws {
        let (cache, clock) = makeCache()
        for index in 0..<10 { cache.put(entry("k\(index)", ttl: index < 4 ? 5 : nil, clock: clock)) }
        clock.advance(by: 5)
        XCTAssertEqual(try cache.removeExpired(), 4)
        XCTAssertEqual(try cache.count(), 6)
        XCTAssertEqual(cache.statistics().tiers[0].evictionsTTL, 4)
        XCTAssertEqual(try cache.removeAll(), 6)
        XCTAssertEqual(try cache.count(), 0)
        XCTAssertEqual(try cache.size(of: .l1), 0)
        XCTAssertEqual(try cache.size(of: .l2), 0)
    }

    func testConcurrentUpdatesOfOneKeyAreAtomic() throws {
        let (cache, clock) = makeCache()
        cache.put(entry("counter", ttl: nil, clock: clock))
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<500 {
                _ = try? cache.update("counter", mode: .memoryOnly) { current in current?.recoveryAttempt += 1 }
            }
        }
        XCTAssertEqual(try cache.peek("counter", mode: .memoryOnly)?.recoveryAttempt, 4000)
    }
}

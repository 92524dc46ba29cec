import Foundation
import Tiers
import XCTest

/// How a disk writer's queue merges writes of one key that it has not taken yet.
final class TieredCacheWriteQueueTests: TieredCacheTestCase {
    override class var clockStart: Double { 6_000_000 }

    /// `DEL k; PUT k` while the writer is busy: the put must not take the queued delete's place, or L3 would
    /// upsert the entry and keep the deleted key's health history.
    func testAQueuedDeleteIsNotReplacedByTheNextPut() throws {
        let l3 = TieredCacheTestStore(.l3)
        let (cache, clock) = makeCache(l3: l3)
        cache.put(entry("k", clock: clock))
        _ = try cache.reportHealth("k", HealthReport(ok: false, error: "timeout"), mode: .memoryOnly)
        XCTAssertEqual(try cache.history("k", limit: 10).count, 1)

        l3.block()
        cache.put(entry("busy", clock: clock))
        l3.waitUntilApplyIsBlocked()
        XCTAssertTrue(try cache.delete("k", mode: .memoryOnly))
        cache.put(entry("k", url: "http://new:8080", clock: clock))
        XCTAssertEqual(cache.statistics().tiers[2].pendingWrites, 3, "one taken, the delete and the put queued")
        l3.unblock()

        XCTAssertEqual(try cache.history("k", limit: 10), [], "the delete took the old history with it")
        XCTAssertEqual(l3.stored("k")?.proxyURL, "http://new:8080")
        XCTAssertEqual(l3.stored("k")?.failureCount, 0)
    }

    /// Puts still replace a queued put (or a queued put a delete) in place: the queue holds one write per key.
    func testQueuedPutsAreStillReplacedInPlace() throws {
        let l3 = TieredCacheTestStore(.l3)
        let (cache, clock) = makeCache(l3: l3)
        l3.block()
        cache.put(entry("busy", clock: clock))
        l3.waitUntilApplyIsBlocked()
        cache.put(entry("a", url: "http://one:8080", clock: clock))
        cache.put(entry("a", url: "http://two:8080", clock: clock))
        XCTAssertEqual(cache.statistics().tiers[2].pendingWrites, 2)
        cache.put(entry("b", clock: clock))
        XCTAssertTrue(try cache.delete("b", mode: .memoryOnly))
        XCTAssertEqual(cache.statistics().tiers[2].pendingWrites, 3)
        l3.unblock()
        cache.flushWrites()
        XCTAssertEqual(l3.stored("a")?.proxyURL, "http://two:8080")
        XCTAssertNil(l3.stored("b"))
        XCTAssertEqual(
            l3.appliedBatches.last,
            [.put(entry("a", url: "http://two:8080", clock: clock)), .delete(key: "b")]
        )
    }
}

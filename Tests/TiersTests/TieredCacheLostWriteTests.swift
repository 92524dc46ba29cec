import Foundation
import Tiers
import XCTest

/// Writes a disk tier lost while it failed: they stay readable and are replayed once the tier works again, never
/// turned into deletes because a bounded tier (L1, L2) no longer holds the key.
final class TieredCacheLostWriteTests: TieredCacheTestCase {
    override class var clockStart: Double { 4_000_000 }

    /// The reviewer's reproduction: L1 and L2 hold one entry each, L3 is locked for a while, then comes back.
    func testWritesLostOnL3AreReplayedWhenItComesBack() throws {
        let (l2, l3) = (TieredCacheTestStore(.l2), TieredCacheTestStore(.l3))
        let (cache, clock) = makeCache(l2: l2, l3: l3) { configuration in
            configuration.l1MaxEntries = 1
            configuration.l2MaxEntries = 1
            configuration.tierFailureThreshold = 1
            configuration.tierProbeInterval = 5
        }
        cache.put(entry("k1", clock: clock))
        cache.flushWrites()
        l3.fail(with: .busy)
        try cache.update("k1", mode: .mayBlock) { $0?.proxyURL = "http://changed:8080" }
        clock.advance(by: 1)
        cache.put(entry("k2", clock: clock))  // demotes k1
        clock.advance(by: 1)
        cache.put(entry("k3", clock: clock))  // demotes k2
        cache.flushWrites()
        XCTAssertTrue(cache.statistics().tiers[2].degraded)
        XCTAssertEqual(l3.stored("k1")?.proxyURL, "http://k1:8080", "L3 missed the update")
        XCTAssertNil(l3.stored("k2"))
        XCTAssertEqual(l2.keys, ["k3"], "L2 evicted k1 and k2")

        // L3 works again, but its writer is held before it can repair anything: the lost writes are still served.
        l3.fail(with: nil)
        l3.block()
        clock.advance(by: 5)
        XCTAssertEqual(try cache.get("k1", mode: .mayBlock)?.proxyURL, "http://changed:8080")
        XCTAssertFalse(cache.statistics().tiers[2].degraded, "the read probed L3 and re-enabled it")
        l3.unblock()
        cache.flushWrites()

        XCTAssertEqual(l3.stored("k1")?.proxyURL, "http://changed:8080", "replayed, not deleted")
        XCTAssertEqual(l3.stored("k2")?.proxyURL, "http://k2:8080", "replayed, not deleted")
        XCTAssertNotNil(l3.stored("k3"))
        XCTAssertEqual(try cache.count(), 3)
        XCTAssertEqual(try cache.get("k2", mode: .mayBlock)?.proxyURL, "http://k2:8080")
        XCTAssertEqual(try cache.get("k1", mode: .mayBlock)?.proxyURL, "http://changed:8080")
    }

    func testADeleteLostOnL3IsReplayedAsADelete() throws {
        let (l2, l3) = (TieredCacheTestStore(.l2), TieredCacheTestStore(.l3))
        let (cache, clock) = makeCache(l2: l2, l3: l3) { configuration in
            configuration.tierFailureThreshold = 1
            configuration.tierProbeInterval = 5
        }
        cache.put(entry("gone", clock: clock))
        cache.put(entry("kept", clock: clock))
        cache.flushWrites()
        l3.fail(with: .readOnly)
        XCTAssertTrue(try cache.delete("gone", mode: .mayBlock))
        cache.flushWrites()
        XCTAssertNotNil(l3.stored("gone"), "L3 missed the delete")

        l3.fail(with: nil)
        clock.advance(by: 5)
        XCTAssertEqual(try cache.count(), 1, "probed, repaired, then counted")
        XCTAssertNil(l3.stored("gone"))
        XCTAssertNotNil(l3.stored("kept"))
        XCTAssertNil(try cache.get("gone", mode: .mayBlock))
    }

    func testAWriteLostOnL3IsReplacedByTheNextCommittedOne() throws {
        let l3 = TieredCacheTestStore(.l3)
        let (cache, clock) = makeCache(l3: l3) { configuration in
            configuration.l1MaxEntries = 1
            configuration.tierFailureThreshold = 100
        }
        cache.put(entry("a", clock: clock))
        cache.flushWrites()
        l3.fail("apply", with: .full)
        try cache.update("a", mode: .mayBlock) { $0?.proxyURL = "http://lost:8080" }
        cache.flushWrites()
        l3.fail("apply", with: nil)
        try cache.update("a", mode: .mayBlock) { $0?.proxyURL = "http://final:8080" }
        cache.put(entry("b", clock: clock))  // demotes a
        cache.flushWrites()
        cache.flushWrites()
        XCTAssertEqual(l3.stored("a")?.proxyURL, "http://final:8080")
        XCTAssertEqual(try cache.get("a", mode: .mayBlock)?.proxyURL, "http://final:8080")
    }
}

import Tiers
import XCTest

/// What a shutdown reports as not persisted: the writes a disk tier lost, by tier, told apart from the access
/// figures that only the final write-through of L1 carried.
final class TieredCacheShutdownTests: TieredCacheTestCase {
    func testACleanShutdownReportsNothing() {
        let l3 = TieredCacheTestStore(.l3)
        let (cache, clock) = makeCache(l3: l3)
        cache.put(entry("a", clock: clock))
        let report = cache.shutdown()
        XCTAssertEqual(report, ShutdownReport())
        XCTAssertFalse(report.lostData)
        XCTAssertNotNil(l3.stored("a"))
        XCTAssertEqual(cache.shutdown(), report, "a second call returns the same report")
    }

    func testWritesLostOnAFullDiskAreCountedByTier() throws {
        let l3 = TieredCacheTestStore(.l3)
        let (cache, clock) = makeCache(l3: l3) { $0.tierFailureThreshold = 100 }
        cache.put(entry("committed", clock: clock))
        cache.flushWrites()
        l3.fail("apply", with: .full)
        for index in 0..<5 {
            cache.put(entry("lost\(index)", clock: clock))
        }
        cache.put(entry("lost0", url: "http://again:1", clock: clock))
        _ = try cache.reportHealth("committed", HealthReport(ok: true), mode: .mayBlock)
        let report = cache.shutdown()
        let loss = try XCTUnwrap(report.losses.first { $0.tier == .l3 })
        // Five new keys (one written twice) and the health report's change of "committed" never reached L3.
        XCTAssertEqual(loss.keys, 6)
        XCTAssertEqual(loss.historyRecords, 1)
        XCTAssertFalse(loss.overflowed)
        XCTAssertTrue(report.lostData)
        XCTAssertEqual(loss.summary, "l3: 6 keys' last writes and 1 health-check record not persisted")
    }

    func testAKeyWrittenAgainAfterTheDiskRecoveredIsNotLost() throws {
        let l3 = TieredCacheTestStore(.l3)
        let (cache, clock) = makeCache(l3: l3) { $0.tierFailureThreshold = 100 }
        l3.fail("apply", with: .full)
        cache.put(entry("k", clock: clock))
        cache.flushWrites()
        l3.fail("apply", with: nil)
        cache.put(entry("k", url: "http://later:1", clock: clock))
        let report = cache.shutdown()
        XCTAssertFalse(report.lostData, "\(report)")
        XCTAssertEqual(l3.stored("k")?.proxyURL, "http://later:1")
    }

    func testOnlyAccessFiguresLostAtShutdownAreNotDataLoss() throws {
        let l3 = TieredCacheTestStore(.l3)
        let (cache, clock) = makeCache(l3: l3) { $0.tierFailureThreshold = 100 }
        cache.put(entry("k", clock: clock))
        cache.flushWrites()
        _ = try cache.get("k", mode: .mayBlock)
        l3.fail("apply", with: .full)
        let report = cache.shutdown()
        XCTAssertFalse(report.lostData, "the disk has the client's write; only hit counts are missing")
        XCTAssertEqual(report.losses.first?.accessFiguresOnly, 1)
    }
}

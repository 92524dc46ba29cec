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

    /// The shutdown writes through what L1 changed since the disk tiers got it (hits), not every entry it holds: a
    /// bulk load of a million keys must not be written a second time on the way out.
    func testTheShutdownWritesThroughOnlyEntriesChangedSinceTheirWrite() throws {
        let l3 = TieredCacheTestStore(.l3)
        let (cache, clock) = makeCache(l3: l3)
        for key in ["hit", "written", "rewritten"] {
            cache.put(entry(key, clock: clock))
        }
        _ = try cache.get("hit", mode: .memoryOnly)
        _ = try cache.get("rewritten", mode: .memoryOnly)
        cache.put(entry("rewritten", url: "http://again:1", clock: clock))
        cache.flushWrites()
        let before = l3.appliedBatches.count
        cache.shutdown()
        let written = l3.appliedBatches.dropFirst(before).joined().map { write in
            if case .put(let entry) = write { entry.key } else { "\(write)" }
        }
        XCTAssertEqual(written, ["hit"], "only the entry with a hit not yet on disk")
        XCTAssertEqual(l3.stored("hit")?.accessCount, 1)
        XCTAssertEqual(l3.stored("rewritten")?.proxyURL, "http://again:1")
    }
}

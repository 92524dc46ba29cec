import Foundation
import Tiers
import XCTest

/// `.localReads`: an event loop reads the disk tiers itself when every one answers without waiting, and hands the
/// call off the loop (`wouldBlock`, having counted and changed nothing) when one cannot.
final class TieredCacheLocalReadsTests: TieredCacheTestCase {
    override class var clockStart: Double { 4_000_000 }

    /// Two stores that answer without waiting, and a cache whose L1 holds two entries: `a` and `b` were demoted by
    /// `c` and `d`.
    private func makeDemotedCache(
        l3ReadsWithoutWaiting: Bool = true,
        _ adjust: (inout TieredCache.Configuration) -> Void = { _ in }
    ) -> (TieredCache, ManualClock, TieredCacheTestStore, TieredCacheTestStore) {
        let l2 = TieredCacheTestStore(.l2, readsWithoutWaiting: true)
        let l3 = TieredCacheTestStore(.l3, readsWithoutWaiting: l3ReadsWithoutWaiting)
        let (cache, clock) = makeCache(l2: l2, l3: l3) { configuration in
            configuration.l1MaxEntries = 2
            adjust(&configuration)
        }
        for key in ["a", "b", "c", "d"] { cache.put(entry(key, clock: clock)) }
        cache.flushWrites()
        return (cache, clock, l2, l3)
    }

    func testAnL1MissIsReadOnTheCallersThreadAndPromoted() throws {
        let (cache, _, l2, _) = makeDemotedCache()
        let before = cache.statistics()
        let found = try XCTUnwrap(cache.get("a", mode: .localReads))
        XCTAssertEqual(found.proxyURL, "http://a:8080")
        XCTAssertEqual(found.accessCount, 1)
        XCTAssertEqual(l2.calls("get"), 0, "no blocking read")
        XCTAssertEqual(l2.calls("readWithoutWaiting"), 1)
        XCTAssertEqual(try cache.get("a", mode: .memoryOnly)?.accessCount, 2, "promoted into L1")

        let after = cache.statistics()
        XCTAssertEqual(after.promotions - before.promotions, 1)
        XCTAssertEqual(after.tiers[0].misses - before.tiers[0].misses, 1)
        XCTAssertEqual(after.tiers[1].hits - before.tiers[1].hits, 1)
        XCTAssertNil(try cache.get("never-written", mode: .localReads))
        let missed = cache.statistics()
        XCTAssertEqual(missed.tiers[0].misses - after.tiers[0].misses, 1)
        XCTAssertEqual(missed.tiers[1].misses - after.tiers[1].misses, 1)
        XCTAssertEqual(missed.tiers[2].misses - after.tiers[2].misses, 1)
    }

    func testAReadThatWouldWaitCountsNothingAndIsReadAgainOffTheLoop() throws {
        let (cache, clock, l2, l3) = makeDemotedCache()
        l3.seed(entry("deep", clock: clock))
        l3.makeLoopReadsWait(true)
        let before = cache.statistics()
        XCTAssertThrowsError(try cache.get("deep", mode: .localReads)) { error in
            XCTAssertEqual(error as? TieredCacheError, .wouldBlock)
        }
        XCTAssertEqual(l2.calls("readWithoutWaiting"), 1, "L2 answered (absent) before L3 would have waited")
        var after = cache.statistics()
        XCTAssertEqual(after.tiers.map(\.misses), before.tiers.map(\.misses), "not even L2's miss is counted")
        XCTAssertEqual(after.tiers.map(\.hits), before.tiers.map(\.hits))
        XCTAssertEqual(after.promotions, before.promotions)

        XCTAssertEqual(try cache.get("deep", mode: .mayBlock)?.accessCount, 1)
        after = cache.statistics()
        XCTAssertEqual(after.tiers[0].misses - before.tiers[0].misses, 1, "counted once, by the read that answered")
        XCTAssertEqual(after.tiers[1].misses - before.tiers[1].misses, 1)
        XCTAssertEqual(after.tiers[2].hits - before.tiers[2].hits, 1)
    }

    func testEveryOtherCallOfOneKeyReadsWithoutWaitingToo() throws {
        let (cache, _, l2, _) = makeDemotedCache()
        XCTAssertEqual(try cache.peek("a", mode: .localReads)?.proxyURL, "http://a:8080")
        try cache.update("b", mode: .localReads) { entry in entry?.source = "updated" }
        XCTAssertEqual(try cache.peek("b", mode: .memoryOnly)?.source, "updated", "promoted and changed in L1")
        XCTAssertTrue(try cache.delete("a", mode: .localReads))
        XCTAssertFalse(try cache.delete("a", mode: .localReads))
        XCTAssertEqual(l2.calls("get"), 0)
        cache.flushWrites()
        XCTAssertNil(l2.stored("a"))
        XCTAssertEqual(try cache.get("b", mode: .localReads)?.source, "updated")
    }

    func testAStoreThatCannotAnswerWithoutWaitingKeepsEveryReadOffTheLoop() throws {
        let (cache, _, l2, l3) = makeDemotedCache(l3ReadsWithoutWaiting: false)
        XCTAssertThrowsError(try cache.get("a", mode: .localReads)) { error in
            XCTAssertEqual(error as? TieredCacheError, .wouldBlock)
        }
        XCTAssertThrowsError(try cache.peek("a", mode: .localReads))
        XCTAssertThrowsError(try cache.delete("a", mode: .localReads))
        XCTAssertEqual(l2.calls("readWithoutWaiting") + l3.calls("readWithoutWaiting"), 0, "not even L2 is read")
        XCTAssertNotNil(try cache.get("a", mode: .mayBlock))
    }

    func testADisabledTierIsSkippedButItsProbeIsLeftToABlockingThread() throws {
        let (cache, clock, l2, _) = makeDemotedCache { configuration in
            configuration.tierFailureThreshold = 1
            configuration.tierProbeInterval = 5
        }
        l2.fail(with: .io)
        XCTAssertNil(try cache.get("missing", mode: .mayBlock))
        XCTAssertTrue(cache.statistics().tiers[1].degraded)
        l2.fail(with: nil)

        // Disabled, no probe due: L2 is skipped, L3 answers on the loop.
        XCTAssertEqual(try cache.get("a", mode: .localReads)?.proxyURL, "http://a:8080")
        // The promotion demoted an entry to L2: its writer commits it (or rather loses it) now, not after the probe
        // falls due, when it would probe L2 itself. Probes are counted on this thread only all the same.
        cache.flushWrites()
        let counts = l2.callsFromThisThread("count")
        clock.advance(by: 5)
        // A probe is due: only a blocking thread probes.
        XCTAssertThrowsError(try cache.get("b", mode: .localReads)) { error in
            XCTAssertEqual(error as? TieredCacheError, .wouldBlock)
        }
        XCTAssertEqual(l2.callsFromThisThread("count"), counts, "no probe on the loop")
        XCTAssertNotNil(try cache.get("b", mode: .mayBlock))
        XCTAssertFalse(cache.statistics().tiers[1].degraded, "probed off the loop (or by L2's writer meanwhile)")
    }
}

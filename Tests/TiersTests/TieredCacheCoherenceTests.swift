import Foundation
import Tiers
import XCTest

/// `invalidate(keys:)` and `invalidateAll()`: another sidecar's commits drop local copies, never a local write that
/// L3 does not hold yet, and never anything in L3.
final class TieredCacheCoherenceTests: TieredCacheTestCase {
    override class var clockStart: Double { 9_000_000 }

    func testInvalidatedKeysAreReadAgainFromL3AndL3IsUntouched() throws {
        let l2 = TieredCacheTestStore(.l2)
        let l3 = TieredCacheTestStore(.l3)
        let (cache, clock) = makeCache(l2: l2, l3: l3)
        cache.put(entry("k", url: "http://old:1", clock: clock))
        XCTAssertEqual(try cache.get("k", mode: .mayBlock)?.proxyURL, "http://old:1")
        cache.flushWrites()
        XCTAssertEqual(l2.stored("k")?.proxyURL, "http://old:1")

        // Another sidecar replaced k in the shared L3.
        l3.seed(entry("k", url: "http://new:1", clock: clock))
        XCTAssertEqual(try cache.get("k", mode: .mayBlock)?.proxyURL, "http://old:1", "stale until told")
        let l3Writes = l3.calls("apply")
        cache.invalidate(keys: ["k", "never-seen"])
        XCTAssertThrowsError(try cache.get("k", mode: .memoryOnly), "no longer in L1")
        XCTAssertEqual(try cache.get("k", mode: .mayBlock)?.proxyURL, "http://new:1")
        cache.flushWrites()
        XCTAssertEqual(l2.stored("k")?.proxyURL, "http://new:1", "L2 dropped the old copy, then took L3's")
        XCTAssertEqual(l3.calls("apply"), l3Writes, "nothing written to L3")
        XCTAssertEqual(cache.coherenceFigures.keysDropped, 0, "figures only with a shared L3")
    }

    func testALocalWriteNotYetInL3SurvivesAnInvalidation() throws {
        let l3 = TieredCacheTestStore(.l3)
        let (cache, clock) = makeCache(l3: l3)
        l3.block()
        cache.put(entry("busy", clock: clock))
        l3.waitUntilApplyIsBlocked()
        cache.put(entry("k", url: "http://mine:1", clock: clock))
        l3.seed(entry("k", url: "http://other:1", clock: clock))
        cache.invalidate(keys: ["k", "busy"])
        XCTAssertEqual(cache.l1Usage.entries, 0, "both dropped from L1")
        XCTAssertEqual(try cache.get("k", mode: .mayBlock)?.proxyURL, "http://mine:1", "its commit comes later")
        XCTAssertEqual(try cache.get("busy", mode: .mayBlock)?.key, "busy", "in flight: not in L3 yet either")
        cache.invalidateAll()
        XCTAssertEqual(try cache.get("k", mode: .mayBlock)?.proxyURL, "http://mine:1")
        l3.unblock()
        cache.flushWrites()
        XCTAssertEqual(l3.stored("k")?.proxyURL, "http://mine:1", "and it is what L3 holds")
    }

    func testInvalidateAllEmptiesL1AndL2ButNotL3() throws {
        let l2 = TieredCacheTestStore(.l2)
        let l3 = TieredCacheTestStore(.l3)
        let (cache, clock) = makeCache(l2: l2, l3: l3)
        for key in ["a", "b", "c"] { cache.put(entry(key, clock: clock)) }
        cache.flushWrites()
        l3.seed(entry("a", url: "http://other:1", clock: clock))
        cache.invalidateAll()
        XCTAssertEqual(try cache.get("a", mode: .mayBlock)?.proxyURL, "http://other:1")
        cache.flushWrites()
        XCTAssertEqual(l3.keys, ["a", "b", "c"])
        XCTAssertNil(l2.stored("b"), "L2 was emptied")
        XCTAssertEqual(try cache.get("b", mode: .mayBlock)?.key, "b", "read again from L3")
    }
}

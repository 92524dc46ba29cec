import Tiers
import XCTest

/// L2 as a victim cache of L1 (`L2Mode.victim`, the default with L3 below): it gets what L1 evicts, a write of a key
/// L1 holds goes to L3 alone, and L2 never serves a copy older than the key's last write.
final class TieredCacheVictimL2Tests: TieredCacheTestCase {
    override class var clockStart: Double { 5_000_000 }

    private func makeVictimCache(
        l1MaxEntries: Int? = nil
    ) -> (TieredCache, ManualClock, TieredCacheTestStore, TieredCacheTestStore) {
        let (l2, l3) = (TieredCacheTestStore(.l2), TieredCacheTestStore(.l3))
        let (cache, clock) = makeCache(l2: l2, l3: l3) { configuration in
            configuration.l2Mode = .victim
            configuration.l1MaxEntries = l1MaxEntries
        }
        return (cache, clock, l2, l3)
    }

    private func l2Writes(_ store: TieredCacheTestStore) -> [StoreWrite] {
        store.appliedBatches.flatMap { $0 }
    }

    func testAWriteOfAKeyL1HoldsGoesToL3Alone() throws {
        let (cache, clock, l2, l3) = makeVictimCache()
        cache.put(entry("a", url: "http://one", clock: clock))
        cache.flushWrites()
        XCTAssertEqual(l2Writes(l2), [.delete(key: "a")], "a key new to L1: L2 drops any copy it had")
        XCTAssertEqual(l3.stored("a")?.proxyURL, "http://one")

        cache.put(entry("a", url: "http://two", clock: clock))
        cache.put(entry("a", url: "http://three", clock: clock))
        cache.flushWrites()
        XCTAssertEqual(l2Writes(l2), [.delete(key: "a")], "L1 holds a and L2 has no copy: L2 is not written")
        XCTAssertEqual(l3.stored("a")?.proxyURL, "http://three")
        XCTAssertNil(l2.stored("a"))
    }

    func testEvictionFillsL2AndAKeyTakenBackIsNeverServedStale() throws {
        let (cache, clock, l2, l3) = makeVictimCache(l1MaxEntries: 1)
        cache.put(entry("a", url: "http://a1", clock: clock))
        cache.put(entry("b", clock: clock))  // evicts a into L2
        cache.flushWrites()
        XCTAssertEqual(l2.stored("a")?.proxyURL, "http://a1")
        XCTAssertEqual(l2.stored("a")?.evictedFromL1, true)

        // An L2 hit takes a back into L1; L2 keeps its copy until a write of a makes it drop it.
        XCTAssertEqual(try cache.get("a", mode: .mayBlock)?.proxyURL, "http://a1")
        cache.put(entry("a", url: "http://a2", clock: clock))
        cache.flushWrites()
        XCTAssertNil(l2.stored("a"), "the write made L2 drop its older copy")
        XCTAssertEqual(l3.stored("a")?.proxyURL, "http://a2")

        // Evicted again, a goes back into L2 with its new value.
        cache.put(entry("c", clock: clock))
        cache.flushWrites()
        XCTAssertEqual(l2.stored("a")?.proxyURL, "http://a2")
        XCTAssertEqual(try cache.get("a", mode: .mayBlock)?.proxyURL, "http://a2")
    }

    func testAnL3HitFillsL1AloneAndDeletesReachL2() throws {
        let (cache, clock, l2, l3) = makeVictimCache()
        l3.seed(entry("x", clock: clock))
        l2.seed(entry("gone", clock: clock))
        XCTAssertEqual(try cache.get("x", mode: .mayBlock)?.proxyURL, "http://x:8080")
        XCTAssertEqual(cache.statistics().promotions, 1, "into L1 only")
        XCTAssertTrue(try cache.delete("gone", mode: .mayBlock))
        cache.flushWrites()
        XCTAssertNil(l2.stored("x"), "L2 gets x when L1 evicts it")
        XCTAssertNil(l2.stored("gone"))
    }

    func testWithoutL3L2TakesEveryWrite() throws {
        let l2 = TieredCacheTestStore(.l2)
        let (cache, clock) = makeCache(l2: l2) { $0.l2Mode = .victim }
        cache.put(entry("a", clock: clock))
        cache.put(entry("a", url: "http://newer", clock: clock))
        cache.flushWrites()
        XCTAssertEqual(l2.stored("a")?.proxyURL, "http://newer", "L2 is the durable tier here")
    }
}

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

    /// Puts, deletes and health records of a few keys, with the writer sometimes busy (its batch blocked) so that
    /// writes queue behind taken ones: a batch of puts alone names each key once (the writer commits it without
    /// merging), and the store ends with what L1 holds.
    func testABatchOfPutsAloneNamesEachKeyOnce() throws {
        let l3 = TieredCacheTestStore(.l3)
        let (cache, clock) = makeCache(l3: l3)
        var random = SystemRandomNumberGenerator()
        let keys = ["a", "b", "c", "d", "e"]
        for round in 0..<40 {
            let busy = round % 3 == 0
            if busy {
                l3.block()
                cache.put(entry("busy-\(round)", clock: clock))
                l3.waitUntilApplyIsBlocked()
            }
            for step in 0..<30 {
                let key = keys.randomElement(using: &random)!
                switch Int.random(in: 0..<10, using: &random) {
                case 0:
                    _ = try? cache.delete(key, mode: .mayBlock)
                case 1:
                    _ = try? cache.reportHealth(key, HealthReport(ok: step % 2 == 0), mode: .mayBlock)
                default:
                    cache.put(entry(key, url: "http://\(key)-\(round)-\(step):8080", clock: clock))
                }
            }
            if busy { l3.unblock() }
            if round % 5 == 4 { cache.flushWrites() }
        }
        cache.flushWrites()
        var putsAlone = 0
        for batch in l3.appliedBatches {
            guard batch.allSatisfy({ if case .put = $0 { return true } else { return false } }) else { continue }
            putsAlone += 1
            let batchKeys = batch.compactMap { write -> String? in
                if case .put(let entry) = write { return entry.key }
                return nil
            }
            XCTAssertEqual(Set(batchKeys).count, batchKeys.count, "\(batchKeys)")
        }
        XCTAssertGreaterThan(putsAlone, 0, "some batches held puts alone")
        for key in keys {
            XCTAssertEqual(l3.stored(key)?.proxyURL, try cache.peek(key, mode: .mayBlock)?.proxyURL, key)
        }
    }
}

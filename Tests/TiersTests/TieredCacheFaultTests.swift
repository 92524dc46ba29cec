import Foundation
import Tiers
import XCTest

/// How the tiered cache survives a failing disk tier: disabling, probing, re-enabling, lost writes, corruption
/// and durability callbacks.
final class TieredCacheFaultTests: TieredCacheTestCase {
    override class var clockStart: Double { 3_000_000 }

    func testBacklogPointOnlyWhenAWriterFallsBehind() throws {
        let l3 = TieredCacheTestStore(.l3)
        let (cache, clock) = makeCache(l3: l3)
        cache.flushWrites()
        cache.put(entry("first", clock: clock))
        cache.flushWrites()
        XCTAssertNil(cache.backlogPoint(limit: 2), "nothing pending")
        l3.block()
        cache.put(entry("a", clock: clock))
        l3.waitUntilApplyIsBlocked()
        for key in ["b", "c", "d"] { cache.put(entry(key, clock: clock)) }
        let point = try XCTUnwrap(cache.backlogPoint(limit: 2), "four writes pending, limit two")
        XCTAssertNil(cache.backlogPoint(limit: 10))
        let released = expectation(description: "released")
        cache.whenDurable(point) { committed in
            XCTAssertTrue(committed)
            released.fulfill()
        }
        l3.unblock()
        wait(for: [released], timeout: 30)
        XCTAssertNotNil(l3.stored("d"))
    }

    func testFailingTierIsDisabledThenProbedAndReenabled() throws {
        let (l2, l3) = (TieredCacheTestStore(.l2), TieredCacheTestStore(.l3))
        let (cache, clock) = makeCache(l2: l2, l3: l3) { configuration in
            configuration.tierFailureThreshold = 3
            configuration.tierProbeInterval = 5
        }
        cache.flushWrites()  // the writer has started (and counted the store once)
        let counts = l2.calls("count")
        l3.seed(entry("deep", clock: clock))
        l2.fail(with: .io)
        for index in 0..<3 {
            XCTAssertNil(try cache.get("missing\(index)", mode: .mayBlock))
        }
        var statistics = cache.statistics()
        XCTAssertTrue(statistics.tiers[1].degraded)
        XCTAssertEqual(statistics.tiers[1].disabledCount, 1)
        XCTAssertFalse(statistics.tiers[2].degraded)

        // Still serving, from L3, without touching L2.
        let getsBefore = l2.calls("get")
        XCTAssertEqual(try cache.get("deep", mode: .mayBlock)?.proxyURL, "http://deep:8080")
        XCTAssertEqual(l2.calls("get"), getsBefore)

        // Healed, but not probed before the interval has passed.
        l2.fail(with: nil)
        clock.advance(by: 4)
        XCTAssertNil(try cache.get("missing-a", mode: .mayBlock))
        XCTAssertEqual(l2.calls("count"), counts)
        XCTAssertTrue(cache.statistics().tiers[1].degraded)

        clock.advance(by: 1)
        XCTAssertNil(try cache.get("missing-b", mode: .mayBlock))
        cache.flushWrites()  // the writer's idle housekeeping may have run the probe: let it finish
        XCTAssertGreaterThanOrEqual(l2.calls("count"), counts + 1, "probed (a commit after re-enabling counts too)")
        statistics = cache.statistics()
        XCTAssertFalse(statistics.tiers[1].degraded)
        XCTAssertEqual(statistics.tiers[1].reenabledCount, 1)
        XCTAssertNil(try cache.get("missing-c", mode: .mayBlock))
        XCTAssertGreaterThan(l2.calls("get"), getsBefore)
    }

    func testAFailedProbeWaitsForTheNextInterval() throws {
        let l2 = TieredCacheTestStore(.l2)
        let (cache, clock) = makeCache(l2: l2) { configuration in
            configuration.tierFailureThreshold = 1
            configuration.tierProbeInterval = 5
        }
        cache.flushWrites()  // the writer has started (and counted the store once)
        let counts = l2.calls("count")
        l2.fail(with: .busy)
        XCTAssertNil(try cache.get("a", mode: .mayBlock))
        XCTAssertTrue(cache.statistics().tiers[1].degraded)
        clock.advance(by: 5)
        XCTAssertNil(try cache.get("b", mode: .mayBlock))
        XCTAssertEqual(l2.calls("count"), counts + 1)
        XCTAssertNil(try cache.get("c", mode: .mayBlock))
        XCTAssertEqual(l2.calls("count"), counts + 1, "probed at most once per interval")
        XCTAssertThrowsError(try cache.size(of: .l2)) { error in
            XCTAssertEqual(error as? TieredCacheError, .unavailable("l2 is disabled"))
        }
        XCTAssertEqual(try cache.count(), 0, "falls back to L1")
    }

    func testLostWritesAreNeverServedAndAreRepaired() throws {
        let (l2, l3) = (TieredCacheTestStore(.l2), TieredCacheTestStore(.l3))
        let (cache, clock) = makeCache(l2: l2, l3: l3) { configuration in
            configuration.l1MaxEntries = 1
            configuration.tierFailureThreshold = 100
        }
        cache.put(entry("a", url: "http://old", clock: clock))
        cache.flushWrites()
        l2.fail(with: .full)
        cache.put(entry("a", url: "http://new", clock: clock))
        cache.put(entry("b", clock: clock))  // demotes a
        cache.flushWrites()
        XCTAssertEqual(l2.stored("a")?.proxyURL, "http://old", "the write was lost on L2")
        XCTAssertEqual(l3.stored("a")?.proxyURL, "http://new")

        // L2 still holds the stale copy, but it is never served.
        XCTAssertEqual(try cache.get("a", mode: .mayBlock)?.proxyURL, "http://new")
        XCTAssertEqual(cache.statistics().tiers[2].hits, 1)

        // Once L2 works again, its lost keys are rewritten from L1 or dropped (L2 is a cache of L3): never stale.
        l2.fail(with: nil)
        cache.put(entry("c", clock: clock))
        cache.flushWrites()
        cache.flushWrites()
        XCTAssertEqual(l2.stored("a")?.proxyURL, "http://new")
        XCTAssertEqual(l2.stored("c"), l3.stored("c"))
        // b's demotion was lost on L2 or committed after L2 recovered: dropped from L2, or L3's copy (but for the
        // demotion's flag, which goes to L2 alone).
        let demotedB = l2.stored("b").map { stored -> CacheEntry in
            var entry = stored
            entry.evictedFromL1 = false
            return entry
        }
        XCTAssertTrue(demotedB == nil || demotedB == l3.stored("b"))
        XCTAssertEqual(try cache.get("b", mode: .mayBlock)?.proxyURL, "http://b:8080")
    }

    func testDeletesLostWhileDisabledDoNotComeBack() throws {
        let (l2, l3) = (TieredCacheTestStore(.l2), TieredCacheTestStore(.l3))
        let (cache, clock) = makeCache(l2: l2, l3: l3) { configuration in
            configuration.l1MaxEntries = 1
            configuration.tierFailureThreshold = 1
            configuration.tierProbeInterval = 5
        }
        cache.put(entry("gone", clock: clock))
        cache.put(entry("other", clock: clock))
        cache.flushWrites()
        l2.fail(with: .readOnly)
        XCTAssertTrue(try cache.delete("gone", mode: .mayBlock))
        cache.flushWrites()
        XCTAssertTrue(cache.statistics().tiers[1].degraded)
        XCTAssertNotNil(l2.stored("gone"), "L2 missed the delete")

        l2.fail(with: nil)
        clock.advance(by: 5)
        XCTAssertNil(try cache.get("gone", mode: .mayBlock), "probe re-enables L2; the stale copy is masked")
        cache.flushWrites()
        XCTAssertFalse(cache.statistics().tiers[1].degraded)
        XCTAssertNil(l2.stored("gone"), "repaired: deleted")
    }

    func testCorruptTierIsMovedAsideOnce() throws {
        let l2 = TieredCacheTestStore(.l2)
        let (cache, clock) = makeCache(l2: l2)
        l2.seed(entry("x", clock: clock))
        l2.corruptNextRead()
        XCTAssertNil(try cache.get("x", mode: .mayBlock))
        XCTAssertEqual(l2.calls("recoverFromCorruption"), 1)
        let statistics = cache.statistics().tiers[1]
        XCTAssertEqual(statistics.recoveredCorruptFiles, 1)
        XCTAssertEqual(statistics.evictionsCorruption, 1)
        XCTAssertFalse(statistics.degraded)
        XCTAssertTrue(l2.keys.isEmpty, "the tier starts empty")
        cache.put(entry("y", clock: clock))
        cache.flushWrites()
        XCTAssertNotNil(l2.stored("y"))
    }

    func testRecoveryAtOpenIsCounted() {
        let l3 = TieredCacheTestStore(.l3)
        let (cache, _) = makeCache(l3: l3)
        cache.recordRecoveredCorruption(tier: .l3, movedTo: "/data/cachesrvd.db.corrupt-20260101T000000Z")
        cache.recordRecoveredCorruption(tier: .l2, movedTo: "/not/configured")
        let statistics = cache.statistics()
        XCTAssertEqual(statistics.tiers.map(\.recoveredCorruptFiles), [0, 0, 1])
        XCTAssertEqual(statistics.tiers.map(\.evictionsCorruption), [0, 0, 1])
    }

    func testDurabilityCallbacksFireAfterTheCommit() throws {
        let (l2, l3) = (TieredCacheTestStore(.l2), TieredCacheTestStore(.l3))
        let (cache, clock) = makeCache(l2: l2, l3: l3) { $0.fsync = .always }
        l2.block()
        cache.put(entry("a", clock: clock))
        let point = try XCTUnwrap(cache.durabilityPoint())
        XCTAssertEqual(Set(point.sequences.keys), [.l2, .l3])
        let fired = CallCounter()
        let durable = expectation(description: "durable")
        cache.whenDurable(point) { committed in
            XCTAssertTrue(committed)
            fired.record()
            durable.fulfill()
        }
        l2.waitUntilApplyIsBlocked()
        XCTAssertEqual(fired.count, 0, "L2 has not committed yet")
        l2.unblock()
        wait(for: [durable], timeout: 30)

        // A failed commit still releases the waiters (the write is lost on that tier and counted).
        l3.fail(with: .full)
        cache.put(entry("b", clock: clock))
        let failedPoint = try XCTUnwrap(cache.durabilityPoint())
        let released = expectation(description: "released")
        cache.whenDurable(failedPoint) { committed in
            XCTAssertFalse(committed, "L3 lost it: only L2, a bounded cache, holds it")
            released.fulfill()
        }
        wait(for: [released], timeout: 30)
        XCTAssertNil(l3.stored("b"))
        XCTAssertNotNil(l2.stored("b"))

        // Lost on every disk tier: not durable either.
        l2.fail(with: .full)
        cache.put(entry("c", clock: clock))
        let lostPoint = try XCTUnwrap(cache.durabilityPoint())
        let lost = expectation(description: "lost")
        cache.whenDurable(lostPoint) { committed in
            XCTAssertFalse(committed)
            lost.fulfill()
        }
        wait(for: [lost], timeout: 30)

        // Nothing to wait for: at once.
        let immediate = CallCounter()
        cache.whenDurable(DurabilityPoint(sequences: [:])) { _ in immediate.record() }
        XCTAssertEqual(immediate.count, 1)
    }
}

/// Counts calls from any thread.
final class CallCounter: @unchecked Sendable {
    // `calls` is guarded by `lock`.
    private let lock = NSLock()
    private var calls = 0

    func record() {
        lock.lock()
        calls += 1
        lock.unlock()
    }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return calls
    }
}

import Dispatch
import Foundation
import Tiers
import XCTest

/// FLUSHALL (`removeAll`) over disk tiers that fail, and against a read that runs while it clears them.
final class TieredCacheFlushAllTests: TieredCacheTestCase {
    override class var clockStart: Double { 5_000_000 }

    func testFlushAllRefusesWhileADiskTierIsDisabledAndClearsNothing() throws {
        let (l2, l3) = (TieredCacheTestStore(.l2), TieredCacheTestStore(.l3))
        let (cache, clock) = makeCache(l2: l2, l3: l3) { configuration in
            configuration.tierFailureThreshold = 1
            configuration.tierProbeInterval = 5
        }
        cache.put(entry("a", clock: clock))
        cache.put(entry("b", clock: clock))
        cache.flushWrites()
        l3.fail(with: .busy)
        XCTAssertNil(try cache.get("missing", mode: .mayBlock))
        XCTAssertTrue(cache.statistics().tiers[2].degraded)

        XCTAssertThrowsError(try cache.removeAll()) { error in
            guard case .unavailable(let message)? = error as? TieredCacheError else {
                return XCTFail("unexpected \(error)")
            }
            XCTAssertTrue(message.hasPrefix("disk tier l3 is disabled after failures"), message)
        }
        XCTAssertNotNil(try cache.get("a", mode: .memoryOnly), "L1 was not cleared")
        XCTAssertEqual(l2.keys, ["a", "b"], "L2 was not cleared")

        l3.fail(with: nil)
        clock.advance(by: 5)
        XCTAssertEqual(try cache.removeAll(), 2)
        cache.flushWrites()
        XCTAssertEqual(l2.keys, [])
        XCTAssertEqual(l3.keys, [])
        XCTAssertNil(try cache.get("a", mode: .mayBlock))
    }

    func testFlushAllThatFailsOnL3RemovesNothingFromDisk() throws {
        let (l2, l3) = (TieredCacheTestStore(.l2), TieredCacheTestStore(.l3))
        let (cache, clock) = makeCache(l2: l2, l3: l3)
        cache.put(entry("a", clock: clock))
        cache.flushWrites()
        l3.fail("removeAll", with: .busy)
        XCTAssertThrowsError(try cache.removeAll()) { error in
            guard case .unavailable(let message)? = error as? TieredCacheError else {
                return XCTFail("unexpected \(error)")
            }
            XCTAssertTrue(message.hasPrefix("disk tier l3 failed"), message)
        }
        XCTAssertEqual(l3.keys, ["a"])
        XCTAssertEqual(l2.keys, ["a"], "L2 stays in step with L3")
        XCTAssertEqual(try cache.get("a", mode: .mayBlock)?.proxyURL, "http://a:8080")
    }

    func testFlushAllThatFailsOnL2HidesL2UntilItIsEmptied() throws {
        let (l2, l3) = (TieredCacheTestStore(.l2), TieredCacheTestStore(.l3))
        let (cache, clock) = makeCache(l2: l2, l3: l3) { $0.l1MaxEntries = 1 }
        cache.put(entry("a", clock: clock))
        cache.flushWrites()
        l2.fail("removeAll", with: .io)
        XCTAssertEqual(try cache.removeAll(), 1, "L3, the tier that holds every key, was emptied")
        XCTAssertEqual(l2.keys, ["a"], "L2 failed to empty")
        XCTAssertNil(try cache.get("a", mode: .mayBlock), "its old entries are never served")

        l2.fail("removeAll", with: nil)
        cache.flushWrites()  // the writer empties L2 before the flush job
        XCTAssertEqual(l2.keys, [])

        // L2 serves again.
        cache.put(entry("b", clock: clock))
        cache.put(entry("c", clock: clock))  // demotes b
        cache.flushWrites()
        XCTAssertEqual(try cache.get("b", mode: .mayBlock)?.proxyURL, "http://b:8080")
        XCTAssertEqual(cache.statistics().tiers[1].hits, 1)
    }

    /// A read while FLUSHALL waits for L3 to be cleared must not bring an old entry back into L1 or L2.
    func testAReadDuringFlushAllDoesNotBringAnOldEntryBack() throws {
        let (l2, l3) = (TieredCacheTestStore(.l2), TieredCacheTestStore(.l3))
        let (cache, clock) = makeCache(l2: l2, l3: l3)
        l3.seed(entry("old", clock: clock))
        l3.block("removeAll")
        let removed = FlushResult()
        let done = expectation(description: "flushed")
        DispatchQueue.global().async {
            removed.set(try? cache.removeAll())
            done.fulfill()
        }
        l3.waitUntilBlocked(in: "removeAll")
        XCTAssertNil(try cache.get("old", mode: .mayBlock), "being flushed")
        l3.unblock("removeAll")
        wait(for: [done], timeout: 30)
        XCTAssertEqual(removed.value, 1)

        XCTAssertNil(try cache.get("old", mode: .mayBlock))
        cache.flushWrites()
        XCTAssertEqual(l2.keys, [])
        XCTAssertEqual(l3.keys, [])
    }
}

/// The result of a `removeAll` made on another thread.
///
/// `@unchecked Sendable`: `result` is guarded by `lock`.
private final class FlushResult: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Int?

    func set(_ value: Int?) {
        lock.lock()
        result = value
        lock.unlock()
    }

    var value: Int? {
        lock.lock()
        defer { lock.unlock() }
        return result
    }
}

import Logging
import Synchronization
import XCTest

@testable import Tiers

/// `DiskTier` on its own, over a `TieredCacheTestStore`: what a read answers (the queued write, then the write the
/// tier lost, then the store), what `whenCommitted` reports, and the figures it keeps.
final class DiskTierTests: XCTestCase {
    private var tiers: [DiskTier] = []

    override func tearDown() {
        for tier in tiers {
            tier.stop()
            tier.close()
        }
        tiers = []
        super.tearDown()
    }

    private let clock = ManualClock(start: 3_000_000)

    /// An L3 of one's own (no journal) over `store`, its writer started (`repair`: replay the lost write). Failures
    /// never disable it here: a slow machine must not turn a failed batch into a disabled tier.
    private func makeTier(_ store: TieredCacheTestStore, start: Bool = true) -> DiskTier {
        var configuration = TieredCache.Configuration()
        configuration.tierFailureThreshold = 1000
        let tier = DiskTier(
            tier: .l3,
            store: store,
            maxEntries: nil,
            isCache: false,
            journaled: false,
            configuration: configuration,
            clock: clock,
            logger: Logger(label: "test.disktier")
        )
        if start { tier.start { $0 } }
        tiers.append(tier)
        return tier
    }

    private func entry(_ key: String, _ url: String) -> CacheEntry {
        CacheEntry(key: key, proxyURL: url, now: clock.now(), ttlSeconds: 600)
    }

    private func url(_ lookup: DiskLookup) -> String? {
        if case .found(let entry, _) = lookup { return entry.proxyURL }
        return nil
    }

    func testAReadAnswersTheQueuedWriteBeforeTheStore() {
        let store = TieredCacheTestStore(.l3)
        store.seed(entry("a", "http://old:1"))
        // Not started: what is queued stays queued.
        let tier = makeTier(store, start: false)
        let now = clock.now()
        XCTAssertEqual(url(tier.read("a", now: now, counting: false)), "http://old:1")

        tier.enqueue(.put(entry("a", "http://new:2")))
        XCTAssertEqual(url(tier.read("a", now: now, counting: false)), "http://new:2")
        XCTAssertEqual(tier.queuedEntry("a")?.proxyURL, "http://new:2")
        XCTAssertEqual(tier.pendingCount, 1)
        XCTAssertTrue(tier.hasUncommittedWrite("a"))

        tier.enqueue(.delete(key: "a"))
        guard case .absent = tier.read("a", now: now, counting: false) else {
            return XCTFail("a queued delete hides the store's copy")
        }
        XCTAssertNil(tier.queuedEntry("a"), "a queued delete does not answer a read on its own")
        XCTAssertEqual(store.stored("a")?.proxyURL, "http://old:1", "nothing was committed")
    }

    func testAReadAnswersTheLostWriteOverTheStoresStaleCopy() {
        let store = TieredCacheTestStore(.l3)
        store.seed(entry("a", "http://old:1"))
        let tier = makeTier(store)
        store.fail("apply", with: .io)
        tier.enqueue(.put(entry("a", "http://new:2")))
        tier.flush()

        XCTAssertEqual(store.stored("a")?.proxyURL, "http://old:1", "the batch failed")
        XCTAssertFalse(tier.hasUncommittedWrite("b"))
        XCTAssertTrue(tier.hasUncommittedWrite("a"), "lost, it waits for its repair")
        XCTAssertEqual(url(tier.read("a", now: clock.now(), counting: false)), "http://new:2")

        store.fail("apply", with: nil)
        tier.enqueue(.put(entry("b", "http://b:3")))
        tier.flush()
        XCTAssertEqual(store.stored("b")?.proxyURL, "http://b:3")
        XCTAssertEqual(store.stored("a")?.proxyURL, "http://new:2", "repaired once the store took a batch")
        XCTAssertFalse(tier.hasUncommittedWrite("a"))
    }

    func testWhenCommittedSaysWhetherTheWritesReachedTheStore() {
        let store = TieredCacheTestStore(.l3)
        let tier = makeTier(store)

        store.fail("apply", with: .full)
        tier.enqueue(.put(entry("a", "http://a:1")))
        XCTAssertEqual(reportedOutcome(of: tier), false, "the batch failed")

        store.fail("apply", with: nil)
        tier.enqueue(.put(entry("b", "http://b:2")))
        XCTAssertEqual(reportedOutcome(of: tier), true, "the batch was committed")
    }

    /// What `whenCommitted` reports for every write queued so far (nil if it never does).
    private func reportedOutcome(of tier: DiskTier) -> Bool? {
        let outcome = Mutex<Bool?>(nil)
        let reported = expectation(description: "whenCommitted reported")
        tier.whenCommitted(through: tier.lastEnqueuedSequence) { committed in
            outcome.withLock { $0 = committed }
            reported.fulfill()
        }
        wait(for: [reported], timeout: 10)
        return outcome.withLock { $0 }
    }

    func testCountedReadsAndExpiriesReachTheFigures() {
        let store = TieredCacheTestStore(.l3)
        store.seed(entry("a", "http://a:1"))
        store.seed(CacheEntry(key: "old", proxyURL: "http://old:1", now: clock.now(), ttlSeconds: 1))
        let tier = makeTier(store)
        let now = clock.now()

        _ = tier.read("a", now: now, counting: true)
        _ = tier.read("missing", now: now, counting: true)
        _ = tier.read("missing", now: now, counting: false)
        guard case .expired(.l3) = tier.read("old", now: now + 5, counting: true) else {
            return XCTFail("an expired entry reads as expired")
        }
        tier.countTTLEviction()

        let figures = tier.figures
        XCTAssertEqual(figures.hits, 1)
        XCTAssertEqual(figures.misses, 1)
        XCTAssertEqual(figures.evictionsTTL, 1)
        XCTAssertEqual(tier.committedCount(), 2)
        XCTAssertEqual(tier.figures.size, 2)
    }
}

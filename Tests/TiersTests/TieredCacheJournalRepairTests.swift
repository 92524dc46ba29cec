import Foundation
import TierTestSupport
import Tiers
import XCTest

/// The journal after a disk tier lost writes: it keeps every segment while the tier lacks a journaled write, and
/// rotates again once the lost writes are repaired; a lost health record, which no repair brings back, keeps it
/// until the next start replays it.
final class TieredCacheJournalRepairTests: TieredCacheTestCase {
    override class var clockStart: Double { 5_000_000 }

    private var directory: SQLiteTestDirectory!

    override func setUp() {
        super.setUp()
        directory = SQLiteTestDirectory()
    }

    override func tearDown() {
        super.tearDown()
        directory.remove()
    }

    private func makeJournaledCache(l3: TieredCacheTestStore) throws -> (TieredCache, ManualClock) {
        let journal = try Journal(
            directory: directory.file("journal"),
            cipher: EntryFixtures.cipher(),
            fsync: .everysec,
            logger: SQLiteTestSupport.logger
        )
        return makeCache(l3: l3, journal: journal) { configuration in
            configuration.tierFailureThreshold = 1
            configuration.tierProbeInterval = 5
        }
    }

    /// L3 loses one batch while it fails; once it works again the writer repairs the lost key, and the commits
    /// after that record their journal sequence again. Before, the sequence stayed where the failure left it until
    /// a restart, and the journal kept every segment written meanwhile.
    func testTheJournalRotatesAgainOnceTheLostWritesAreRepaired() throws {
        let l3 = TieredCacheTestStore(.l3, recordsJournalSequence: true)
        let (cache, clock) = try makeJournaledCache(l3: l3)
        cache.put(entry("k1", clock: clock))
        cache.flushWrites()
        let first = l3.journalSequence
        XCTAssertGreaterThan(first, 0, "a commit records its journal sequence")

        l3.fail(with: .busy)
        cache.put(entry("k2", clock: clock))
        cache.flushWrites()
        XCTAssertTrue(cache.statistics().tiers[2].degraded)
        XCTAssertNil(l3.stored("k2"))

        l3.fail(with: nil)
        clock.advance(by: 5)
        cache.put(entry("k3", clock: clock))  // the probe re-enables L3, k2 is repaired, then k3 commits
        cache.flushWrites()
        XCTAssertEqual(l3.stored("k2")?.proxyURL, "http://k2:8080", "the lost write was repaired")
        XCTAssertEqual(l3.journalSequence, first, "the batch that found the tier repaired records nothing")

        cache.put(entry("k4", clock: clock))
        cache.flushWrites()
        let last = try XCTUnwrap(cache.journal?.lastAppendedSequence)
        XCTAssertEqual(l3.journalSequence, last, "the store holds every journaled write again")
    }

    /// A health record lost on L3 is not in the lost-write list (it is no key's last write): only the journal's
    /// replay at the next start brings it back, so the journal keeps its segments, repaired keys or not.
    func testALostHealthRecordKeepsTheJournalForTheNextStart() throws {
        let l3 = TieredCacheTestStore(.l3, recordsJournalSequence: true)
        let (cache, clock) = try makeJournaledCache(l3: l3)
        cache.put(entry("k1", clock: clock))
        cache.flushWrites()
        let first = l3.journalSequence

        l3.fail(with: .busy)
        _ = try cache.reportHealth("k1", HealthReport(ok: true, responseTimeMs: 5), mode: .memoryOnly)
        cache.flushWrites()
        XCTAssertTrue(cache.statistics().tiers[2].degraded)

        l3.fail(with: nil)
        clock.advance(by: 5)
        cache.put(entry("k2", clock: clock))
        cache.flushWrites()
        cache.put(entry("k3", clock: clock))
        cache.flushWrites()
        XCTAssertNotNil(l3.stored("k3"), "the tier works again")
        XCTAssertEqual(l3.journalSequence, first, "the journal still holds the lost health record")
    }
}

import Foundation
import Logging
import Tiers
import XCTest

/// The tiered cache over the real SQLite L2 and L3 stores, in a temporary directory: the contract between the
/// orchestrator and the stores, end to end (promotion, demotion, health history, durability, restart).
final class TieredCacheSQLiteTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "tiered-cache-sqlite-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func makeCipher() throws -> CredentialCipher {
        CredentialCipher(current: try FernetKey(bytes: Array(repeating: 7, count: 32)))
    }

    private func openCache(
        clock: ManualClock,
        fsync: FsyncPolicy = .everysec,
        l1MaxEntries: Int = 2
    ) throws -> TieredCache {
        let cipher = try makeCipher()
        let logger = Logger(label: "test")
        let l2 = try SQLiteStore(.l2(directory: directory + "/l2"), cipher: cipher, fsync: fsync, logger: logger)
        let l3 = try SQLiteStore(
            .l3(path: directory + "/db/cachesrvd.db"),
            cipher: cipher,
            fsync: fsync,
            logger: logger
        )
        var configuration = TieredCache.Configuration()
        configuration.l1MaxEntries = l1MaxEntries
        configuration.fsync = fsync
        return TieredCache(configuration: configuration, l2: l2, l3: l3, clock: clock, logger: logger)
    }

    private func entry(_ key: String, clock: ManualClock) -> CacheEntry {
        CacheEntry(
            key: key,
            proxyURL: "http://\(key).example:3128",
            username: "user-\(key)",
            password: "pass-\(key)",
            source: "test",
            now: clock.now(),
            ttlSeconds: 3600
        )
    }

    func testPromotionDemotionAndHistoryOverSQLite() throws {
        let clock = ManualClock(start: 1_764_038_400.25)
        let cache = try openCache(clock: clock)
        defer { cache.shutdown() }
        for key in ["a", "b", "c", "d"] { cache.put(entry(key, clock: clock)) }
        XCTAssertEqual(try cache.count(), 4)
        XCTAssertEqual(try cache.size(of: .l1), 2)
        XCTAssertEqual(cache.statistics().demotions, 2)

        let promoted = try XCTUnwrap(cache.get("a", mode: .mayBlock))
        XCTAssertEqual(promoted.password, "pass-a")
        XCTAssertEqual(promoted.accessCount, 1)
        XCTAssertFalse(promoted.evictedFromL1)
        XCTAssertEqual(cache.statistics().promotions, 1)

        XCTAssertEqual(
            try cache.reportHealth("a", HealthReport(ok: false, error: "timeout"), mode: .mayBlock),
            .updated(status: .unhealthy, failureCount: 1)
        )
        clock.advance(by: 30)
        XCTAssertEqual(
            try cache.reportHealth("a", HealthReport(ok: true, responseTimeMs: 80), mode: .mayBlock),
            .updated(status: .healthy, failureCount: 0)
        )
        let history = try cache.history("a", limit: 10)
        XCTAssertEqual(history.map(\.status), [.healthy, .unhealthy])
        XCTAssertEqual(history.last?.errorMessage, "timeout")

        XCTAssertEqual(Set(try cache.allKeys()), ["a", "b", "c", "d"])
        XCTAssertTrue(try cache.delete("b", mode: .mayBlock))
        XCTAssertEqual(try cache.count(), 3)
        XCTAssertEqual(cache.statistics().tiers.filter(\.degraded), [])
    }

    func testEntriesSurviveARestartWithTheirCredentials() throws {
        let clock = ManualClock(start: 1_764_038_400)
        let first = try openCache(clock: clock, fsync: .always)
        first.put(entry("kept", clock: clock))
        _ = try first.get("kept", mode: .memoryOnly)
        let point = try XCTUnwrap(first.durabilityPoint())
        let durable = expectation(description: "durable")
        first.whenDurable(point) { committed in
            XCTAssertTrue(committed)
            durable.fulfill()
        }
        wait(for: [durable], timeout: 30)
        first.shutdown()

        let second = try openCache(clock: clock)
        defer { second.shutdown() }
        XCTAssertThrowsError(try second.get("kept", mode: .memoryOnly))
        let restored = try XCTUnwrap(second.get("kept", mode: .mayBlock))
        XCTAssertEqual(restored.username, "user-kept")
        XCTAssertEqual(restored.password, "pass-kept")
        XCTAssertEqual(restored.accessCount, 2)
        XCTAssertEqual(restored.fetchTime, clock.now())
    }
}

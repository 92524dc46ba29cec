import TierTestSupport
import XCTest

@testable import Tiers

/// L3's own behaviour: created_at kept by upserts, the health history and its cascade.
final class SQLiteStoreL3Tests: XCTestCase {
    private var directory: SQLiteTestDirectory!
    private var path: String { directory.file("db/cachesrvd.db") }

    override func setUp() {
        directory = SQLiteTestDirectory()
    }

    override func tearDown() {
        directory.remove()
    }

    private func open(cipher: CredentialCipher = EntryFixtures.cipher()) throws -> SQLiteStore {
        try SQLiteStore(.l3(path: path), cipher: cipher, fsync: .no, logger: SQLiteTestSupport.logger)
    }

    private func historyRows(_ key: String? = nil) throws -> Int {
        let filter = key.map { " WHERE proxy_key = '\($0)'" } ?? ""
        return Int(try SQLiteTestSupport.rawQuery(path, "SELECT count(*) FROM health_history\(filter)")[0]!)!
    }

    private func check(_ time: Double, _ status: HealthStatus = .healthy) -> HealthCheckRecord {
        StoreContract.check(time, status)
    }

    func testUpsertKeepsCreatedAtAndRowid() throws {
        let store = try open()
        defer { store.close() }
        var entry = EntryFixtures.fullEntry("k")
        try store.apply([.put(EntryFixtures.plainEntry("first")), .put(entry)])
        let before = try SQLiteTestSupport.rawQuery(
            path,
            "SELECT rowid || ' ' || created_at || ' ' || updated_at FROM cache_entries WHERE key = 'k'"
        )[0]!.split(separator: " ").map { Double($0)! }
        XCTAssertGreaterThan(before[1], 1_600_000_000, "created_at is the wall clock")
        XCTAssertEqual(before[1], before[2])
        // Pin both to a known past time to see which the upsert moves.
        try SQLiteTestSupport.rawExecute(
            path,
            "UPDATE cache_entries SET created_at = 5, updated_at = 5 WHERE key = 'k'"
        )
        entry.accessCount += 1
        entry.password = "rotated"
        try store.apply([.put(entry)])
        let after = try SQLiteTestSupport.rawQuery(
            path,
            "SELECT rowid || ' ' || created_at || ' ' || updated_at FROM cache_entries WHERE key = 'k'"
        )[0]!.split(separator: " ").map { Double($0)! }
        XCTAssertEqual(after[0], before[0], "same rowid")
        XCTAssertEqual(after[1], 5, "created_at kept")
        XCTAssertGreaterThan(after[2], 1_600_000_000, "updated_at moved")
        XCTAssertEqual(try store.get("k"), entry)
    }

    func testHistoryIsNewestFirstLimitedAndTrimmedToKeep() throws {
        let store = try open()
        defer { store.close() }
        try StoreContract.checkHistory(store, label: "sqlite l3", rows: historyRows)

        // A record with no optional fields, and an out-of-order (older) check time.
        let bare = HealthCheckRecord(checkTime: 4.5, status: .unhealthy)
        try store.apply([.appendHealth(key: "p", record: bare, keep: 3)])
        XCTAssertEqual(try store.history("p", limit: 10), [check(6), check(5), bare])
    }

    func testHistoryForAMissingKeyIsSkippedSilently() throws {
        let store = try open()
        defer { store.close() }
        try store.apply([.appendHealth(key: "ghost", record: check(1), keep: 10)])
        XCTAssertEqual(try store.history("ghost", limit: 10), [])
        XCTAssertEqual(try historyRows(), 0)
        // Later writes of the same batch still apply.
        try store.apply([
            .appendHealth(key: "ghost", record: check(1), keep: 10), .put(EntryFixtures.plainEntry("z")),
        ])
        XCTAssertEqual(try store.count(), 1)
    }

    func testDeletingAnEntryCascadesToItsHistory() throws {
        let store = try open()
        defer { store.close() }
        let keys = ["del", "exp", "evict", "stay"]
        var writes: [StoreWrite] = keys.map { key in
            var entry = EntryFixtures.plainEntry(key, now: 0, ttl: key == "exp" ? 10 : nil)
            entry.lastAccessed = key == "evict" ? 1 : 50
            return .put(entry)
        }
        writes += keys.flatMap { key in
            (1...3).map { StoreWrite.appendHealth(key: key, record: check(Double($0)), keep: 10) }
        }
        try store.apply(writes)
        XCTAssertEqual(try historyRows(), 12)

        try store.apply([.delete(key: "del")])
        XCTAssertEqual(try historyRows("del"), 0, "delete cascades (foreign keys are on)")
        XCTAssertEqual(try store.removeExpired(now: 100), ["exp"])
        XCTAssertEqual(try historyRows("exp"), 0, "TTL removal cascades")
        XCTAssertEqual(try store.evict(toAtMost: 1, policy: .lru), ["evict"])
        XCTAssertEqual(try historyRows("evict"), 0, "eviction cascades")
        XCTAssertEqual(try historyRows("stay"), 3)
        XCTAssertEqual(try store.removeAll(), 1)
        XCTAssertEqual(try historyRows(), 0)
    }

    func testIndexesAndVersionOfANewFile() throws {
        let store = try open()
        store.close()
        let indexes = try SQLiteTestSupport.rawQuery(
            path,
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_%' ORDER BY name"
        )
        XCTAssertEqual(
            indexes,
            [
                "idx_expires_at", "idx_health_history_proxy", "idx_health_history_time", "idx_health_status",
                "idx_last_accessed", "idx_source",
            ]
        )
        XCTAssertEqual(try SQLiteTestSupport.rawQuery(path, "PRAGMA user_version"), ["\(SQLiteSchema.currentVersion)"])
        XCTAssertEqual(try SQLiteTestSupport.rawQuery(path, "PRAGMA journal_mode"), ["wal"])
        XCTAssertEqual(
            try SQLiteTestSupport.rawQuery(
                path,
                "SELECT \"table\" || ' ' || on_delete FROM pragma_foreign_key_list('health_history')"
            ),
            ["cache_entries CASCADE"]
        )
    }
}

import TierTestSupport
import XCTest

@testable import Tiers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// L2's own behaviour: its file and directory, its indexes, no history.
final class SQLiteStoreL2Tests: XCTestCase {
    private var directory: SQLiteTestDirectory!

    override func setUp() {
        directory = SQLiteTestDirectory()
    }

    override func tearDown() {
        directory.remove()
    }

    private func mode(of path: String) -> mode_t {
        var info = stat()
        XCTAssertEqual(stat(path, &info), 0, path)
        return info.st_mode & 0o777
    }

    func testCreatesPrivateDirectoryAndFile() throws {
        let l2 = directory.file("nested/cache/proxies")
        let store = try SQLiteStore(
            .l2(directory: l2),
            cipher: EntryFixtures.cipher(),
            fsync: .everysec,
            logger: SQLiteTestSupport.logger
        )
        defer { store.close() }
        XCTAssertEqual(store.path, l2 + "/l2_cache.db")
        XCTAssertEqual(SQLiteStore.Configuration.l2(directory: "/x/").path, "/x/l2_cache.db")
        XCTAssertEqual(mode(of: l2), 0o700)
        XCTAssertEqual(mode(of: directory.file("nested")), 0o700)
        XCTAssertEqual(mode(of: store.path), 0o600, "credential tokens are not world-readable")
        try store.apply([.put(EntryFixtures.plainEntry("k"))])
        XCTAssertEqual(mode(of: store.path + "-wal"), 0o600)
        XCTAssertEqual(SQLiteTestSupport.listDirectory(l2), ["l2_cache.db", "l2_cache.db-shm", "l2_cache.db-wal"])
    }

    func testSchemaOfANewFile() throws {
        let store = try SQLiteStore(
            .l2(directory: directory.path),
            cipher: EntryFixtures.cipher(),
            fsync: .no,
            logger: SQLiteTestSupport.logger
        )
        store.close()
        let path = SQLiteStore.Configuration.l2(directory: directory.path).path
        XCTAssertEqual(
            try SQLiteTestSupport.rawQuery(path, "SELECT name FROM pragma_table_info('l2_cache')"),
            [
                "key", "proxy_url", "username_encrypted", "password_encrypted", "source", "fetch_time", "last_accessed",
                "access_count", "ttl_seconds", "expires_at", "health_status", "failure_count", "evicted_from_l1",
                "last_health_check", "consecutive_health_failures", "consecutive_health_successes", "recovery_attempt",
                "next_check_time", "last_health_error", "total_health_checks", "total_health_check_failures",
                "proxy_url_encrypted", "custom_fields",
            ]
        )
        XCTAssertEqual(
            try SQLiteTestSupport.rawQuery(
                path,
                "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_%' ORDER BY name"
            ),
            ["idx_l2_expires_at", "idx_l2_last_accessed", "idx_l2_source"]
        )
        // The queries that must be fast use the indexes, not a scan of the table.
        try assertPlan(
            path,
            "DELETE FROM l2_cache WHERE expires_at IS NOT NULL AND expires_at <= 5",
            uses: "idx_l2_expires_at"
        )
        try assertPlan(
            path,
            "SELECT rowid FROM l2_cache ORDER BY last_accessed, rowid LIMIT 3",
            uses: "idx_l2_last_accessed"
        )
        try assertPlan(path, "SELECT key FROM l2_cache WHERE key = 'x'", uses: "sqlite_autoindex_l2_cache_1")
    }

    private func assertPlan(_ path: String, _ sql: String, uses index: String, line: UInt = #line) throws {
        let db = try SQLiteDatabase(path: path, readOnly: true)
        defer { db.close() }
        let statement = try db.prepare("EXPLAIN QUERY PLAN \(sql)")
        defer { statement.finalize() }
        var details: [String] = []
        while try statement.step() {
            details.append(statement.text(3))
        }
        XCTAssertTrue(details.contains { $0.contains(index) }, "\(details)", line: line)
    }

    func testHistoryIsNotKept() throws {
        let store = try SQLiteStore(
            .l2(directory: directory.path),
            cipher: EntryFixtures.cipher(),
            fsync: .no,
            logger: SQLiteTestSupport.logger
        )
        defer { store.close() }
        try store.apply([
            .put(EntryFixtures.plainEntry("h")),
            .appendHealth(key: "h", record: HealthCheckRecord(checkTime: 1, status: .healthy), keep: 10),
        ])
        XCTAssertEqual(try store.history("h", limit: 10), [])
        XCTAssertEqual(try store.count(), 1)
    }
}

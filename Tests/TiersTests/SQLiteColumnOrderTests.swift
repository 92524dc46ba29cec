import TierTestSupport
import XCTest

@testable import Tiers

/// The entry tables have proxywhirl's columns first, in proxywhirl's order (it reads `SELECT *` by position), and an
/// L3 file of schema version 3, whose `cache_entries` had another order, is rebuilt in that order on open.
final class SQLiteColumnOrderTests: XCTestCase {
    private var directory: SQLiteTestDirectory!

    override func setUp() {
        directory = SQLiteTestDirectory()
    }

    override func tearDown() {
        directory.remove()
    }

    /// proxywhirl 0.3.3's `cache_entries` (tiers.py, `SQLiteCacheTier._init_db` and the list `get` zips a row with).
    private static let proxywhirlL3 = [
        "key", "proxy_url", "username_encrypted", "password_encrypted", "source", "fetch_time", "last_accessed",
        "access_count", "ttl_seconds", "expires_at", "health_status", "failure_count", "created_at", "updated_at",
        "last_health_check", "consecutive_health_failures", "consecutive_health_successes", "recovery_attempt",
        "next_check_time", "last_health_error", "total_health_checks", "total_health_check_failures",
        "evicted_from_l1",
    ]

    /// proxywhirl 0.3.3's `l2_cache` (tiers.py, `DiskCacheTier._init_db` and its `get`).
    private static let proxywhirlL2 = [
        "key", "proxy_url", "username_encrypted", "password_encrypted", "source", "fetch_time", "last_accessed",
        "access_count", "ttl_seconds", "expires_at", "health_status", "failure_count", "evicted_from_l1",
    ]

    /// `cache_entries` and `health_history` as schema version 3 created them (columns in `EntryRow`'s order, then
    /// the timestamps), with the journal table the store adds and the indexes.
    private static let version3 = """
        CREATE TABLE cache_entries (
            key TEXT PRIMARY KEY, proxy_url TEXT NOT NULL, username_encrypted BLOB, password_encrypted BLOB,
            source TEXT NOT NULL DEFAULT 'unknown', fetch_time REAL NOT NULL, last_accessed REAL NOT NULL,
            access_count INTEGER DEFAULT 0, ttl_seconds INTEGER NOT NULL DEFAULT 0, expires_at REAL,
            health_status TEXT DEFAULT 'unknown', failure_count INTEGER DEFAULT 0, evicted_from_l1 INTEGER DEFAULT 0,
            last_health_check REAL, consecutive_health_failures INTEGER DEFAULT 0,
            consecutive_health_successes INTEGER DEFAULT 0, recovery_attempt INTEGER DEFAULT 0, next_check_time REAL,
            last_health_error TEXT, total_health_checks INTEGER DEFAULT 0, total_health_check_failures INTEGER DEFAULT 0,
            proxy_url_encrypted BLOB, custom_fields TEXT,
            created_at REAL NOT NULL DEFAULT 0, updated_at REAL NOT NULL DEFAULT 0
        );
        CREATE TABLE health_history (
            id INTEGER PRIMARY KEY AUTOINCREMENT, proxy_key TEXT NOT NULL, check_time REAL NOT NULL,
            status TEXT NOT NULL DEFAULT 'unknown', response_time_ms REAL, error_message TEXT, check_url TEXT,
            FOREIGN KEY (proxy_key) REFERENCES cache_entries(key) ON DELETE CASCADE
        );
        CREATE INDEX idx_expires_at ON cache_entries(expires_at);
        CREATE INDEX idx_source ON cache_entries(source);
        CREATE INDEX idx_health_status ON cache_entries(health_status);
        CREATE INDEX idx_last_accessed ON cache_entries(last_accessed);
        CREATE INDEX idx_health_history_proxy ON health_history(proxy_key);
        CREATE INDEX idx_health_history_time ON health_history(check_time);
        CREATE TABLE cachesrvd_journal (id INTEGER PRIMARY KEY CHECK (id = 1), applied INTEGER NOT NULL);
        INSERT INTO cachesrvd_journal (id, applied) VALUES (1, 4242);
        PRAGMA journal_mode = WAL;
        PRAGMA user_version = 3;
        """

    private func columnNames(_ path: String, _ table: String) throws -> [String] {
        try SQLiteTestSupport.rawQuery(path, "SELECT name FROM pragma_table_info('\(table)') ORDER BY cid").map { $0! }
    }

    func testNewFilesStartWithProxywhirlsColumnsInItsOrder() throws {
        let cipher = EntryFixtures.cipher()
        let l3Path = directory.file("cachesrvd.db")
        let l3 = try SQLiteStore(.l3(path: l3Path), cipher: cipher, fsync: .no, logger: SQLiteTestSupport.logger)
        l3.close()
        let l3Columns = try columnNames(l3Path, "cache_entries")
        XCTAssertEqual(Array(l3Columns.prefix(Self.proxywhirlL3.count)), Self.proxywhirlL3)
        XCTAssertEqual(Array(l3Columns.dropFirst(Self.proxywhirlL3.count)), ["proxy_url_encrypted", "custom_fields"])

        let l2Directory = directory.file("proxies")
        let l2 = try SQLiteStore(
            .l2(directory: l2Directory),
            cipher: cipher,
            fsync: .no,
            logger: SQLiteTestSupport.logger
        )
        l2.close()
        let l2Columns = try columnNames(SQLiteStore.Configuration.l2(directory: l2Directory).path, "l2_cache")
        XCTAssertEqual(Array(l2Columns.prefix(Self.proxywhirlL2.count)), Self.proxywhirlL2)
        XCTAssertEqual(l2Columns.count, SQLiteSchema.entryColumns.count, "every column EntryRow reads")
    }

    func testVersion3FileIsRebuiltInTheNewOrderKeepingRowsHistoryAndIndexes() throws {
        let cipher = EntryFixtures.cipher()
        let path = directory.file("cachesrvd.db")
        try SQLiteTestSupport.rawExecute(path, Self.version3)
        // Rows written as version 3 wrote them: the same named-column upsert, at rowids with a gap.
        let full = EntryFixtures.fullEntry("full")
        var sealed = EntryFixtures.plainEntry("sealed", ttl: 600)
        sealed.proxyURL = "http://bob:url-secret@10.0.0.9:3128"
        let plain = EntryFixtures.plainEntry("plain")
        try writeVersion3Rows(path, [(5, full), (9, sealed), (30, plain)], cipher: cipher)
        let before = try SQLiteTestSupport.rawQuery(
            path,
            "SELECT rowid || ' ' || key || ' ' || created_at || ' ' || updated_at FROM cache_entries ORDER BY rowid"
        )

        let store = try SQLiteStore(.l3(path: path), cipher: cipher, fsync: .no, logger: SQLiteTestSupport.logger)
        XCTAssertEqual(try columnNames(path, "cache_entries"), SQLiteSchema.l3ColumnOrder)
        XCTAssertEqual(try SQLiteTestSupport.rawQuery(path, "PRAGMA user_version"), ["\(SQLiteSchema.currentVersion)"])
        XCTAssertEqual(try store.get("full"), full)
        XCTAssertEqual(try store.get("sealed"), sealed)
        XCTAssertEqual(try store.get("plain"), plain)
        XCTAssertEqual(try store.count(), 3)
        XCTAssertEqual(
            try SQLiteTestSupport.rawQuery(
                path,
                "SELECT rowid || ' ' || key || ' ' || created_at || ' ' || updated_at FROM cache_entries ORDER BY rowid"
            ),
            before,
            "rowids (scan cursors, FIFO order) and timestamps kept"
        )
        XCTAssertEqual(try store.scanKeys(cursor: 5, limit: 10).keys, ["sealed", "plain"])
        XCTAssertEqual(
            try store.history("full", limit: 10),
            [
                HealthCheckRecord(checkTime: 20, status: .unhealthy, errorMessage: "refused", checkURL: "http://check"),
                HealthCheckRecord(checkTime: 10, status: .healthy, responseTimeMs: 12.5, checkURL: nil),
            ]
        )
        XCTAssertEqual(try store.history("plain", limit: 10).map(\.checkTime), [15])
        XCTAssertEqual(try store.appliedJournalSequence(), 4242, "the journal table is kept")
        XCTAssertEqual(
            try SQLiteTestSupport.rawQuery(path, "SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name"),
            [
                "idx_expires_at", "idx_health_history_proxy", "idx_health_history_time", "idx_health_status",
                "idx_last_accessed", "idx_source", "sqlite_autoindex_cache_entries_1",
            ]
        )
        XCTAssertEqual(
            try SQLiteTestSupport.rawQuery(path, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%_migrating'"),
            ["0"]
        )
        XCTAssertEqual(try SQLiteTestSupport.rawQuery(path, "PRAGMA foreign_key_check"), [])
        XCTAssertEqual(try SQLiteTestSupport.rawQuery(path, "PRAGMA integrity_check"), ["ok"])

        // The foreign key still cascades from the rebuilt table, and the store writes into the new order.
        try store.apply([.delete(key: "full"), .put(EntryFixtures.fullEntry("after"))])
        XCTAssertEqual(try SQLiteTestSupport.rawQuery(path, "SELECT proxy_key FROM health_history"), ["plain"])
        XCTAssertEqual(try store.get("after"), EntryFixtures.fullEntry("after"))
        store.close()

        // Opened again: current, nothing rebuilt, nothing lost.
        let db = try SQLiteDatabase(path: path, readOnly: false)
        defer { db.close() }
        XCTAssertNil(try SQLiteSchema.l3.migrate(db, cipher: cipher))
        XCTAssertEqual(try SQLiteTestSupport.rawQuery(path, "SELECT count(*) FROM cache_entries"), ["3"])
    }

    func testMigrationReportsTheRebuildAndLeavesAnInOrderL2Alone() throws {
        let cipher = EntryFixtures.cipher()
        let l3Path = directory.file("cachesrvd.db")
        try SQLiteTestSupport.rawExecute(l3Path, Self.version3)
        let l3 = try SQLiteDatabase(path: l3Path, readOnly: false)
        defer { l3.close() }
        let report = try XCTUnwrap(try SQLiteSchema.l3.migrate(l3, cipher: cipher))
        XCTAssertEqual(report.fromVersion, 3)
        XCTAssertEqual(report.toVersion, SQLiteSchema.currentVersion)
        XCTAssertEqual(report.rebuilt, ["cache_entries"], "health_history's order was already right")
        XCTAssertEqual(report.addedColumns, [])

        // A version 3 L2 is already in proxywhirl's order: only the version moves.
        let l2Path = directory.file("l2_cache.db")
        let created = try SQLiteDatabase(path: l2Path, readOnly: false)
        defer { created.close() }
        _ = try SQLiteSchema.l2.migrate(created, cipher: cipher)
        try created.execute("PRAGMA user_version = 3")
        let l2Report = try XCTUnwrap(try SQLiteSchema.l2.migrate(created, cipher: cipher))
        XCTAssertEqual(l2Report.rebuilt, [])
        XCTAssertEqual(l2Report.addedColumns, [])
        XCTAssertEqual(try created.pragmaInteger("user_version"), SQLiteSchema.currentVersion)
    }

    func testAnL2WithItsLeadingColumnsOutOfOrderIsRebuilt() throws {
        let path = directory.file("l2_cache.db")
        try SQLiteTestSupport.rawExecute(
            path,
            """
            CREATE TABLE l2_cache (key TEXT PRIMARY KEY, source TEXT NOT NULL, proxy_url TEXT NOT NULL,
                fetch_time REAL NOT NULL, last_accessed REAL NOT NULL, ttl_seconds INTEGER NOT NULL, expires_at REAL);
            INSERT INTO l2_cache (rowid, key, proxy_url, source, fetch_time, last_accessed, ttl_seconds, expires_at)
            VALUES (7, 'k', 'http://p', 'src', 1, 2, 0, NULL);
            """
        )
        let db = try SQLiteDatabase(path: path, readOnly: false)
        defer { db.close() }
        let report = try XCTUnwrap(try SQLiteSchema.l2.migrate(db, cipher: EntryFixtures.cipher()))
        XCTAssertEqual(report.rebuilt, ["l2_cache"])
        XCTAssertEqual(try columnNames(path, "l2_cache"), SQLiteSchema.entryColumns.map(\.name))
        XCTAssertEqual(
            try SQLiteTestSupport.rawQuery(
                path,
                "SELECT rowid || ' ' || key || ' ' || proxy_url || ' ' || source FROM l2_cache"
            ),
            ["7 k http://p src"]
        )
    }

    func testSalvageKnowsTheOldAndNewL3Orders() {
        let layouts = SQLiteSchema.l3.entryLayouts
        XCTAssertEqual(layouts.first, SQLiteSchema.l3ColumnOrder, "the current order first")
        XCTAssertTrue(layouts.contains(SQLiteSchema.legacyL3ColumnOrder), "version 3's order")
        for layout in layouts {
            XCTAssertEqual(Set(layout), Set(SQLiteSchema.l3ColumnOrder), "\(layout)")
        }
        XCTAssertEqual(SQLiteSchema.l3.entries.columns.map(\.name), SQLiteSchema.l3ColumnOrder, "no name lost")
    }

    /// A version 3 file whose schema page is destroyed: salvage reads its rows from the pages in version 3's order
    /// (the current order does not fit them), and the new file has the current order.
    func testSalvageOfADamagedVersion3FileReadsItsRowsInTheOldOrder() throws {
        let cipher = EntryFixtures.cipher()
        let path = directory.file("cachesrvd.db")
        try SQLiteTestSupport.rawExecute(path, Self.version3)
        var entries = (0..<40).map { EntryFixtures.fullEntry("full\($0)") }
        entries += (0..<40).map { EntryFixtures.plainEntry("plain\($0)", ttl: $0 % 2 == 0 ? nil : 60) }
        try writeVersion3Rows(path, entries.enumerated().map { ($0.offset + 1, $0.element) }, cipher: cipher)
        XCTAssertFalse(SQLiteTestSupport.fileExists(path + "-wal"), "checkpointed into the file when closed")
        var bytes = SQLiteTestSupport.bytes(of: path)
        for index in 0..<4096 { bytes[index] = 0xA5 }
        SQLiteTestSupport.write(bytes, to: path)

        let opened = try SQLiteStore.openRecoveringCorruption(
            .l3(path: path),
            cipher: cipher,
            fsync: .no,
            logger: SQLiteTestSupport.logger
        )
        defer { opened.store.close() }
        XCTAssertEqual(opened.salvage?.sqlReadable, false)
        XCTAssertEqual(opened.salvage?.salvagedEntries, entries.count)
        for entry in entries {
            XCTAssertEqual(try opened.store.get(entry.key), entry, entry.key)
        }
        XCTAssertEqual(try columnNames(path, "cache_entries"), SQLiteSchema.l3ColumnOrder)
    }

    /// Inserts `rows` at their rowids with version 3's statements, and some health checks.
    private func writeVersion3Rows(_ path: String, _ rows: [(Int, CacheEntry)], cipher: CredentialCipher) throws {
        let queries = SQLiteQueries(schema: .l3)
        let db = try SQLiteDatabase(path: path, readOnly: false)
        defer { db.close() }
        try db.execute("PRAGMA foreign_keys = ON")
        for (rowid, entry) in rows {
            // Reserve the rowid, then let the upsert fill the row as version 3 did.
            try db.execute(
                "INSERT INTO cache_entries (rowid, key, proxy_url, fetch_time, last_accessed, created_at) "
                    + "VALUES (\(rowid), '\(entry.key)', '', 0, 0, \(111.5 + Double(rowid)))"
            )
            let upsert = try db.prepare(queries.upsert)
            defer { upsert.finalize() }
            EntryRow.bind(entry, to: upsert, cipher: cipher)
            upsert.bind(EntryRow.columnCount + 1, 1_700_000_123.5 + Double(rowid))
            try upsert.run()
        }
        guard rows.contains(where: { $0.1.key == "full" }) else { return }
        try db.execute(
            """
            INSERT INTO health_history (proxy_key, check_time, status, response_time_ms, error_message, check_url)
            VALUES ('full', 10, 'healthy', 12.5, NULL, NULL),
                   ('full', 20, 'unhealthy', NULL, 'refused', 'http://check'),
                   ('plain', 15, 'healthy', NULL, NULL, NULL);
            """
        )
    }
}

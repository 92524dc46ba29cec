import BinaryText
import TierTestSupport
import XCTest

@testable import Tiers

/// Files made by proxywhirl (or an older schema) open and are upgraded in place.
final class SQLiteSchemaMigrationTests: XCTestCase {
    private var directory: SQLiteTestDirectory!

    override func setUp() {
        directory = SQLiteTestDirectory()
    }

    override func tearDown() {
        directory.remove()
    }

    /// proxywhirl's SQLite L2 table as its DiskCacheTier creates it (no health columns, NOT NULL expiry).
    private static let proxywhirlL2 = """
        CREATE TABLE l2_cache (key TEXT PRIMARY KEY, proxy_url TEXT NOT NULL, username_encrypted BLOB,
            password_encrypted BLOB, source TEXT NOT NULL, fetch_time REAL NOT NULL, last_accessed REAL NOT NULL,
            access_count INTEGER DEFAULT 0, ttl_seconds INTEGER NOT NULL, expires_at REAL NOT NULL,
            health_status TEXT DEFAULT 'unknown', failure_count INTEGER DEFAULT 0, evicted_from_l1 INTEGER DEFAULT 0);
        CREATE INDEX idx_l2_expires_at ON l2_cache(expires_at);
        CREATE INDEX idx_l2_source ON l2_cache(source);
        PRAGMA journal_mode=WAL;
        """

    /// An early proxywhirl L3 file: before the health-monitoring columns and `evicted_from_l1`.
    private static let proxywhirlL3 = """
        CREATE TABLE cache_entries (key TEXT PRIMARY KEY, proxy_url TEXT NOT NULL, username_encrypted BLOB,
            password_encrypted BLOB, source TEXT NOT NULL, fetch_time REAL NOT NULL, last_accessed REAL NOT NULL,
            access_count INTEGER DEFAULT 0, ttl_seconds INTEGER NOT NULL, expires_at REAL NOT NULL,
            health_status TEXT DEFAULT 'unknown', failure_count INTEGER DEFAULT 0,
            created_at REAL NOT NULL, updated_at REAL NOT NULL);
        CREATE TABLE health_history (id INTEGER PRIMARY KEY AUTOINCREMENT, proxy_key TEXT NOT NULL,
            check_time REAL NOT NULL, status TEXT NOT NULL, response_time_ms REAL, error_message TEXT,
            check_url TEXT NOT NULL, FOREIGN KEY (proxy_key) REFERENCES cache_entries(key) ON DELETE CASCADE);
        CREATE INDEX idx_expires_at ON cache_entries(expires_at);
        CREATE INDEX idx_health_history_proxy ON health_history(proxy_key);
        """

    /// Inserts proxywhirl-style rows: times as REAL epoch seconds, the password as Fernet token bytes.
    private func insertProxywhirlRows(_ path: String, table: String, timestamps: Bool, cipher: CredentialCipher) throws
    {
        let db = try SQLiteDatabase(path: path, readOnly: false)
        defer { db.close() }
        let extra = timestamps ? ", created_at, updated_at" : ""
        let values = timestamps ? ", 111.5, 222.5" : ""
        // Rowids 10 and 20: a rebuild must keep them (scan cursors, FIFO order).
        let statement = try db.prepare(
            """
            INSERT INTO \(table) (rowid, key, proxy_url, username_encrypted, password_encrypted, source, fetch_time,
                last_accessed, access_count, ttl_seconds, expires_at, health_status, failure_count\(extra))
            VALUES (?1, ?2, ?3, ?4, ?5, 'free-list', 1000.25, 1500.5, 3, 3600, 4600.25, 'healthy', 1\(values))
            """
        )
        defer { statement.finalize() }
        for (rowid, key) in [(10, "aaaa"), (20, "bbbb")] {
            statement.reset()
            statement.bind(1, rowid)
            statement.bind(2, key)
            statement.bind(3, "http://1.2.3.4:80\(rowid)")
            statement.bindBlob(4, key == "aaaa" ? Array(cipher.encrypt("alice").utf8) : nil)
            statement.bindBlob(5, key == "aaaa" ? Array(cipher.encrypt("pw-of-alice").utf8) : nil)
            try statement.run()
        }
    }

    private func expectedProxywhirlEntry(_ key: String, rowid: Int) -> CacheEntry {
        var entry = CacheEntry(
            key: key,
            proxyURL: "http://1.2.3.4:80\(rowid)",
            source: "free-list",
            now: 1000.25,
            ttlSeconds: 3600
        )
        entry.username = key == "aaaa" ? "alice" : nil
        entry.password = key == "aaaa" ? "pw-of-alice" : nil
        entry.lastAccessed = 1500.5
        entry.accessCount = 3
        entry.healthStatus = .healthy
        entry.failureCount = 1
        return entry
    }

    private func columns(_ path: String, _ table: String) throws -> [String] {
        try SQLiteTestSupport.rawQuery(path, "SELECT name || ':' || \"notnull\" FROM pragma_table_info('\(table)')").map
        { $0! }
    }

    func testProxywhirlL2FileIsUpgraded() throws {
        let cipher = EntryFixtures.cipher()
        let l2 = directory.file("proxies")
        try SQLiteFiles.ensureDirectory(l2)
        let path = SQLiteStore.Configuration.l2(directory: l2).path
        try SQLiteTestSupport.rawExecute(path, Self.proxywhirlL2)
        try insertProxywhirlRows(path, table: "l2_cache", timestamps: false, cipher: cipher)

        let store = try SQLiteStore(.l2(directory: l2), cipher: cipher, fsync: .no, logger: SQLiteTestSupport.logger)
        XCTAssertEqual(try store.get("aaaa"), expectedProxywhirlEntry("aaaa", rowid: 10))
        XCTAssertEqual(try store.get("bbbb"), expectedProxywhirlEntry("bbbb", rowid: 20))
        XCTAssertEqual(try store.scanKeys(cursor: 10, limit: 5).keys, ["bbbb"], "rowids kept")
        // What proxywhirl's schema refused: an entry that never expires, and the health fields.
        try store.apply([.put(EntryFixtures.plainEntry("persisted")), .put(EntryFixtures.fullEntry("full"))])
        XCTAssertEqual(try store.get("persisted")?.expiresAt, nil)
        XCTAssertEqual(try store.get("full"), EntryFixtures.fullEntry("full"))
        store.close()

        let columns = try columns(path, "l2_cache")
        XCTAssertTrue(columns.contains("expires_at:0"), "\(columns)")
        for name in ["last_health_check", "next_check_time", "last_health_error", "total_health_check_failures"] {
            XCTAssertTrue(columns.contains { $0.hasPrefix(name + ":") }, "\(name) in \(columns)")
        }
        XCTAssertEqual(try SQLiteTestSupport.rawQuery(path, "PRAGMA user_version"), ["\(SQLiteSchema.currentVersion)"])
        XCTAssertEqual(
            try SQLiteTestSupport.rawQuery(path, "SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name"),
            ["idx_l2_expires_at", "idx_l2_last_accessed", "idx_l2_source", "sqlite_autoindex_l2_cache_1"]
        )
        // Opening again does no schema work and keeps the data.
        let reopened = try SQLiteStore(.l2(directory: l2), cipher: cipher, fsync: .no, logger: SQLiteTestSupport.logger)
        XCTAssertEqual(try reopened.count(), 4)
        reopened.close()
    }

    func testProxywhirlL3FileIsUpgradedAndItsOrphanHistoryDropped() throws {
        let cipher = EntryFixtures.cipher()
        let path = directory.file("proxywhirl.db")
        try SQLiteTestSupport.rawExecute(path, Self.proxywhirlL3)
        try insertProxywhirlRows(path, table: "cache_entries", timestamps: true, cipher: cipher)
        try SQLiteTestSupport.rawExecute(
            path,
            """
            INSERT INTO health_history (proxy_key, check_time, status, response_time_ms, error_message, check_url)
            VALUES ('aaaa', 10, 'healthy', 12.5, NULL, 'http://check'),
                   ('aaaa', 20, 'unhealthy', NULL, 'refused', 'http://check'),
                   ('deleted-long-ago', 5, 'dead', NULL, NULL, 'http://check');
            """
        )

        let store = try SQLiteStore(.l3(path: path), cipher: cipher, fsync: .no, logger: SQLiteTestSupport.logger)
        defer { store.close() }
        XCTAssertEqual(try store.get("aaaa"), expectedProxywhirlEntry("aaaa", rowid: 10))
        XCTAssertEqual(
            try store.history("aaaa", limit: 10),
            [
                HealthCheckRecord(checkTime: 20, status: .unhealthy, errorMessage: "refused", checkURL: "http://check"),
                HealthCheckRecord(checkTime: 10, status: .healthy, responseTimeMs: 12.5, checkURL: "http://check"),
            ]
        )
        XCTAssertEqual(
            try SQLiteTestSupport.rawQuery(path, "SELECT count(*) FROM health_history"),
            ["2"],
            "orphan gone"
        )
        XCTAssertEqual(
            try SQLiteTestSupport.rawQuery(path, "SELECT created_at FROM cache_entries WHERE key = 'aaaa'"),
            ["111.5"]
        )
        // NULL expiry and a check with no URL now fit; the cascade works on the upgraded tables.
        try store.apply([
            .put(EntryFixtures.plainEntry("persisted")),
            .appendHealth(key: "persisted", record: HealthCheckRecord(checkTime: 1, status: .healthy), keep: 5),
            .delete(key: "aaaa"),
        ])
        XCTAssertEqual(try store.history("persisted", limit: 5).count, 1)
        XCTAssertEqual(try SQLiteTestSupport.rawQuery(path, "SELECT count(*) FROM health_history"), ["1"])
        XCTAssertTrue(try columns(path, "health_history").contains("check_url:0"))
        XCTAssertTrue(try columns(path, "cache_entries").contains("evicted_from_l1:0"))
        XCTAssertEqual(try SQLiteTestSupport.rawQuery(path, "PRAGMA user_version"), ["\(SQLiteSchema.currentVersion)"])
    }

    /// Keys written as text before keys became bytes (here by proxywhirl) are rewritten into the form a client's
    /// bytes map to, with their history, so the same bytes reach them; plain keys stay as they were.
    func testOlderKeysOutsideThePlainRangeAreRekeyedWithTheirHistory() throws {
        let cipher = EntryFixtures.cipher()
        let path = directory.file("older.db")
        try SQLiteTestSupport.rawExecute(path, Self.proxywhirlL3)
        try SQLiteTestSupport.rawExecute(
            path,
            """
            INSERT INTO cache_entries (key, proxy_url, source, fetch_time, last_accessed, ttl_seconds, expires_at,
                created_at, updated_at)
            VALUES ('日本', 'http://1.1.1.1:80', 's', 1, 1, 0, 4102444800, 1, 1),
                   ('café', 'http://2.2.2.2:80', 's', 1, 1, 0, 4102444800, 1, 1),
                   ('plain', 'http://3.3.3.3:80', 's', 1, 1, 0, 4102444800, 1, 1);
            INSERT INTO health_history (proxy_key, check_time, status, check_url)
            VALUES ('日本', 10, 'healthy', 'http://check');
            """
        )
        let store = try SQLiteStore(.l3(path: path), cipher: cipher, fsync: .no, logger: SQLiteTestSupport.logger)
        defer { store.close() }
        let japan = BinaryText.string(from: Array("日本".utf8))
        XCTAssertFalse(japan.utf8.elementsEqual("日本".utf8), "outside the plain range: escaped")
        XCTAssertEqual(try store.get(japan)?.proxyURL, "http://1.1.1.1:80")
        XCTAssertEqual(try store.history(japan, limit: 10).map(\.checkTime), [10])
        XCTAssertEqual(try store.get("café")?.proxyURL, "http://2.2.2.2:80", "Latin text is kept as it was")
        XCTAssertEqual(try store.get("plain")?.proxyURL, "http://3.3.3.3:80")
        XCTAssertEqual(try store.count(), 3)
    }

    func testMissingColumnsAreAddedInPlaceWhenNothingMustBeRebuilt() throws {
        let path = directory.file("older.db")
        try SQLiteTestSupport.rawExecute(
            path,
            """
            CREATE TABLE l2_cache (key TEXT PRIMARY KEY, proxy_url TEXT NOT NULL, username_encrypted BLOB,
                password_encrypted BLOB, source TEXT NOT NULL, fetch_time REAL NOT NULL, last_accessed REAL NOT NULL,
                access_count INTEGER DEFAULT 0, ttl_seconds INTEGER NOT NULL, expires_at REAL);
            INSERT INTO l2_cache (key, proxy_url, source, fetch_time, last_accessed, ttl_seconds, expires_at)
            VALUES ('k', 'http://p', 'src', 1, 2, 0, NULL);
            """
        )
        let db = try SQLiteDatabase(path: path, readOnly: false)
        defer { db.close() }
        let report = try XCTUnwrap(try SQLiteSchema.l2.migrate(db, cipher: EntryFixtures.cipher()))
        XCTAssertEqual(report.rebuilt, [])
        XCTAssertEqual(report.fromVersion, 0)
        XCTAssertEqual(report.addedColumns.count, SQLiteSchema.entryColumns.count - 10)
        XCTAssertTrue(report.addedColumns.contains("l2_cache.total_health_checks"))
        XCTAssertNil(try SQLiteSchema.l2.migrate(db, cipher: EntryFixtures.cipher()), "current files need no work")
        let statement = try db.prepare("SELECT \(EntryRow.columnList) FROM l2_cache")
        defer { statement.finalize() }
        XCTAssertTrue(try statement.step())
        var expected = CacheEntry(key: "k", proxyURL: "http://p", source: "src", now: 1, ttlSeconds: nil)
        expected.lastAccessed = 2
        XCTAssertEqual(try EntryRow.read(statement, cipher: EntryFixtures.cipher()), expected)
    }

    func testNewerOrForeignFilesAreRefused() throws {
        let newer = directory.file("newer.db")
        try SQLiteTestSupport.rawExecute(newer, "PRAGMA user_version = 99")
        XCTAssertEqual(
            SQLiteTestSupport.errorKind {
                try SQLiteStore(
                    .l3(path: newer),
                    cipher: EntryFixtures.cipher(),
                    fsync: .no,
                    logger: SQLiteTestSupport.logger
                )
            },
            .io
        )
        let foreign = directory.file("foreign.db")
        try SQLiteTestSupport.rawExecute(foreign, "CREATE TABLE cache_entries (id INTEGER, payload BLOB)")
        XCTAssertEqual(
            SQLiteTestSupport.errorKind {
                try SQLiteStore(
                    .l3(path: foreign),
                    cipher: EntryFixtures.cipher(),
                    fsync: .no,
                    logger: SQLiteTestSupport.logger
                )
            },
            .corrupt,
            "a table of our name without our columns: not a file of this tier"
        )
    }
}

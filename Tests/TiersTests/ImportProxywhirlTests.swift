import Foundation
import XCTest

@testable import Tiers

/// Builds a proxywhirl-shaped cache with Python (`cryptography` and `sqlite3`, as proxywhirl
/// writes it) and imports it.
final class ImportProxywhirlTests: JSONLTestCase {
    /// Writes `<base>/db/proxywhirl.db` (L3), `<base>/proxies/shard_NN.jsonl` and
    /// `<base>/proxies/l2_cache.db` (L2). Arguments: base, key, previous key, now.
    private let makeCache = #"""
        import hashlib, json, os, sqlite3, sys
        from datetime import datetime, timezone
        from cryptography.fernet import Fernet

        base, key, previous, now = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
        current, old = Fernet(key.encode()), Fernet(previous.encode())
        enc = lambda f, s: f.encrypt(s.encode()) if s is not None else None
        iso = lambda t: datetime.fromtimestamp(t, timezone.utc).isoformat() if t is not None else None
        os.makedirs(base + "/db")
        os.makedirs(base + "/proxies")

        db = sqlite3.connect(base + "/db/proxywhirl.db")
        db.executescript('''
        CREATE TABLE cache_entries (
            key TEXT PRIMARY KEY, proxy_url TEXT NOT NULL, username_encrypted BLOB, password_encrypted BLOB,
            source TEXT NOT NULL, fetch_time REAL NOT NULL, last_accessed REAL NOT NULL,
            access_count INTEGER DEFAULT 0, ttl_seconds INTEGER NOT NULL, expires_at REAL NOT NULL,
            health_status TEXT DEFAULT 'unknown', failure_count INTEGER DEFAULT 0,
            evicted_from_l1 INTEGER DEFAULT 0, created_at REAL NOT NULL, updated_at REAL NOT NULL,
            last_health_check REAL, consecutive_health_failures INTEGER DEFAULT 0,
            consecutive_health_successes INTEGER DEFAULT 0, recovery_attempt INTEGER DEFAULT 0,
            next_check_time REAL, last_health_error TEXT, total_health_checks INTEGER DEFAULT 0,
            total_health_check_failures INTEGER DEFAULT 0);
        CREATE TABLE health_history (
            id INTEGER PRIMARY KEY AUTOINCREMENT, proxy_key TEXT NOT NULL, check_time REAL NOT NULL,
            status TEXT NOT NULL, response_time_ms REAL, error_message TEXT, check_url TEXT,
            FOREIGN KEY (proxy_key) REFERENCES cache_entries(key) ON DELETE CASCADE);
        CREATE INDEX idx_expires_at ON cache_entries(expires_at);
        ''')
        def l3(key, url, user, pw, touched, expires, fernet=current, status="healthy", user_blob=None):
            db.execute(
                "INSERT INTO cache_entries (key, proxy_url, username_encrypted, password_encrypted, source,"
                " fetch_time, last_accessed, access_count, ttl_seconds, expires_at, health_status, failure_count,"
                " evicted_from_l1, created_at, updated_at, last_health_check, consecutive_health_failures,"
                " total_health_checks, last_health_error) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (key, url, user_blob if user_blob is not None else enc(fernet, user), enc(fernet, pw), "l3src",
                 now - 1000, touched, 4, 3600, expires, status, 1, 1, now - 1000, touched, now - 30, 2, 7, "timeout"))
        l3("k1", "http://k1:80", "user1", "pass1", now - 20, now + 500)
        l3("k2", "http://k2:80", "user2", "pass2", now - 20, now - 1)  # expired
        l3("k3", "http://k3:80", None, None, now - 20, now + 500, user_blob=b"not-a-fernet-token")  # broken
        l3("k4", "http://old:80", "old", None, now - 100, now + 500)  # older than its L2 copy
        l3("k6", "http://k6:80", "user6", "pass6", now - 20, now + 500, fernet=old)  # previous key
        l3("k9", "http://l3wins:80", None, None, now - 5, now + 500)  # newer than its L2 copy
        l3("k8", "http://k8:80", "user8", None, now - 20, now + 500)  # health fields; a newer l2_cache copy has none
        db.commit()

        def line(key, url, user, touched, expires):
            return json.dumps({
                "key": key, "proxy_url": url,
                "username_encrypted": enc(current, user).hex() if user else None, "password_encrypted": None,
                "source": "l2src", "fetch_time": iso(now - 1000), "last_accessed": iso(touched),
                "access_count": 2, "ttl_seconds": 3600, "expires_at": iso(expires),
                "health_status": "unknown", "failure_count": 0, "evicted_from_l1": True})
        shards = {}
        for key, url, user, touched in [("k4", "http://new:80", "new", now - 10), ("k5", "http://k5:80", None, now - 10),
                                         ("k9", "http://l2loses:80", None, now - 50)]:
            shard = int(hashlib.md5(key.encode()).hexdigest(), 16) % 16
            shards.setdefault(shard, []).append(line(key, url, user, touched, now + 500))
        shards.setdefault(0, []).append('{"key": "broken json')
        for shard, lines in shards.items():
            with open(base + "/proxies/shard_%02d.jsonl" % shard, "w") as f:
                f.write("\n".join(lines) + "\n")

        l2 = sqlite3.connect(base + "/proxies/l2_cache.db")
        l2.execute("CREATE TABLE l2_cache (key TEXT PRIMARY KEY, proxy_url TEXT NOT NULL, username_encrypted BLOB,"
                   " password_encrypted BLOB, source TEXT NOT NULL, fetch_time REAL NOT NULL, last_accessed REAL NOT NULL,"
                   " access_count INTEGER DEFAULT 0, ttl_seconds INTEGER NOT NULL, expires_at REAL NOT NULL,"
                   " health_status TEXT DEFAULT 'unknown', failure_count INTEGER DEFAULT 0,"
                   " evicted_from_l1 INTEGER DEFAULT 0)")
        l2.execute("INSERT INTO l2_cache VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   ("k7", "http://k7:80", enc(current, "user7"), None, "l2db", now - 60, now - 60, 1, 60, now + 30,
                    "degraded", 0, 0))
        l2.execute("INSERT INTO l2_cache VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   ("k8", "http://k8:80", enc(current, "user8"), None, "l2db", now - 1000, now - 5, 9, 3600, now + 500,
                    "degraded", 0, 1))
        l2.commit()
        """#

    func testImportsAProxywhirlCache() throws {
        let key = FernetKey.generate()
        let previous = FernetKey.generate()
        let now = 1_764_039_600.0
        _ = try runPython(makeCache, arguments: [directory, key.base64URL, previous.base64URL, "\(now)"])

        let result = try ProxywhirlImporter.read(
            l3Database: directory + "/db/proxywhirl.db",
            l2Directory: directory + "/proxies",
            key: key,
            previousKeys: [previous],
            now: now
        )
        XCTAssertEqual(result.entries.map(\.key), ["k1", "k4", "k5", "k6", "k7", "k8", "k9"])
        XCTAssertEqual(result.skipped, 3, "k2 expired, k3 broken token, one corrupt JSONL line")
        XCTAssertEqual(result.expired, 1)
        XCTAssertEqual(result.broken, 1)
        XCTAssertEqual(result.undecryptable, ["k3"], "a token no key decrypts")
        let byKey = Dictionary(uniqueKeysWithValues: result.entries.map { ($0.key, $0) })

        let k1 = try XCTUnwrap(byKey["k1"])
        XCTAssertEqual(k1.username, "user1")
        XCTAssertEqual(k1.password, "pass1")
        XCTAssertEqual(k1.source, "l3src")
        XCTAssertEqual(k1.fetchTime, now - 1000)
        XCTAssertEqual(k1.lastAccessed, now - 20)
        XCTAssertEqual(k1.expiresAt, now + 500)
        XCTAssertEqual(k1.accessCount, 4)
        XCTAssertEqual(k1.ttlSeconds, 3600)
        XCTAssertEqual(k1.healthStatus, .healthy)
        XCTAssertEqual(k1.failureCount, 1)
        XCTAssertTrue(k1.evictedFromL1)
        XCTAssertEqual(k1.lastHealthCheck, now - 30)
        XCTAssertEqual(k1.consecutiveHealthFailures, 2)
        XCTAssertEqual(k1.totalHealthChecks, 7)
        XCTAssertEqual(k1.lastHealthError, "timeout")

        XCTAssertEqual(byKey["k4"]?.proxyURL, "http://new:80", "the L2 copy was touched later")
        XCTAssertEqual(byKey["k4"]?.username, "new")
        XCTAssertEqual(byKey["k4"]?.source, "l2src")
        // The newer JSONL line has no health-monitoring keys: L3's health fields stay.
        XCTAssertEqual(byKey["k4"]?.lastHealthCheck, now - 30)
        XCTAssertEqual(byKey["k4"]?.consecutiveHealthFailures, 2)
        XCTAssertEqual(byKey["k4"]?.totalHealthChecks, 7)
        XCTAssertEqual(byKey["k4"]?.lastHealthError, "timeout")
        XCTAssertEqual(byKey["k4"]?.healthStatus, .unknown, "the line holds health_status and is newer")
        XCTAssertEqual(byKey["k9"]?.proxyURL, "http://l3wins:80", "the L3 copy was updated later")

        // Both L2 backends: the newer l2_cache copy wins the fields it has, never the health columns it lacks.
        let k8 = try XCTUnwrap(byKey["k8"])
        XCTAssertEqual(k8.source, "l2db")
        XCTAssertEqual(k8.lastAccessed, now - 5)
        XCTAssertEqual(k8.accessCount, 9)
        XCTAssertEqual(k8.healthStatus, .degraded)
        XCTAssertEqual(k8.failureCount, 0)
        XCTAssertEqual(k8.lastHealthCheck, now - 30)
        XCTAssertEqual(k8.consecutiveHealthFailures, 2)
        XCTAssertEqual(k8.totalHealthChecks, 7)
        XCTAssertEqual(k8.lastHealthError, "timeout")
        XCTAssertEqual(k8.username, "user8")
        XCTAssertNil(byKey["k5"]?.username)
        XCTAssertEqual(byKey["k6"]?.password, "pass6", "decrypted with the previous key")
        XCTAssertEqual(byKey["k7"]?.username, "user7")
        XCTAssertEqual(byKey["k7"]?.healthStatus, .degraded)
        XCTAssertEqual(byKey["k7"]?.expiresAt, now + 30)
    }

    /// A cachesrvd L3 (proxywhirl's columns plus the sealed URL) imports with the URL as it was stored, not masked.
    func testAnL3WrittenByCachesrvdKeepsItsSealedURL() throws {
        let key = FernetKey.generate()
        let path = directory + "/ours.db"
        let store = try SQLiteStore(
            .l3(path: path),
            cipher: CredentialCipher(current: key),
            fsync: .no,
            logger: SQLiteTestSupport.logger
        )
        let now = 1_764_039_600.0
        try store.apply([
            .put(CacheEntry(key: "s", proxyURL: "http://u:p/w#d@10.0.0.9:3128", now: now, ttlSeconds: 600))
        ])
        store.close()
        let result = try ProxywhirlImporter.read(
            l3Database: path,
            l2Directory: nil,
            key: key,
            previousKeys: [],
            now: now
        )
        XCTAssertEqual(result.entries.map(\.proxyURL), ["http://u:p/w#d@10.0.0.9:3128"])
        let wrongKey = try ProxywhirlImporter.read(
            l3Database: path,
            l2Directory: nil,
            key: FernetKey.generate(),
            previousKeys: [],
            now: now
        )
        XCTAssertEqual(wrongKey.undecryptable, ["s"], "a URL no key opens is not imported masked")
    }

    func testWithoutThePreviousKeyItsRowsAreSkipped() throws {
        let key = FernetKey.generate()
        let now = 1_764_039_600.0
        _ = try runPython(makeCache, arguments: [directory, key.base64URL, FernetKey.generate().base64URL, "\(now)"])
        let result = try ProxywhirlImporter.read(
            l3Database: directory + "/db/proxywhirl.db",
            l2Directory: nil,
            key: key,
            previousKeys: [],
            now: now
        )
        XCTAssertEqual(result.entries.map(\.key), ["k1", "k4", "k8", "k9"])
        XCTAssertEqual(result.skipped, 3, "k2 expired, k3 broken, k6 under an unknown key")
        XCTAssertEqual(result.undecryptable, ["k3", "k6"])
    }

    func testL2OnlyAndMissingDatabase() throws {
        let key = FernetKey.generate()
        let now = 1_764_039_600.0
        _ = try runPython(makeCache, arguments: [directory, key.base64URL, FernetKey.generate().base64URL, "\(now)"])
        let l2 = try ProxywhirlImporter.read(
            l3Database: nil,
            l2Directory: directory + "/proxies",
            key: key,
            previousKeys: [],
            now: now
        )
        XCTAssertEqual(l2.entries.map(\.key), ["k4", "k5", "k7", "k8", "k9"])
        XCTAssertEqual(l2.skipped, 1)
        XCTAssertThrowsError(
            try ProxywhirlImporter.read(
                l3Database: directory + "/missing.db",
                l2Directory: nil,
                key: key,
                previousKeys: [],
                now: now
            )
        )
    }
}

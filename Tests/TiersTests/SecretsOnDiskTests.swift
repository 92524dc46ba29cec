import Foundation
import Logging
import TierTestSupport
import XCTest

@testable import Tiers

/// A password inside `proxy_url` and URL passwords in health texts never reach a file in clear, while GET
/// still returns the exact bytes stored; older files without the sealed column still load.
final class SecretsOnDiskTests: XCTestCase {
    private var directory: SQLiteTestDirectory!
    private let secret = "pw-SECRET-7f3a"

    override func setUp() {
        directory = SQLiteTestDirectory()
    }

    override func tearDown() {
        directory.remove()
    }

    private func entry(_ key: String) -> CacheEntry {
        var entry = CacheEntry(
            key: key,
            proxyURL: "http://alice:\(secret)@10.0.0.9:3128/p",
            password: "field-password",
            now: 1_700_000_000,
            ttlSeconds: 3600
        )
        entry.lastHealthError = "proxy http://bob:\(secret)@10.0.0.9:3128 refused"
        return entry
    }

    /// Every byte of every file under the test directory.
    private func allBytes() -> [UInt8] {
        var bytes = [UInt8]()
        let enumerator = FileManager.default.enumerator(atPath: directory.path)
        while let name = enumerator?.nextObject() as? String {
            bytes += SQLiteTestSupport.bytes(of: directory.file(name))
        }
        return bytes
    }

    private func makeJSONL(_ cipher: CredentialCipher) throws -> JSONLStore {
        try JSONLStore(directory: directory.file("jsonl"), cipher: cipher, fsync: .always, logger: Logger(label: "t"))
    }

    func testSQLiteStoresSealTheURLPasswordAndReturnTheExactURL() throws {
        for kind in SQLiteStoreKind.allCases {
            let store = try kind.open(in: directory, cipher: EntryFixtures.cipher(), fsync: .always)
            var written = entry("k")
            written.proxyURL = "http://alice:\(secret)@10.0.0.9:3128/p"
            let record = HealthCheckRecord(
                checkTime: 1_700_000_001,
                status: .unhealthy,
                errorMessage: "GET https://carol:\(secret)@check.example failed",
                checkURL: "https://carol:\(secret)@check.example/ip"
            )
            try store.apply([
                .put(written), .put(EntryFixtures.plainEntry("plain")),
                .appendHealth(key: "k", record: record, keep: 10),
            ])
            XCTAssertEqual(try store.get("k")?.proxyURL, written.proxyURL, "\(kind): GET returns the bytes stored")
            XCTAssertEqual(try store.get("plain"), EntryFixtures.plainEntry("plain"), "\(kind)")
            if kind == .l3 {
                let history = try store.history("k", limit: 10)
                XCTAssertEqual(history.first?.errorMessage, "GET https://carol:***@check.example failed")
                XCTAssertEqual(history.first?.checkURL, "https://carol:***@check.example/ip")
            }
            store.close()
            let path = kind.databasePath(in: directory)
            XCTAssertEqual(
                try SQLiteTestSupport.rawQuery(path, "SELECT proxy_url FROM \(kind.table) WHERE key = 'k'"),
                ["http://alice:***@10.0.0.9:3128/p"],
                "\(kind): readable without the password"
            )
            XCTAssertEqual(
                try SQLiteTestSupport.rawQuery(
                    path,
                    "SELECT proxy_url_encrypted IS NULL FROM \(kind.table) ORDER BY key"
                ),
                ["0", "1"],
                "\(kind): a token only for the URL with a password"
            )
        }
        XCTAssertFalse(SQLiteTestSupport.contains(allBytes(), secret), "no file holds the password")
    }

    func testJSONLSealsTheURLPasswordAndReturnsTheExactURL() throws {
        let cipher = EntryFixtures.cipher()
        let store = try makeJSONL(cipher)
        let written = entry("k")
        try store.apply([.put(written), .put(EntryFixtures.plainEntry("plain"))])
        XCTAssertEqual(try store.get("k")?.proxyURL, written.proxyURL)
        XCTAssertEqual(try store.get("k")?.lastHealthError, "proxy http://bob:***@10.0.0.9:3128 refused")
        store.close()
        let reopened = try makeJSONL(cipher)
        defer { reopened.close() }
        XCTAssertEqual(try reopened.get("k")?.proxyURL, written.proxyURL)
        XCTAssertEqual(try reopened.get("plain"), EntryFixtures.plainEntry("plain"))
        let bytes = allBytes()
        XCTAssertFalse(SQLiteTestSupport.contains(bytes, secret))
        XCTAssertTrue(SQLiteTestSupport.contains(bytes, "\"proxy_url\": \"http://alice:***@10.0.0.9:3128/p\""))
        XCTAssertTrue(SQLiteTestSupport.contains(bytes, "\"proxy_url_encrypted\": "))
    }

    func testAWrongKeyCannotReadASealedURL() throws {
        let store = try makeJSONL(CredentialCipher(current: .generate()))
        try store.apply([.put(entry("k"))])
        store.close()
        let other = try makeJSONL(CredentialCipher(current: .generate()))
        defer { other.close() }
        XCTAssertEqual(SQLiteTestSupport.errorKind { try other.get("k") }, .decryption)
    }

    func testKeyRotationReencryptsTheSealedURL() throws {
        let oldKey = FernetKey.generate()
        let newKey = FernetKey.generate()
        let written = entry("k")
        for kind in SQLiteStoreKind.allCases {
            let store = try kind.open(in: directory, cipher: CredentialCipher(current: oldKey))
            try store.apply([.put(written)])
            XCTAssertEqual(try kind.reencryptAll(store, with: CredentialCipher(current: newKey, previous: [oldKey])), 1)
            store.close()
            let reopened = try kind.open(in: directory, cipher: CredentialCipher(current: newKey))
            defer { reopened.close() }
            XCTAssertEqual(
                try reopened.get("k")?.proxyURL,
                written.proxyURL,
                "\(kind): readable with the new key alone"
            )
        }
        // A URL password is the only secret: rotation still re-encrypts it.
        var urlOnly = written
        urlOnly.password = nil
        let jsonl = try makeJSONL(CredentialCipher(current: oldKey))
        try jsonl.apply([.put(urlOnly)])
        XCTAssertEqual(try jsonl.reencryptAll(with: CredentialCipher(current: newKey, previous: [oldKey])), 1)
        jsonl.close()
        let reopened = try makeJSONL(CredentialCipher(current: newKey))
        defer { reopened.close() }
        XCTAssertEqual(try reopened.get("k")?.proxyURL, written.proxyURL)
    }

    func testAVersion1FileIsUpgradedAndItsClearURLPasswordsSealed() throws {
        let cipher = EntryFixtures.cipher()
        for kind in SQLiteStoreKind.allCases {
            let store = try kind.open(in: directory, cipher: cipher)
            store.close()
            let path = kind.databasePath(in: directory)
            // What schema version 1 wrote: no proxy_url_encrypted, the URL and the health texts as they were given.
            var sql = """
                ALTER TABLE \(kind.table) DROP COLUMN proxy_url_encrypted;
                PRAGMA user_version = 1;
                INSERT INTO \(kind.table) (key, proxy_url, source, fetch_time, last_accessed, ttl_seconds, expires_at,
                    last_health_error)
                VALUES ('old', 'http://u:old-pass-1@h:1', 's', 1, 1, 0, NULL, 'via http://v:old-pass-2@h:1 failed'),
                    ('plain', 'http://h:2', 's', 1, 1, 0, NULL, NULL);
                """
            if kind == .l3 {
                sql += """
                    INSERT INTO health_history (proxy_key, check_time, status, error_message, check_url)
                    VALUES ('old', 1, 'unhealthy', 'http://w:old-pass-3@h:1 refused', 'x:old-pass-4@check:80');
                    """
            }
            try SQLiteTestSupport.rawExecute(path, sql)
            XCTAssertTrue(SQLiteTestSupport.contains(allBytes(), "old-pass-1"), "\(kind): the fixture holds it")

            let reopened = try kind.open(in: directory, cipher: cipher)
            XCTAssertEqual(try reopened.get("old")?.proxyURL, "http://u:old-pass-1@h:1", "\(kind): the URL as stored")
            XCTAssertEqual(try reopened.get("old")?.lastHealthError, "via http://v:***@h:1 failed")
            XCTAssertEqual(try reopened.get("plain")?.proxyURL, "http://h:2")
            if kind == .l3 {
                let history = try reopened.history("old", limit: 5)
                XCTAssertEqual(history.first?.errorMessage, "http://w:***@h:1 refused")
                XCTAssertEqual(history.first?.checkURL, "x:***@check:80")
            }
            reopened.close()
            XCTAssertEqual(
                try SQLiteTestSupport.rawQuery(path, "PRAGMA user_version"),
                ["\(SQLiteSchema.currentVersion)"]
            )
            XCTAssertEqual(
                try SQLiteTestSupport.rawQuery(path, "SELECT proxy_url FROM \(kind.table) ORDER BY key"),
                ["http://u:***@h:1", "http://h:2"],
                "\(kind): sealed when the file was upgraded"
            )
            let bytes = allBytes()
            for secret in ["old-pass-1", "old-pass-2", "old-pass-3", "old-pass-4"] {
                XCTAssertFalse(SQLiteTestSupport.contains(bytes, secret), "\(kind): \(secret) is gone from the files")
            }
        }
    }

    func testJSONLLinesWithClearURLPasswordsAreSealedWhenTheStoreOpens() throws {
        let cipher = EntryFixtures.cipher()
        let store = try makeJSONL(cipher)
        try store.apply([.put(EntryFixtures.plainEntry("plain"))])
        store.close()
        // A line as proxywhirl (or an older cachesrvd) wrote it, appended to the shard of its key.
        let line =
            #"{"key": "old", "proxy_url": "http://u:old-pass-1@h:1", "source": "s", "fetch_time": 1, "#
            + #""last_accessed": 1, "ttl_seconds": 0, "expires_at": null, "last_health_error": "#
            + #""via http://v:old-pass-2@h:1 failed"}"# + "\n"
        let shard =
            directory.file("jsonl") + "/shard_" + String(format: "%02d", JSONLShard.locate("old").shard) + ".jsonl"
        let existing = FileManager.default.contents(atPath: shard) ?? Data()
        try (existing + Data(line.utf8)).write(to: URL(fileURLWithPath: shard))
        XCTAssertTrue(SQLiteTestSupport.contains(allBytes(), "old-pass-1"), "the fixture holds it")

        let reopened = try makeJSONL(cipher)
        XCTAssertEqual(try reopened.get("old")?.proxyURL, "http://u:old-pass-1@h:1")
        XCTAssertEqual(try reopened.get("old")?.lastHealthError, "via http://v:***@h:1 failed")
        XCTAssertEqual(try reopened.get("plain"), EntryFixtures.plainEntry("plain"))
        reopened.close()
        let bytes = allBytes()
        XCTAssertFalse(SQLiteTestSupport.contains(bytes, "old-pass-1"))
        XCTAssertFalse(SQLiteTestSupport.contains(bytes, "old-pass-2"))
        let again = try makeJSONL(cipher)
        defer { again.close() }
        XCTAssertEqual(try again.get("old")?.proxyURL, "http://u:old-pass-1@h:1", "read back after the rewrite")
    }

    func testHealthTextsAreMaskedWhenSet() {
        var entry = CacheEntry(key: "k", proxyURL: "http://h:1", now: 0, ttlSeconds: nil)
        entry.lastHealthError = "via http://u:p@h:1"
        XCTAssertEqual(entry.lastHealthError, "via http://u:***@h:1")
        XCTAssertNoThrow(try entry.set(.lastHealthError, to: "socks5://x:y@z down", now: 0))
        XCTAssertEqual(entry.value(of: .lastHealthError), "socks5://x:***@z down")
        var record = HealthCheckRecord(checkTime: 0, status: .unhealthy, checkURL: "u:p@check:80")
        XCTAssertEqual(record.checkURL, "u:***@check:80")
        record.errorMessage = "http://a:b@c"
        XCTAssertEqual(record.errorMessage, "http://a:***@c")
    }
}

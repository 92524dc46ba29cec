import Foundation
import Logging
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
            let store = try kind.open(in: directory, cipher: SQLiteTestSupport.cipher(), fsync: .always)
            var written = entry("k")
            written.proxyURL = "http://alice:\(secret)@10.0.0.9:3128/p"
            let record = HealthCheckRecord(
                checkTime: 1_700_000_001,
                status: .unhealthy,
                errorMessage: "GET https://carol:\(secret)@check.example failed",
                checkURL: "https://carol:\(secret)@check.example/ip"
            )
            try store.apply([
                .put(written), .put(SQLiteTestSupport.plainEntry("plain")),
                .appendHealth(key: "k", record: record, keep: 10),
            ])
            XCTAssertEqual(try store.get("k")?.proxyURL, written.proxyURL, "\(kind): GET returns the bytes stored")
            XCTAssertEqual(try store.get("plain"), SQLiteTestSupport.plainEntry("plain"), "\(kind)")
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
        let cipher = SQLiteTestSupport.cipher()
        let store = try makeJSONL(cipher)
        let written = entry("k")
        try store.apply([.put(written), .put(SQLiteTestSupport.plainEntry("plain"))])
        XCTAssertEqual(try store.get("k")?.proxyURL, written.proxyURL)
        XCTAssertEqual(try store.get("k")?.lastHealthError, "proxy http://bob:***@10.0.0.9:3128 refused")
        store.close()
        let reopened = try makeJSONL(cipher)
        defer { reopened.close() }
        XCTAssertEqual(try reopened.get("k")?.proxyURL, written.proxyURL)
        XCTAssertEqual(try reopened.get("plain"), SQLiteTestSupport.plainEntry("plain"))
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

    func testAVersion1FileStillLoadsAndIsUpgraded() throws {
        let store = try SQLiteStoreKind.l2.open(in: directory, cipher: SQLiteTestSupport.cipher())
        store.close()
        let path = SQLiteStoreKind.l2.databasePath(in: directory)
        // What schema version 1 wrote: no proxy_url_encrypted, the URL as it was given.
        try SQLiteTestSupport.rawExecute(
            path,
            """
            ALTER TABLE l2_cache DROP COLUMN proxy_url_encrypted;
            PRAGMA user_version = 1;
            INSERT INTO l2_cache (key, proxy_url, source, fetch_time, last_accessed, ttl_seconds, expires_at)
            VALUES ('old', 'http://u:old-pass@h:1', 's', 1, 1, 0, NULL);
            """
        )
        let reopened = try SQLiteStoreKind.l2.open(in: directory, cipher: SQLiteTestSupport.cipher())
        XCTAssertEqual(try reopened.get("old")?.proxyURL, "http://u:old-pass@h:1")
        // Rewriting the entry seals it.
        let old = try XCTUnwrap(try reopened.get("old"))
        try reopened.apply([.put(old)])
        reopened.close()
        XCTAssertEqual(try SQLiteTestSupport.rawQuery(path, "PRAGMA user_version"), ["2"])
        XCTAssertEqual(try SQLiteTestSupport.rawQuery(path, "SELECT proxy_url FROM l2_cache"), ["http://u:***@h:1"])
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

import EntrySchema
import TierTestSupport
import XCTest

@testable import Tiers

/// The stores write every field the table (`EntryField`) declares, in its order, exactly as they did when each store
/// named the fields itself: the bytes of a JSONL line, a journal record and a SQLite row, and the SQLite tables'
/// declarations, are pinned here, since files written before must still read and proxywhirl reads ours.
final class EntryFieldTableTests: XCTestCase {
    /// The full fixture without credentials (so that nothing is encrypted with a random IV) and with one plain
    /// custom field.
    private static func entry() -> CacheEntry {
        var entry = EntryFixtures.fullEntry("k1", now: 1_764_039_600)
        entry.username = nil
        entry.password = nil
        _ = entry.restoreCustomFields([CustomField(name: "country", value: "de")])
        return entry
    }

    func testTheFullFixtureSetsEveryFieldAwayFromItsDefault() {
        // The store tests round-trip `EntryFixtures.fullEntry`: it covers every field only if it sets each one.
        let full = EntryFixtures.fullEntry("k")
        let plain = CacheEntry(key: "k", proxyURL: "", now: 0, ttlSeconds: nil)
        for field in EntryField.all {
            XCTAssertNotEqual(full[field], plain[field], field.rawValue)
        }
    }

    func testTheSubscriptReadsAndWritesEachFieldAsItsProperty() {
        let full = EntryFixtures.fullEntry("k")
        var copy = CacheEntry(key: "k", proxyURL: "", now: 0, ttlSeconds: nil)
        for field in EntryField.all {
            copy[field] = full[field]
            XCTAssertEqual(copy.value(of: field), full.value(of: field), field.rawValue)
        }
        _ = copy.restoreCustomFields(full.customFields)
        XCTAssertEqual(copy, full)
        for field in EntryField.all where field.isOptional {
            copy[field] = .unset(field)
            XCTAssertNil(copy.value(of: field), field.rawValue)
        }
    }

    func testAJSONLLineIsWrittenAsBefore() {
        let record = JSONLRecord(
            entry: Self.entry(),
            usernameToken: "tok-u",
            passwordToken: "tok-p",
            proxyURLToken: "tok-url"
        )
        let expected =
            #"{"key": "k1", "proxy_url": "http://10.0.0.1:8080/k1", "proxy_url_encrypted": "746f6b2d75726c", "#
            + #""username_encrypted": "746f6b2d75", "password_encrypted": "746f6b2d70", "source": "source-a", "#
            + #""fetch_time": "2025-11-25T03:00:00+00:00", "last_accessed": "2025-11-25T03:00:10.500000+00:00", "#
            + #""access_count": 7, "ttl_seconds": 3600, "expires_at": "2025-11-25T04:00:00+00:00", "#
            + #""health_status": "degraded", "failure_count": 2, "evicted_from_l1": true, "#
            + #""last_health_check": "2025-11-25T03:00:20.125000+00:00", "consecutive_health_failures": 3, "#
            + #""consecutive_health_successes": 4, "recovery_attempt": 5, "#
            + #""next_check_time": "2025-11-25T03:00:30.500000+00:00", "last_health_error": "timeout after 5 s", "#
            + #""total_health_checks": 11, "total_health_check_failures": 6, "custom_fields": [["country", "de"]]}"#
            + "\n"
        XCTAssertEqual(String(decoding: JSONLEntryCodec.encode(record), as: UTF8.self), expected)
        XCTAssertEqual(JSONLEntryCodec.decode(JSONLEntryCodec.encode(record).dropLast()), record)

        let plain = JSONLRecord(
            entry: CacheEntry(key: "p", proxyURL: "socks5://h:1080", now: 1_764_039_600, ttlSeconds: nil),
            usernameToken: nil,
            passwordToken: nil
        )
        let expectedPlain =
            #"{"key": "p", "proxy_url": "socks5://h:1080", "username_encrypted": null, "password_encrypted": null, "#
            + #""source": "unknown", "fetch_time": "2025-11-25T03:00:00+00:00", "#
            + #""last_accessed": "2025-11-25T03:00:00+00:00", "access_count": 0, "ttl_seconds": 0, "#
            + #""expires_at": null, "health_status": "unknown", "failure_count": 0, "evicted_from_l1": false, "#
            + #""last_health_check": null, "consecutive_health_failures": 0, "consecutive_health_successes": 0, "#
            + #""recovery_attempt": 0, "next_check_time": null, "last_health_error": null, "total_health_checks": 0, "#
            + #""total_health_check_failures": 0}"# + "\n"
        XCTAssertEqual(String(decoding: JSONLEntryCodec.encode(plain), as: UTF8.self), expectedPlain)
    }

    func testALineLeavingFieldsOutOrNullKeepsTheirDefaults() throws {
        // proxywhirl's older lines: times as numbers, no health fields, no expires_at (then fetch_time + ttl).
        let derived = try XCTUnwrap(
            JSONLEntryCodec.decode(
                Array(#"{"key": "a", "proxy_url": "u", "fetch_time": 100, "ttl_seconds": 60, "source": null}"#.utf8)
            )
        )
        XCTAssertEqual(derived.entry.fetchTime, 100)
        XCTAssertEqual(derived.entry.lastAccessed, 100)
        XCTAssertEqual(derived.entry.expiresAt, 160)
        XCTAssertEqual(derived.entry.source, "unknown")
        XCTAssertEqual(derived.entry.healthStatus, .unknown)
        XCTAssertNil(derived.usernameToken)

        let nulls = try XCTUnwrap(
            JSONLEntryCodec.decode(
                Array(
                    (#"{"key": "a", "proxy_url": "u", "fetch_time": "2025-11-25T03:00:00Z", "ttl_seconds": 60, "#
                        + #""expires_at": null, "last_accessed": null, "access_count": null, "health_status": null, "#
                        + #""last_health_error": null, "evicted_from_l1": true}"#).utf8
                )
            )
        )
        XCTAssertNil(nulls.entry.expiresAt, "null: never expires")
        XCTAssertEqual(nulls.entry.lastAccessed, 1_764_039_600)
        XCTAssertEqual(nulls.entry.accessCount, 0)
        XCTAssertTrue(nulls.entry.evictedFromL1)

        for bad in [
            #"{"key": "a", "proxy_url": "u", "health_status": "sick"}"#,
            #"{"key": "a", "proxy_url": "u", "access_count": "7"}"#,
            #"{"key": "a", "proxy_url": "u", "last_health_check": "yesterday"}"#,
            #"{"key": "a", "proxy_url": "u", "source": 5}"#,
            #"{"key": "a", "proxy_url": null}"#,
        ] {
            XCTAssertNil(JSONLEntryCodec.decode(Array(bad.utf8)), bad)
        }
    }

    func testAJournalRecordIsWrittenAsBefore() throws {
        var output: [UInt8] = []
        let cipher = EntryFixtures.cipher()
        JournalCodec.append(.write(.put(Self.entry())), sequence: 42, cipher: cipher, to: &output)
        // The header: the body's length and its CRC-32, which pins the body's bytes.
        XCTAssertEqual(Hex.encode(output.prefix(JournalCodec.headerSize)), "e0000000dd8ba1f0")
        let decoded = try output.withUnsafeBytes { bytes in
            try JournalCodec.decode(
                body: UnsafeRawBufferPointer(rebasing: bytes[JournalCodec.headerSize...]),
                cipher: cipher
            )
        }
        XCTAssertEqual(decoded.sequence, 42)
        XCTAssertEqual(decoded.record, .write(.put(Self.entry())))
    }

    func testASQLiteRowIsBoundAsBefore() throws {
        let cipher = EntryFixtures.cipher()
        let values = StoredEntryRow.values(of: Self.entry(), cipher: cipher)
        let now = 1_764_039_600.0
        XCTAssertEqual(
            values,
            [
                .text(Array("k1".utf8)), .text(Array("http://10.0.0.1:8080/k1".utf8)), .null, .null,
                .text(Array("source-a".utf8)), .real(now), .real(now + 10.5), .integer(7), .integer(3600),
                .real(now + 3600), .text(Array("degraded".utf8)), .integer(2), .integer(1), .real(now + 20.125),
                .integer(3), .integer(4), .integer(5), .real(now + 30.5), .text(Array("timeout after 5 s".utf8)),
                .integer(11), .integer(6), .null, .text(Array(#"[["country","de"]]"#.utf8)),
            ]
        )
        XCTAssertEqual(try StoredEntryRow.entry(from: values, cipher: cipher), Self.entry())

        // NULL in every column but the key and URL reads as SQLite converts it: 0, the empty text, `unknown`.
        var nulls = Array(repeating: StoredEntryRow.Value.null, count: values.count)
        nulls[0] = values[0]
        nulls[1] = values[1]
        let sparse = try StoredEntryRow.entry(from: nulls, cipher: cipher)
        XCTAssertEqual(sparse.source, "")
        XCTAssertEqual(sparse.fetchTime, 0)
        XCTAssertNil(sparse.expiresAt)
        XCTAssertEqual(sparse.healthStatus, .unknown)
        XCTAssertNil(sparse.username)
        XCTAssertNil(sparse.lastHealthError)
        XCTAssertTrue(sparse.customFields.isEmpty)
    }

    func testTheSQLiteTablesAreDeclaredAsBefore() {
        XCTAssertEqual(
            SQLiteSchema.l2.entries.createSQL(as: "l2_cache"),
            """
            CREATE TABLE l2_cache (
                key TEXT PRIMARY KEY,
                proxy_url TEXT NOT NULL,
                username_encrypted BLOB,
                password_encrypted BLOB,
                source TEXT NOT NULL DEFAULT 'unknown',
                fetch_time REAL NOT NULL,
                last_accessed REAL NOT NULL,
                access_count INTEGER DEFAULT 0,
                ttl_seconds INTEGER NOT NULL DEFAULT 0,
                expires_at REAL,
                health_status TEXT DEFAULT 'unknown',
                failure_count INTEGER DEFAULT 0,
                evicted_from_l1 INTEGER DEFAULT 0,
                last_health_check REAL,
                consecutive_health_failures INTEGER DEFAULT 0,
                consecutive_health_successes INTEGER DEFAULT 0,
                recovery_attempt INTEGER DEFAULT 0,
                next_check_time REAL,
                last_health_error TEXT,
                total_health_checks INTEGER DEFAULT 0,
                total_health_check_failures INTEGER DEFAULT 0,
                proxy_url_encrypted BLOB,
                custom_fields TEXT
            )
            """
        )
        XCTAssertEqual(
            SQLiteSchema.entryColumns.filter(\.isRequired).map(\.name),
            ["key", "proxy_url", "fetch_time", "last_accessed"]
        )
        XCTAssertEqual(SQLiteSchema.entryColumns.filter(\.mustBeNullable).map(\.name), ["expires_at"])
        let l3: [String] = [
            "key TEXT PRIMARY KEY", "proxy_url TEXT NOT NULL", "username_encrypted BLOB", "password_encrypted BLOB",
            "source TEXT NOT NULL DEFAULT 'unknown'", "fetch_time REAL NOT NULL", "last_accessed REAL NOT NULL",
            "access_count INTEGER DEFAULT 0", "ttl_seconds INTEGER NOT NULL DEFAULT 0", "expires_at REAL",
            "health_status TEXT DEFAULT 'unknown'", "failure_count INTEGER DEFAULT 0",
            "created_at REAL NOT NULL DEFAULT 0", "updated_at REAL NOT NULL DEFAULT 0", "last_health_check REAL",
            "consecutive_health_failures INTEGER DEFAULT 0", "consecutive_health_successes INTEGER DEFAULT 0",
            "recovery_attempt INTEGER DEFAULT 0", "next_check_time REAL", "last_health_error TEXT",
            "total_health_checks INTEGER DEFAULT 0", "total_health_check_failures INTEGER DEFAULT 0",
            "evicted_from_l1 INTEGER DEFAULT 0", "proxy_url_encrypted BLOB", "custom_fields TEXT",
        ]
        XCTAssertEqual(SQLiteSchema.l3.entries.columns.map { "\($0.name) \($0.declaration)" }, l3)
    }

    func testColumnNamesMapToTheFieldsTheyHold() {
        XCTAssertEqual(EntryField(columnName: "username_encrypted"), .username)
        XCTAssertEqual(EntryField(columnName: "proxy_url_encrypted"), .proxyURL)
        XCTAssertEqual(EntryField(columnName: "total_health_check_failures"), .totalHealthCheckFailures)
        XCTAssertNil(EntryField(columnName: "username"), "the credential's column holds its token")
        XCTAssertNil(EntryField(columnName: "created_at"))
        XCTAssertNil(EntryField(columnName: "key"))
    }
}

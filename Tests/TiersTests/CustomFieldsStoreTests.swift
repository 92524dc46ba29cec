import Foundation
import TierTestSupport
import XCTest

@testable import Tiers

/// Every disk tier keeps an entry's custom fields, in order, across a reopen; files from before them still load.
final class CustomFieldsStoreTests: XCTestCase {
    private var directory: SQLiteTestDirectory!

    override func setUp() {
        directory = SQLiteTestDirectory()
    }

    override func tearDown() {
        directory.remove()
    }

    /// An entry whose custom fields exercise order, case, normalisation and JSON escaping.
    private func customEntry(_ key: String) -> CacheEntry {
        var entry = EntryFixtures.plainEntry(key)
        entry.restoreCustomFields([
            CustomField(name: "zone", value: "eu-west"),
            CustomField(name: "Zone", value: "upper"),
            CustomField(name: "caf\u{E9}", value: "precomposed"),
            CustomField(name: "cafe\u{301}", value: "decomposed"),
            CustomField(name: "", value: "an empty name"),
            CustomField(name: "json", value: "[\"x\", {\"y\": 1}]\\\n\t\u{0}"),
        ])
        return entry
    }

    private func assertSameCustomFields(_ read: CacheEntry?, _ written: CacheEntry, _ message: String) {
        let readFields = read?.customFields ?? []
        XCTAssertEqual(readFields.count, written.customFields.count, message)
        for (got, wanted) in zip(readFields, written.customFields) {
            XCTAssertTrue(got.name.utf8.elementsEqual(wanted.name.utf8), "\(message): \(got.name)")
            XCTAssertTrue(got.value.utf8.elementsEqual(wanted.value.utf8), "\(message): \(got.value)")
        }
    }

    func testSQLiteTiersKeepCustomFieldsAcrossAReopen() throws {
        let cipher = EntryFixtures.cipher()
        for kind in SQLiteStoreKind.allCases {
            let written = customEntry("custom")
            let store = try kind.open(in: directory, cipher: cipher)
            try store.apply([.put(written), .put(EntryFixtures.plainEntry("plain"))])
            assertSameCustomFields(try store.get("custom"), written, "\(kind)")
            store.close()

            let reopened = try kind.open(in: directory, cipher: cipher)
            XCTAssertEqual(try reopened.get("custom"), written, "\(kind)")
            assertSameCustomFields(try reopened.get("custom"), written, "\(kind) reopened")
            // Removing every custom field writes NULL, not an empty array.
            var emptied = written
            emptied.removeAllCustomFields()
            try reopened.apply([.put(emptied)])
            reopened.close()
            let path = kind.databasePath(in: directory)
            XCTAssertEqual(
                try SQLiteTestSupport.rawQuery(path, "SELECT custom_fields IS NULL FROM \(kind.table) ORDER BY key"),
                ["1", "1"],
                "\(kind)"
            )
        }
    }

    func testAVersion2FileIsUpgradedAndItsEntriesLoad() throws {
        let cipher = EntryFixtures.cipher()
        for kind in SQLiteStoreKind.allCases {
            let store = try kind.open(in: directory, cipher: cipher)
            try store.apply([.put(EntryFixtures.fullEntry("old"))])
            store.close()
            let path = kind.databasePath(in: directory)
            // What schema version 2 wrote: no custom_fields column.
            try SQLiteTestSupport.rawExecute(
                path,
                "ALTER TABLE \(kind.table) DROP COLUMN custom_fields; PRAGMA user_version = 2;"
            )
            var expected = EntryFixtures.fullEntry("old")
            expected.removeAllCustomFields()

            let reopened = try kind.open(in: directory, cipher: cipher)
            XCTAssertEqual(try reopened.get("old"), expected, "\(kind): a v2 row loads, with no custom fields")
            let written = customEntry("new")
            try reopened.apply([.put(written)])
            reopened.close()
            XCTAssertEqual(
                try SQLiteTestSupport.rawQuery(path, "PRAGMA user_version"),
                ["\(SQLiteSchema.currentVersion)"],
                "\(kind)"
            )

            let again = try kind.open(in: directory, cipher: cipher)
            XCTAssertEqual(try again.get("old"), expected, "\(kind)")
            assertSameCustomFields(try again.get("new"), written, "\(kind) after the upgrade")
            again.close()
            try SQLiteTestSupport.rawExecute(path, "DELETE FROM \(kind.table)")
        }
    }

    func testSalvageFindsCustomFieldsInEveryColumnLayout() {
        let l3 = SQLiteStore.entryLayouts(of: .l3)
        XCTAssertEqual(l3.count, 4, "as created, as created by v3, upgraded from v1, upgraded from v2")
        XCTAssertEqual(l3[0].suffix(2), ["proxy_url_encrypted", "custom_fields"])
        XCTAssertEqual(l3[1].suffix(2), ["created_at", "updated_at"])
        XCTAssertEqual(l3[2].suffix(4), ["created_at", "updated_at", "proxy_url_encrypted", "custom_fields"])
        XCTAssertEqual(l3[3].suffix(4), ["proxy_url_encrypted", "created_at", "updated_at", "custom_fields"])
        XCTAssertEqual(SQLiteStore.entryLayouts(of: .l2).count, 1, "L2's added columns are last already")
    }

    func testJSONLKeepsCustomFieldsAcrossAReopen() throws {
        let cipher = EntryFixtures.cipher()
        let path = directory.file("jsonl")
        let written = customEntry("custom")
        let store = try JSONLStore(directory: path, cipher: cipher, fsync: .always, logger: SQLiteTestSupport.logger)
        try store.apply([.put(written), .put(EntryFixtures.plainEntry("plain"))])
        store.close()

        let reopened = try JSONLStore(directory: path, cipher: cipher, fsync: .no, logger: SQLiteTestSupport.logger)
        defer { reopened.close() }
        XCTAssertEqual(try reopened.get("custom"), written)
        assertSameCustomFields(try reopened.get("custom"), written, "JSONL reopened")
        XCTAssertEqual(try reopened.get("plain")?.customFields, [])
    }

    func testJSONLLinesCarryCustomFieldsOnlyWhenThereAreSome() throws {
        var entry = EntryFixtures.plainEntry("k")
        let plain = String(
            decoding: JSONLEntryCodec.encode(JSONLRecord(entry: entry, usernameToken: nil, passwordToken: nil)),
            as: UTF8.self
        )
        XCTAssertFalse(plain.contains("custom_fields"), "lines without custom fields are as before")
        entry.restoreCustomFields([CustomField(name: "b", value: "2"), CustomField(name: "a", value: "1")])
        let line = JSONLEntryCodec.encode(JSONLRecord(entry: entry, usernameToken: nil, passwordToken: nil))
        XCTAssertTrue(String(decoding: line, as: UTF8.self).contains(#""custom_fields": [["b", "2"], ["a", "1"]]"#))
        XCTAssertEqual(JSONLEntryCodec.decode(line.dropLast())?.entry, entry)
        // A line whose custom_fields is not a list of pairs is a corrupt line.
        let bad = #"{"key": "k", "proxy_url": "http://p", "custom_fields": [["only-a-name"]]}"#
        XCTAssertNil(JSONLEntryCodec.decode(Array(bad.utf8)))
        let old = #"{"key": "k", "proxy_url": "http://p", "source": "s", "fetch_time": 1, "ttl_seconds": 0}"#
        XCTAssertEqual(JSONLEntryCodec.decode(Array(old.utf8))?.entry.customFields, [])
    }

    func testTheSQLiteCodecRoundTripsAndRefusesWhatIsNotPairs() {
        let fields = customEntry("k").customFields
        let text = try? XCTUnwrap(CustomFieldsCodec.encode(fields))
        XCTAssertEqual(text.flatMap(CustomFieldsCodec.decode), fields)
        XCTAssertNil(CustomFieldsCodec.encode([]))
        XCTAssertNil(CustomFieldsCodec.decode(#"{"a": "b"}"#))
        XCTAssertNil(CustomFieldsCodec.decode(#"[["a", "b", "c"]]"#))
        XCTAssertNil(CustomFieldsCodec.decode("not json"))
    }
}

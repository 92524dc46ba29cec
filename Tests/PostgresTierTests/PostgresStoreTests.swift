import BinaryText
import Foundation
import PostgresTier
import TierTestSupport
import XCTest

@testable import Tiers

/// The PostgreSQL L3 against a real PostgreSQL: the behaviours the SQLite L3 tests check, and the fleet's own
/// (the key check, the journal sequence per sidecar, concurrent opens).
final class PostgresStoreTests: PostgresStoreTestCase {
    func testRoundTripOfEveryFieldIncludingBinaryKeysAndValues() throws {
        let store = try open(cipher: EntryFixtures.cipher())
        defer { store.close() }
        let full = EntryFixtures.fullEntry("full")
        let plain = EntryFixtures.plainEntry("plain")
        var unicode = EntryFixtures.plainEntry("ünïcode key ✓ with\0nul", ttl: 0)
        unicode.username = ""
        unicode.password = ""
        unicode.healthStatus = .dead
        // Bytes that are not UTF-8 and NULs, in the key, the value, the source and a custom field.
        let binaryKey = BinaryText.string(from: [0x00, 0xFF, 0xFE, 0x41, 0x00, 0xC3, 0x28])
        var binary = EntryFixtures.fullEntry(binaryKey)
        binary.proxyURL = BinaryText.string(from: [0x68, 0x00, 0x80, 0x00, 0xFF])
        binary.source = BinaryText.string(from: [0x00, 0xE9])
        binary.lastHealthError = "nul\0inside"
        binary.restoreCustomFields([CustomField(name: "raw", value: BinaryText.string(from: [0x00, 0x9F, 0x00]))])
        try store.apply([.put(full), .put(plain), .put(unicode), .put(binary)])

        XCTAssertEqual(try store.get("full"), full)
        XCTAssertEqual(try store.get("plain"), plain)
        XCTAssertNil(try store.get("plain")?.expiresAt, "a nil expiry stays nil (PERSIST)")
        XCTAssertEqual(try store.get(unicode.key), unicode)
        XCTAssertEqual(try store.get(binaryKey), binary)
        XCTAssertEqual(BinaryText.bytes(of: try store.get(binaryKey)?.proxyURL ?? ""), [0x68, 0x00, 0x80, 0x00, 0xFF])
        XCTAssertNil(try store.get("missing"))
        XCTAssertNil(
            try store.get(BinaryText.string(from: [0x00, 0xFF, 0xFE, 0x41, 0x00, 0xC3])),
            "a prefix is not a key"
        )
        XCTAssertEqual(try store.count(), 4)
        XCTAssertEqual(store.tier, .l3)
        XCTAssertTrue(store.description.hasPrefix("postgresql postgres://postgres:***@/"), store.description)
        XCTAssertFalse(store.description.contains(cluster.password), store.description)

        let keys = try store.scanKeys(cursor: 0, limit: 10).keys
        XCTAssertEqual(Set(keys), ["full", "plain", unicode.key, binaryKey], "scan returns the keys' exact bytes")
    }

    func testCredentialsAreStoredOnlyAsFernetTokens() throws {
        let cipher = EntryFixtures.cipher()
        let store = try open(cipher: cipher)
        defer { store.close() }
        var entry = EntryFixtures.fullEntry("secretive")
        entry.proxyURL = "http://alice:url-PASSWORD@10.0.0.9:3128"
        try store.apply([.put(entry), .put(EntryFixtures.plainEntry("nocreds"))])

        let everything = try query("SELECT t::text FROM cache_entries t").joined(separator: "\n")
        XCTAssertFalse(everything.isEmpty)
        for secret in [entry.password!, entry.username!, "url-PASSWORD"] {
            XCTAssertFalse(everything.contains(secret), "\(secret) in clear in the table")
            XCTAssertFalse(everything.contains(hex(secret)), "\(secret) in clear (as bytea hex) in the table")
        }
        let token = try query(
            "SELECT convert_from(password_encrypted, 'UTF8') FROM cache_entries WHERE key = 'secretive'::bytea"
        )
        XCTAssertEqual(token.count, 1)
        XCTAssertTrue(token[0].hasPrefix("gAAAAA"), "a Fernet token: \(token[0])")
        XCTAssertEqual(try cipher.decrypt(token[0]), entry.password)
        XCTAssertEqual(
            try query("SELECT convert_from(proxy_url, 'UTF8') FROM cache_entries WHERE key = 'secretive'::bytea"),
            ["http://alice:***@10.0.0.9:3128"],
            "the URL's password is masked in proxy_url, the whole URL sealed in proxy_url_encrypted"
        )
        XCTAssertEqual(
            try query(
                "SELECT count(*) FROM cache_entries WHERE key = 'nocreds'::bytea "
                    + "AND username_encrypted IS NULL AND password_encrypted IS NULL"
            ),
            ["1"],
            "absent credentials are NULL"
        )
        XCTAssertEqual(try store.get("secretive"), entry)
    }

    func testTablesHaveProxywhirlsColumnsInOrderAndTheForeignKeyCascades() throws {
        let store = try open(cipher: EntryFixtures.cipher())
        defer { store.close() }
        let columns = try query(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'cache_entries' "
                + "ORDER BY ordinal_position"
        )
        XCTAssertEqual(columns, L3Layout.entries.columns.map(\.name) + ["row_id"])
        let types = try query(
            "SELECT column_name || ' ' || data_type FROM information_schema.columns "
                + "WHERE table_name = 'cache_entries' AND column_name IN ('key', 'fetch_time', 'access_count', "
                + "'health_status', 'password_encrypted') ORDER BY column_name"
        )
        XCTAssertEqual(
            types,
            [
                "access_count bigint", "fetch_time double precision", "health_status text", "key bytea",
                "password_encrypted bytea",
            ]
        )
        let indexes = try query("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'idx_%' ORDER BY indexname")
        XCTAssertEqual(Set(indexes), Set((L3Layout.entries.indexes + L3Layout.history.indexes).map(\.name)))
        XCTAssertEqual(
            try query(
                "SELECT confdeltype FROM pg_constraint WHERE conrelid = 'health_history'::regclass AND contype = 'f'"
            ),
            ["c"],
            "ON DELETE CASCADE"
        )
        XCTAssertEqual(try query("SELECT version FROM cachesrvd_schema"), ["1"])
    }

    func testUpsertKeepsCreatedAtAndRowID() throws {
        let store = try open(cipher: EntryFixtures.cipher())
        defer { store.close() }
        var entry = EntryFixtures.fullEntry("k")
        try store.apply([.put(EntryFixtures.plainEntry("first")), .put(entry)])
        let row = "SELECT row_id || ' ' || created_at || ' ' || updated_at FROM cache_entries WHERE key = 'k'::bytea"
        let before = try query(row)[0].split(separator: " ").map { Double($0)! }
        XCTAssertGreaterThan(before[1], 1_600_000_000, "created_at is the wall clock")
        XCTAssertEqual(before[1], before[2])
        _ = try query("UPDATE cache_entries SET created_at = 5, updated_at = 5 WHERE key = 'k'::bytea")
        entry.accessCount += 1
        entry.password = "rotated"
        try store.apply([.put(entry)])
        let after = try query(row)[0].split(separator: " ").map { Double($0)! }
        XCTAssertEqual(after[0], before[0], "same row_id")
        XCTAssertEqual(after[1], 5, "created_at kept")
        XCTAssertGreaterThan(after[2], 1_600_000_000, "updated_at moved")
        XCTAssertEqual(try store.get("k"), entry)
    }

    func testHistoryIsNewestFirstLimitedAndTrimmedToKeep() throws {
        let store = try open(cipher: EntryFixtures.cipher())
        defer { store.close() }
        try StoreContract.checkHistory(store, label: "postgresql") { key in
            Int(try query("SELECT count(*) FROM health_history WHERE proxy_key = '\(key)'::bytea")[0])!
        }
        let bare = HealthCheckRecord(checkTime: 4.5, status: .unhealthy, errorMessage: "refused\0here")
        try store.apply([.appendHealth(key: "p", record: bare, keep: 3)])
        XCTAssertEqual(try store.history("p", limit: 10), [StoreContract.check(6), StoreContract.check(5), bare])
        // A check for a key with no entry is skipped, without failing the batch.
        try store.apply([
            .appendHealth(key: "ghost", record: StoreContract.check(1), keep: 4),
            .put(EntryFixtures.plainEntry("after")),
        ])
        XCTAssertEqual(try store.history("ghost", limit: 10), [])
        XCTAssertNotNil(try store.get("after"))
    }

    func testDeletingAnEntryCascadesToItsHistory() throws {
        let store = try open(cipher: EntryFixtures.cipher())
        defer { store.close() }
        let record = HealthCheckRecord(checkTime: 1, status: .healthy)
        try store.apply([
            .put(EntryFixtures.plainEntry("gone")), .put(EntryFixtures.plainEntry("stays")),
            .appendHealth(key: "gone", record: record, keep: 10), .appendHealth(key: "stays", record: record, keep: 10),
        ])
        try store.apply([.delete(key: "gone")])
        XCTAssertEqual(try query("SELECT convert_from(proxy_key, 'UTF8') FROM health_history"), ["stays"])
        XCTAssertEqual(try store.history("gone", limit: 10), [])
        _ = try store.removeExpired(now: 0)
        XCTAssertEqual(try store.removeAll(), 1)
        XCTAssertEqual(try query("SELECT count(*) FROM health_history"), ["0"])
    }

    func testRemoveExpiredDeletesOnlyExpiredAndReturnsKeys() throws {
        let store = try open(cipher: EntryFixtures.cipher())
        defer { store.close() }
        try StoreContract.checkRemoveExpired(store, label: "postgresql")
    }

    func testEvictionPolicies() throws {
        let store = try open(cipher: EntryFixtures.cipher())
        defer { store.close() }
        try StoreContract.checkEvictionPolicies(store, label: "postgresql")
    }

    func testScanReturnsEveryKeyOnceInStableOrder() throws {
        let store = try open(cipher: EntryFixtures.cipher())
        defer { store.close() }
        try StoreContract.checkScan(store, count: 500, label: "postgresql")
    }

    func testAFailingBatchChangesNothing() throws {
        let store = try open(cipher: EntryFixtures.cipher())
        defer { store.close() }
        try store.apply([.put(EntryFixtures.plainEntry("kept"))])
        // Another client adds a trigger that refuses one row.
        _ = try query(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                + "IF NEW.key = 'poison'::bytea THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$"
        )
        _ = try query("CREATE TRIGGER refuse BEFORE INSERT ON cache_entries FOR EACH ROW EXECUTE FUNCTION refuse()")
        XCTAssertEqual(
            Self.errorKind {
                try store.apply([
                    .delete(key: "kept"), .put(EntryFixtures.plainEntry("new")),
                    .put(EntryFixtures.plainEntry("poison")),
                ])
            },
            .io
        )
        XCTAssertNotNil(try store.get("kept"), "rolled back")
        XCTAssertNil(try store.get("new"), "rolled back")
        try store.apply([.put(EntryFixtures.plainEntry("after"))])
        XCTAssertEqual(try store.count(), 2, "the store still works")
    }

    func testJournalSequenceIsKeptPerSidecar() throws {
        let cipher = EntryFixtures.cipher()
        let a = try open(cipher: cipher, sidecar: "host-a")
        defer { a.close() }
        let b = try open(cipher: cipher, sidecar: "host-b")
        defer { b.close() }
        XCTAssertEqual(try a.appliedJournalSequence(), 0, "a new sidecar")
        try a.apply([.put(EntryFixtures.plainEntry("x"))], journalThrough: 41)
        try b.apply([], journalThrough: 7)
        XCTAssertEqual(try a.appliedJournalSequence(), 41)
        XCTAssertEqual(try b.appliedJournalSequence(), 7)
        try a.apply([.put(EntryFixtures.plainEntry("y"))], journalThrough: 42)
        XCTAssertEqual(try b.appliedJournalSequence(), 7, "another sidecar's record is its own")
        a.close()
        let reopened = try open(cipher: cipher, sidecar: "host-a")
        defer { reopened.close() }
        XCTAssertEqual(try reopened.appliedJournalSequence(), 42, "kept across a restart")
        XCTAssertEqual(try reopened.count(), 2, "both sidecars see one L3")
    }

    func testASidecarWithAnotherKeyRefusesToOpen() throws {
        let fleetKey = FernetKey.generate()
        let first = try open(cipher: CredentialCipher(current: fleetKey))
        try first.apply([.put(EntryFixtures.fullEntry("shared"))])
        first.close()
        XCTAssertEqual(try query("SELECT count(*) FROM cachesrvd_key_check"), ["1"], "the first sidecar wrote it")

        do {
            _ = try open(cipher: EntryFixtures.cipher())
            XCTFail("a sidecar with another key opened the store")
        } catch let error as StoreError {
            XCTAssertEqual(error.kind, .decryption)
            XCTAssertTrue(error.message.contains("written with a different encryption key"), error.message)
        }
        // The fleet's key as a previous key (a rotation in progress) still reads the database.
        let rotating = try open(cipher: CredentialCipher(current: .generate(), previous: [fleetKey]))
        defer { rotating.close() }
        XCTAssertEqual(try rotating.get("shared"), EntryFixtures.fullEntry("shared"))
    }

    func testSidecarsOpeningANewDatabaseAtOnceAllSucceed() throws {
        let cipher = EntryFixtures.cipher()
        let configuration = try self.configuration()
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: 4) { index in
            var own = configuration
            own.sidecarID = "racer-\(index)"
            do {
                let store = try PostgresStore(own, cipher: cipher, logger: Self.logger)
                defer { store.close() }
                try store.apply([.put(EntryFixtures.plainEntry("k\(index)"))])
                results.record("ok")
            } catch {
                results.record("\(error)")
            }
        }
        XCTAssertEqual(results.values, ["ok", "ok", "ok", "ok"])
        XCTAssertEqual(try query("SELECT count(*) FROM cache_entries"), ["4"])
        XCTAssertEqual(try query("SELECT count(*) FROM cachesrvd_key_check"), ["1"])
    }

    func testPasswordFromPGPASSWORDAndAClosedStore() throws {
        let store = try PostgresStore(
            configuration(withPassword: false),
            cipher: EntryFixtures.cipher(),
            logger: Self.logger
        )
        try store.apply([.put(EntryFixtures.plainEntry("x"))])
        store.close()
        store.close()
        XCTAssertEqual(Self.errorKind { try store.count() }, .closed)
        XCTAssertEqual(Self.errorKind { try store.apply([.delete(key: "x")]) }, .closed)
    }

    func testUnreachableServerIsAnIOErrorThatNamesNoPassword() throws {
        let url = try PostgresURL(
            "postgres://postgres:hunter2-secret@/\(database!)?host=/nonexistent-dir&connect_timeout=2",
            environment: [:]
        )
        do {
            _ = try PostgresStore(.init(url: url, sidecarID: "s"), cipher: EntryFixtures.cipher(), logger: Self.logger)
            XCTFail("opened a store on a socket that does not exist")
        } catch {
            XCTAssertEqual(error.kind, .unreachable)
            XCTAssertFalse(error.description.contains("hunter2"), error.description)
            XCTAssertTrue(error.description.contains("postgres://postgres:***@/"), error.description)
        }
    }

    func testAWrongPasswordIsRefused() throws {
        let url = try PostgresURL(
            "postgres://postgres:wrong-one@/\(database!)?host=\(cluster.socketDirectory)",
            environment: [:]
        )
        XCTAssertEqual(
            Self.errorKind {
                try PostgresStore(.init(url: url, sidecarID: "s"), cipher: EntryFixtures.cipher(), logger: Self.logger)
            },
            .io
        )
    }

    /// What concurrent openers report. `@unchecked Sendable`: `values` is guarded by `lock`.
    private final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var recorded: [String] = []

        func record(_ value: String) {
            lock.lock()
            recorded.append(value)
            lock.unlock()
        }

        var values: [String] {
            lock.lock()
            defer { lock.unlock() }
            return recorded
        }
    }

    private func hex(_ text: String) -> String {
        text.utf8.map { String(format: "%02x", $0) }.joined()
    }
}

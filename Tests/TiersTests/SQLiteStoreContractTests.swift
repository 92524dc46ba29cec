import Logging
import TierTestSupport
import XCTest

@testable import Tiers

/// Behaviour both SQLite stores share, each test run against L2 and L3 on real files.
final class SQLiteStoreContractTests: XCTestCase {
    private var directory: SQLiteTestDirectory!

    override func setUp() {
        directory = SQLiteTestDirectory()
    }

    override func tearDown() {
        directory.remove()
    }

    func testRoundTripOfEveryField() throws {
        for kind in SQLiteStoreKind.allCases {
            let store = try kind.open(in: directory, cipher: EntryFixtures.cipher())
            defer { store.close() }
            let full = EntryFixtures.fullEntry("full")
            let plain = EntryFixtures.plainEntry("plain")
            var emptyCredentials = EntryFixtures.plainEntry("ünïcode key ✓ with\0nul", ttl: 0)
            emptyCredentials.username = ""
            emptyCredentials.password = ""
            emptyCredentials.healthStatus = .dead
            try store.apply([.put(full), .put(plain), .put(emptyCredentials)])

            XCTAssertEqual(try store.get("full"), full, "\(kind)")
            XCTAssertEqual(try store.get("plain"), plain, "\(kind)")
            XCTAssertNil(try store.get("plain")?.expiresAt, "\(kind): nil expiry stays nil (PERSIST)")
            XCTAssertEqual(try store.get(emptyCredentials.key), emptyCredentials, "\(kind)")
            XCTAssertNil(try store.get("missing"), "\(kind)")
            XCTAssertEqual(try store.count(), 3, "\(kind)")
            XCTAssertEqual(store.tier, kind == .l2 ? .l2 : .l3)
            XCTAssertTrue(store.description.hasPrefix("sqlite /"), store.description)
        }
    }

    func testCredentialsAreStoredOnlyAsFernetTokens() throws {
        for kind in SQLiteStoreKind.allCases {
            let cipher = EntryFixtures.cipher()
            let store = try kind.open(in: directory, cipher: cipher)
            let entry = EntryFixtures.fullEntry("secretive")
            try store.apply([.put(entry), .put(EntryFixtures.plainEntry("nocreds"))])
            let path = kind.databasePath(in: directory)
            // While open the rows may sit in the -wal file; after close they are in the main file.
            for file in [path, path + "-wal"] {
                let bytes = SQLiteTestSupport.bytes(of: file)
                XCTAssertFalse(SQLiteTestSupport.contains(bytes, entry.password!), "\(kind) \(file)")
                XCTAssertFalse(SQLiteTestSupport.contains(bytes, entry.username!), "\(kind) \(file)")
            }
            store.close()
            let bytes = SQLiteTestSupport.bytes(of: path)
            XCTAssertTrue(SQLiteTestSupport.contains(bytes, entry.proxyURL), "\(kind): the file holds the rows")
            XCTAssertFalse(SQLiteTestSupport.contains(bytes, entry.password!), "\(kind)")

            let rows = try SQLiteTestSupport.rawQuery(
                path,
                "SELECT typeof(password_encrypted) || ' ' || CAST(password_encrypted AS TEXT) FROM \(kind.table) "
                    + "WHERE key = 'secretive'"
            )
            let parts = rows.first??.split(separator: " ", maxSplits: 1).map(String.init) ?? []
            XCTAssertEqual(parts.first, "blob", "\(kind)")
            XCTAssertEqual(try cipher.decrypt(parts.last ?? ""), entry.password, "\(kind): a Fernet token's bytes")
            XCTAssertEqual(
                try SQLiteTestSupport.rawQuery(
                    path,
                    "SELECT count(*) FROM \(kind.table) WHERE key = 'nocreds' "
                        + "AND username_encrypted IS NULL AND password_encrypted IS NULL"
                ),
                ["1"],
                "\(kind): absent credentials are NULL"
            )
        }
    }

    func testReopenKeepsEverything() throws {
        for kind in SQLiteStoreKind.allCases {
            let cipher = EntryFixtures.cipher()
            let entries = (0..<50).map { EntryFixtures.fullEntry("k\($0)") }
            do {
                let store = try kind.open(in: directory, cipher: cipher, fsync: .always)
                try store.apply(entries.map { .put($0) })
                try store.apply([.delete(key: "k0")])
                store.close()
                XCTAssertEqual(SQLiteTestSupport.errorKind { try store.count() }, .closed, "\(kind)")
                XCTAssertEqual(SQLiteTestSupport.errorKind { try store.apply([.delete(key: "k1")]) }, .closed)
            }
            let reopened = try kind.open(in: directory, cipher: cipher)
            defer { reopened.close() }
            XCTAssertEqual(try reopened.count(), 49, "\(kind)")
            XCTAssertNil(try reopened.get("k0"), "\(kind)")
            XCTAssertEqual(try reopened.get("k42"), entries[42], "\(kind)")
        }
    }

    func testPutReplacesAndDeleteRemoves() throws {
        for kind in SQLiteStoreKind.allCases {
            let store = try kind.open(in: directory, cipher: EntryFixtures.cipher())
            defer { store.close() }
            var entry = EntryFixtures.fullEntry("a")
            try store.apply([.put(entry)])
            entry.password = nil
            entry.expiresAt = nil
            entry.accessCount = 99
            entry.healthStatus = .healthy
            try store.apply([.put(entry)])
            XCTAssertEqual(try store.get("a"), entry, "\(kind)")
            XCTAssertEqual(try store.count(), 1, "\(kind)")
            // Writes apply in order within the batch.
            try store.apply([.delete(key: "a"), .put(EntryFixtures.plainEntry("b")), .delete(key: "nope")])
            XCTAssertNil(try store.get("a"), "\(kind)")
            XCTAssertEqual(try store.count(), 1, "\(kind)")
            try store.apply([])
        }
    }

    func testScanReturnsEveryKeyOnceInStableOrder() throws {
        for kind in SQLiteStoreKind.allCases {
            let store = try kind.open(in: directory, cipher: EntryFixtures.cipher())
            defer { store.close() }
            let keys = (0..<1000).map { "key-\($0)" }
            try store.apply(keys.map { .put(EntryFixtures.plainEntry($0)) })
            var seen: [String] = []
            var cursor: UInt64 = 0
            var rounds = 0
            repeat {
                let page = try store.scanKeys(cursor: cursor, limit: 64)
                seen += page.keys
                cursor = page.next
                rounds += 1
                if rounds == 3 {
                    // Changes during a scan: updates keep their place; deleted and new keys may or may not show.
                    try store.apply([
                        .put(EntryFixtures.plainEntry("key-0", now: 5)), .delete(key: "key-999"),
                        .put(EntryFixtures.plainEntry("late")),
                    ])
                }
            } while cursor != 0 && rounds < 1000
            XCTAssertEqual(Set(seen).count, seen.count, "\(kind): no duplicates")
            XCTAssertTrue(Set(keys.dropLast()).isSubset(of: Set(seen)), "\(kind): every key present throughout")
            XCTAssertEqual(Array(seen.prefix(998)), Array(keys.prefix(998)), "\(kind): insertion (rowid) order")
            XCTAssertEqual(try store.scanKeys(cursor: 0, limit: 0).keys, [], "\(kind)")
            let emptyDirectory = SQLiteTestDirectory()
            defer { emptyDirectory.remove() }
            let empty = try kind.open(in: emptyDirectory, cipher: EntryFixtures.cipher())
            XCTAssertEqual(try empty.scanKeys(cursor: 0, limit: 10).next, 0)
            empty.close()
        }
    }

    func testRemoveExpiredDeletesOnlyExpiredAndReturnsKeys() throws {
        for kind in SQLiteStoreKind.allCases {
            let store = try kind.open(in: directory, cipher: EntryFixtures.cipher())
            defer { store.close() }
            let now = 1_000.0
            try store.apply([
                .put(EntryFixtures.plainEntry("past", now: 0, ttl: 10)),
                .put(EntryFixtures.plainEntry("exactly-now", now: 900, ttl: 100)),
                .put(EntryFixtures.plainEntry("future", now: 999, ttl: 100)),
                .put(EntryFixtures.plainEntry("forever", now: 0, ttl: nil)),
            ])
            XCTAssertEqual(Set(try store.removeExpired(now: now)), ["past", "exactly-now"], "\(kind)")
            XCTAssertEqual(try store.count(), 2, "\(kind)")
            XCTAssertEqual(try store.removeExpired(now: now), [], "\(kind)")
            XCTAssertEqual(try store.removeExpired(now: 1e12), ["future"], "\(kind): never-expiring stays")
        }
    }

    func testRemoveExpiredFiveThousandOfTenThousand() throws {
        for kind in SQLiteStoreKind.allCases {
            let store = try kind.open(in: directory, cipher: EntryFixtures.cipher())
            defer { store.close() }
            let entries = (0..<10_000).map { index in
                EntryFixtures.plainEntry("p\(index)", now: 0, ttl: index.isMultiple(of: 2) ? 10 : 1_000_000)
            }
            try store.apply(entries.map { .put($0) })
            let start = SystemClock().now()
            let removed = try store.removeExpired(now: 100)
            let elapsed = SystemClock().now() - start
            XCTAssertEqual(removed.count, 5000, "\(kind)")
            XCTAssertEqual(try store.count(), 5000, "\(kind)")
            // Reported, not asserted (shared machine): proxywhirl's target is < 100 ms.
            print("\(kind) removeExpired: 5000 of 10000 rows in \(Int(elapsed * 1000)) ms")
        }
    }

    func testEvictionPolicies() throws {
        for kind in SQLiteStoreKind.allCases {
            let store = try kind.open(in: directory, cipher: EntryFixtures.cipher())
            defer { store.close() }
            // Inserted a, b, c, d; recency d < b < a < c; frequency b(1) < d(2)=c(2) < a(9).
            func entry(_ key: String, lastAccessed: Double, accessCount: Int) -> CacheEntry {
                var entry = EntryFixtures.plainEntry(key)
                entry.lastAccessed = lastAccessed
                entry.accessCount = accessCount
                return entry
            }
            let entries = [
                entry("a", lastAccessed: 30, accessCount: 9), entry("b", lastAccessed: 20, accessCount: 1),
                entry("c", lastAccessed: 40, accessCount: 2), entry("d", lastAccessed: 10, accessCount: 2),
            ]
            func reset() throws {
                _ = try store.removeAll()
                try store.apply(entries.map { .put($0) })
            }
            try reset()
            XCTAssertEqual(try store.evict(toAtMost: 4, policy: .lru), [], "\(kind): not over the limit")
            XCTAssertEqual(Set(try store.evict(toAtMost: 2, policy: .lru)), ["d", "b"], "\(kind) lru")
            try reset()
            XCTAssertEqual(Set(try store.evict(toAtMost: 2, policy: .lfu)), ["b", "d"], "\(kind) lfu")
            try reset()
            XCTAssertEqual(Set(try store.evict(toAtMost: 1, policy: .lfu)), ["b", "d", "c"], "\(kind) lfu")
            try reset()
            // An update does not move an entry in FIFO order.
            try store.apply([.put(entry("a", lastAccessed: 99, accessCount: 99))])
            XCTAssertEqual(Set(try store.evict(toAtMost: 3, policy: .fifo)), ["a"], "\(kind) fifo")
            XCTAssertEqual(Set(try store.evict(toAtMost: 0, policy: .fifo)), ["b", "c", "d"], "\(kind) fifo")
            XCTAssertEqual(try store.count(), 0, "\(kind)")
        }
    }

    func testRemoveAllReturnsHowManyThereWere() throws {
        for kind in SQLiteStoreKind.allCases {
            let store = try kind.open(in: directory, cipher: EntryFixtures.cipher())
            defer { store.close() }
            try store.apply((0..<25).map { .put(EntryFixtures.plainEntry("r\($0)")) })
            XCTAssertEqual(try store.removeAll(), 25, "\(kind)")
            XCTAssertEqual(try store.count(), 0, "\(kind)")
            XCTAssertEqual(try store.removeAll(), 0, "\(kind)")
        }
    }

    func testAFailingBatchChangesNothing() throws {
        for kind in SQLiteStoreKind.allCases {
            let store = try kind.open(in: directory, cipher: EntryFixtures.cipher())
            defer { store.close() }
            try store.apply([.put(EntryFixtures.plainEntry("kept"))])
            // Another connection (as another process could) adds a trigger that refuses one row.
            let path = kind.databasePath(in: directory)
            try SQLiteTestSupport.rawExecute(
                path,
                "CREATE TRIGGER refuse BEFORE INSERT ON \(kind.table) WHEN NEW.key = 'poison' "
                    + "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
            XCTAssertNotNil(
                SQLiteTestSupport.errorKind {
                    try store.apply([
                        .delete(key: "kept"), .put(EntryFixtures.plainEntry("new")),
                        .put(EntryFixtures.plainEntry("poison")),
                    ])
                },
                "\(kind)"
            )
            XCTAssertNotNil(try store.get("kept"), "\(kind): rolled back")
            XCTAssertNil(try store.get("new"), "\(kind): rolled back")
            try store.apply([.put(EntryFixtures.plainEntry("after"))])
            XCTAssertEqual(try store.count(), 2, "\(kind): the store still works")
        }
    }

    func testSyncUnderEveryFsyncPolicy() throws {
        for kind in SQLiteStoreKind.allCases {
            for policy in FsyncPolicy.allCases {
                let directory = SQLiteTestDirectory()
                defer { directory.remove() }
                let cipher = EntryFixtures.cipher()
                let store = try kind.open(in: directory, cipher: cipher, fsync: policy)
                try store.apply([.put(EntryFixtures.fullEntry("s"))])
                try store.sync()
                store.close()
                XCTAssertEqual(SQLiteTestSupport.errorKind { try store.sync() }, policy == .everysec ? .closed : nil)
                let reopened = try kind.open(in: directory, cipher: cipher, fsync: policy)
                XCTAssertEqual(try reopened.get("s"), EntryFixtures.fullEntry("s"), "\(kind) \(policy)")
                reopened.close()
            }
        }
    }
}

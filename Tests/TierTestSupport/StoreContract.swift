import Tiers
import XCTest

/// Behaviour every `PersistentStore` shares, whatever its backend (SQLite L2 and L3, PostgreSQL), checked on an
/// empty store; `label` names the store in failure messages.
public enum StoreContract {
    /// `removeExpired` deletes exactly the entries whose `expires_at` has come (`<= now`), returns their keys, and
    /// never the entries without one.
    public static func checkRemoveExpired(
        _ store: any PersistentStore,
        label: String,
        file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        try store.apply([
            .put(EntryFixtures.plainEntry("past", now: 0, ttl: 10)),
            .put(EntryFixtures.plainEntry("exactly-now", now: 900, ttl: 100)),
            .put(EntryFixtures.plainEntry("future", now: 999, ttl: 100)),
            .put(EntryFixtures.plainEntry("forever", now: 0, ttl: nil)),
        ])
        XCTAssertEqual(
            Set(try store.removeExpired(now: 1_000)),
            ["past", "exactly-now"],
            label,
            file: file,
            line: line
        )
        XCTAssertEqual(try store.count(), 2, label, file: file, line: line)
        XCTAssertEqual(try store.removeExpired(now: 1_000), [], label, file: file, line: line)
        XCTAssertEqual(
            try store.removeExpired(now: 1e12),
            ["future"],
            "\(label): never-expiring stays",
            file: file,
            line: line
        )
    }

    /// `evict(toAtMost:policy:)` picks by recency (lru), by access count then recency (lfu), by insertion (fifo, which
    /// an update does not change).
    public static func checkEvictionPolicies(
        _ store: any PersistentStore,
        label: String,
        file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
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
        func evicted(_ limit: Int, _ policy: EvictionPolicy) throws -> Set<String> {
            Set(try store.evict(toAtMost: limit, policy: policy))
        }
        try reset()
        XCTAssertEqual(try evicted(4, .lru), [], "\(label): not over the limit", file: file, line: line)
        XCTAssertEqual(try evicted(2, .lru), ["d", "b"], "\(label) lru", file: file, line: line)
        try reset()
        XCTAssertEqual(try evicted(2, .lfu), ["b", "d"], "\(label) lfu", file: file, line: line)
        try reset()
        XCTAssertEqual(try evicted(1, .lfu), ["b", "d", "c"], "\(label) lfu", file: file, line: line)
        try reset()
        try store.apply([.put(entry("a", lastAccessed: 99, accessCount: 99))])
        XCTAssertEqual(try evicted(3, .fifo), ["a"], "\(label): an update keeps its FIFO place", file: file, line: line)
        XCTAssertEqual(try evicted(0, .fifo), ["b", "c", "d"], "\(label) fifo", file: file, line: line)
        XCTAssertEqual(try store.count(), 0, label, file: file, line: line)
    }

    /// A health check at `time` (its response time and check URL derived from it).
    public static func check(_ time: Double, _ status: HealthStatus = .healthy) -> HealthCheckRecord {
        HealthCheckRecord(checkTime: time, status: status, responseTimeMs: time / 10, checkURL: "http://check/\(time)")
    }

    /// `history` is newest first and limited; `appendHealth` trims a key's history to `keep` rows, deleting the older
    /// ones (`rows` counts what the store holds for a key); each key has its own.
    public static func checkHistory(
        _ store: any PersistentStore,
        label: String,
        rows: (String) throws -> Int,
        file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        try store.apply([.put(EntryFixtures.plainEntry("p")), .put(EntryFixtures.plainEntry("q"))])
        try store.apply((1...6).map { .appendHealth(key: "p", record: check(Double($0)), keep: 4) })
        try store.apply([.appendHealth(key: "q", record: check(100, .dead), keep: 4)])
        XCTAssertEqual(
            try store.history("p", limit: 10),
            [check(6), check(5), check(4), check(3)],
            label,
            file: file,
            line: line
        )
        XCTAssertEqual(try store.history("p", limit: 2), [check(6), check(5)], label, file: file, line: line)
        XCTAssertEqual(try store.history("p", limit: 0), [], label, file: file, line: line)
        XCTAssertEqual(try store.history("q", limit: 10), [check(100, .dead)], label, file: file, line: line)
        XCTAssertEqual(try rows("p"), 4, "\(label): older rows deleted, not just hidden", file: file, line: line)
    }

    /// `scanKeys` over `count` keys, changed during the scan: every key present throughout comes once, in insertion
    /// order; an update keeps its place.
    public static func checkScan(
        _ store: any PersistentStore,
        count: Int,
        label: String,
        file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        let keys = (0..<count).map { "key-\($0)" }
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
                    .put(EntryFixtures.plainEntry("key-0", now: 5)), .delete(key: "key-\(count - 1)"),
                    .put(EntryFixtures.plainEntry("late")),
                ])
            }
        } while cursor != 0 && rounds < 1000
        XCTAssertEqual(Set(seen).count, seen.count, "\(label): no duplicates", file: file, line: line)
        XCTAssertTrue(
            Set(keys.dropLast()).isSubset(of: Set(seen)),
            "\(label): every key present throughout",
            file: file,
            line: line
        )
        XCTAssertEqual(
            Array(seen.prefix(count - 2)),
            Array(keys.prefix(count - 2)),
            "\(label): insertion order",
            file: file,
            line: line
        )
        XCTAssertEqual(try store.scanKeys(cursor: 0, limit: 0).keys, [], label, file: file, line: line)
    }
}

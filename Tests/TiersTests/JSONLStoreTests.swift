import BinaryText
import Foundation
import XCTest

@testable import Tiers

final class JSONLStoreTests: JSONLTestCase {
    func testPutGetDeleteAndReopen() throws {
        let store = try makeStore()
        let a = entry("a")
        var b = entry("proxy-1", username: nil, password: nil)
        b.expiresAt = nil  // PERSIST
        try store.apply([.put(a), .put(b)])
        XCTAssertEqual(try store.get("a"), a)
        XCTAssertEqual(try store.get("proxy-1"), b)
        XCTAssertNil(try store.get("missing"))
        XCTAssertEqual(try store.count(), 2)
        store.close()
        XCTAssertThrowsError(try store.get("a")) { XCTAssertEqual(($0 as? StoreError)?.kind, .closed) }

        let reopened = try makeStore()
        XCTAssertEqual(try reopened.get("a"), a)
        XCTAssertEqual(try reopened.get("proxy-1"), b)
        try reopened.apply([.delete(key: "a"), .delete(key: "never-there")])
        XCTAssertNil(try reopened.get("a"))
        XCTAssertEqual(try reopened.count(), 1)
        reopened.close()
        XCTAssertEqual(try makeStore().count(), 1)
    }

    /// A line an older version wrote with a key outside BinaryText's plain range (as text) is read back under the
    /// form the same bytes map to now, from the same shard, so a client's bytes reach it.
    func testOlderTextKeysAreReadInTheFormOfTheirBytes() throws {
        let older = try makeStore()
        try older.apply([.put(entry("日本")), .put(entry("café"))])
        older.close()
        let escaped = BinaryText.string(from: Array("日本".utf8))
        XCTAssertEqual(shardOf(escaped), shardOf("日本"), "the shard of the key's bytes")
        let store = try makeStore()
        defer { store.close() }
        XCTAssertEqual(try store.get(escaped)?.proxyURL, "http://10.0.0.1:8080/日本")
        XCTAssertEqual(try store.get(escaped)?.key, escaped)
        XCTAssertEqual(try store.get("café")?.key, "café", "Latin text is its own form")
    }

    func testShardFilesFollowProxywhirlsLayout() throws {
        // Expected shards from Python: int(hashlib.md5(key.encode()).hexdigest(), 16) % 16.
        XCTAssertEqual(shardOf("a"), 1)
        XCTAssertEqual(shardOf("proxy-1"), 14)
        XCTAssertEqual(shardOf("0123456789abcdef"), 5)
        XCTAssertEqual(shardOf("key:42"), 1)

        let store = try makeStore()
        try store.apply([.put(entry("proxy-1", username: "alice", password: "s3cret"))])
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        XCTAssertTrue(files.contains("shard_14.jsonl"))
        XCTAssertEqual(files.filter { $0.hasSuffix(".lock") }.count, 16)
        let info = try FileManager.default.attributesOfItem(atPath: directory + "/shard_14.jsonl")
        XCTAssertEqual((info[.posixPermissions] as? NSNumber)?.intValue, 0o600)

        let line = try XCTUnwrap(lines(ofShard: 14).first)
        XCTAssertFalse(line.contains("alice"))
        XCTAssertFalse(line.contains("s3cret"))
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(object["key"] as? String, "proxy-1")
        XCTAssertEqual(object["fetch_time"] as? String, "2025-11-25T03:00:00.123456+00:00")
        XCTAssertEqual(object["expires_at"] as? String, "2025-11-25T04:00:00.123456+00:00")
        XCTAssertEqual(object["health_status"] as? String, "unknown")
        XCTAssertEqual(object["evicted_from_l1"] as? Bool, false)
        for field in [
            "proxy_url", "source", "last_accessed", "access_count", "ttl_seconds", "failure_count",
            "last_health_check", "consecutive_health_failures", "consecutive_health_successes", "recovery_attempt",
            "next_check_time", "last_health_error", "total_health_checks", "total_health_check_failures",
        ] {
            XCTAssertNotNil(object[field], field)
        }
        let hex = try XCTUnwrap(object["username_encrypted"] as? String)
        let token = String(decoding: try XCTUnwrap(Hex.decode(hex)), as: UTF8.self)
        XCTAssertEqual(try cipher.decrypt(token), "alice")
    }

    func testPersistIsWrittenAsNull() throws {
        let store = try makeStore()
        try store.apply([.put(entry("forever", ttl: nil))])
        let line = try XCTUnwrap(lines(ofShard: shardOf("forever")).first)
        XCTAssertTrue(line.contains("\"expires_at\": null"), line)
        XCTAssertNil(try makeStore().get("forever")?.expiresAt)
    }

    func testAllFieldsRoundTrip() throws {
        var full = entry("full", username: "ü\"\\\n", password: "p")
        full.accessCount = 7
        full.healthStatus = .degraded
        full.failureCount = 2
        full.evictedFromL1 = true
        full.lastHealthCheck = 1_764_039_000.25
        full.consecutiveHealthFailures = 3
        full.consecutiveHealthSuccesses = 4
        full.recoveryAttempt = 5
        full.nextCheckTime = 1_764_040_000
        full.lastHealthError = "timeout \"x\"\t\u{1}"
        full.totalHealthChecks = 9
        full.totalHealthCheckFailures = 6
        full.source = "sourcé"
        try makeStore().apply([.put(full)])
        XCTAssertEqual(try makeStore().get("full"), full)
    }

    func testCredentialsUnderAnUnknownKeyFailAsDecryption() throws {
        try makeStore().apply([.put(entry("a", username: "u"))])
        let other = try makeStore(cipher: CredentialCipher(current: .generate()))
        XCTAssertThrowsError(try other.get("a")) { XCTAssertEqual(($0 as? StoreError)?.kind, .decryption) }
    }

    func testHistoryIsEmptyAndHealthAppendsAreIgnored() throws {
        let store = try makeStore()
        try store.apply([
            .put(entry("a")),
            .appendHealth(key: "a", record: HealthCheckRecord(checkTime: 1, status: .healthy), keep: 5),
        ])
        XCTAssertEqual(try store.history("a", limit: 10), [])
        XCTAssertEqual(try lines(ofShard: shardOf("a")).count, 1)
    }

    func testScanReturnsEveryKeyOnce() throws {
        let store = try makeStore(.no)
        let keys = (0..<200).map { "key-\($0)" }
        try store.apply(keys.map { .put(entry($0)) })
        var cursor: UInt64 = 0
        var seen = [String]()
        repeat {
            let page = try store.scanKeys(cursor: cursor, limit: 7)
            XCTAssertLessThanOrEqual(page.keys.count, 8)
            seen += page.keys
            cursor = page.next
        } while cursor != 0
        XCTAssertEqual(seen.sorted(), keys.sorted())
    }

    func testScanKeepsKeysPresentThroughoutDespiteChanges() throws {
        let store = try makeStore(.no)
        let stable = (0..<100).map { "stable-\($0)" }
        try store.apply(stable.map { .put(entry($0)) })
        var cursor: UInt64 = 0
        var seen = Set<String>()
        var round = 0
        repeat {
            let page = try store.scanKeys(cursor: cursor, limit: 10)
            seen.formUnion(page.keys)
            cursor = page.next
            // Churn between pages: add new keys, delete some added earlier.
            try store.apply((0..<5).map { .put(entry("churn-\(round)-\($0)")) })
            if round > 0 {
                try store.apply([.delete(key: "churn-\(round - 1)-0"), .delete(key: "churn-\(round - 1)-1")])
            }
            round += 1
        } while cursor != 0
        XCTAssertTrue(Set(stable).isSubset(of: seen))
    }

    func testRemoveExpiredAndRemoveAll() throws {
        let store = try makeStore()
        try store.apply([
            .put(entry("old", now: 1000, ttl: 10)), .put(entry("young", now: 1000, ttl: 1000)),
            .put(entry("forever", now: 1000, ttl: nil)),
        ])
        XCTAssertEqual(try store.removeExpired(now: 1010), ["old"])
        XCTAssertNil(try store.get("old"))
        XCTAssertEqual(try store.count(), 2)
        XCTAssertEqual(try store.removeAll(), 2)
        XCTAssertEqual(try store.count(), 0)
        XCTAssertEqual(try makeStore().count(), 0)
    }

    func testEvictionPolicies() throws {
        let store = try makeStore(.no)
        var entries = [CacheEntry]()
        for index in 0..<6 {
            var value = entry("e\(index)", now: 1000 + Double(index))
            value.lastAccessed = 5000 - Double(index)  // e5 least recently used
            value.accessCount = index == 2 ? 0 : 10 + index  // e2 least frequently used
            entries.append(value)
        }
        try store.apply(entries.map { .put($0) })
        XCTAssertEqual(try store.evict(toAtMost: 5, policy: .lru), ["e5"])
        XCTAssertEqual(try store.evict(toAtMost: 4, policy: .lfu), ["e2"])
        XCTAssertEqual(try store.evict(toAtMost: 3, policy: .fifo), ["e0"])
        XCTAssertEqual(try store.evict(toAtMost: 3, policy: .fifo), [])
        XCTAssertEqual(Set(try store.evict(toAtMost: 1, policy: .lru)), ["e4", "e3"])
        XCTAssertEqual(try makeStore().count(), 1)
    }

    func testReencryptAllMovesEveryCredentialToTheNewKey() throws {
        let store = try makeStore()
        try store.apply([
            .put(entry("a", username: "ua", password: "pa")), .put(entry("b", username: nil, password: nil)),
            .put(entry("c", username: "uc", password: nil)),
        ])
        let newKey = FernetKey.generate()
        let rotated = CredentialCipher(current: newKey, previous: [cipher.current])
        XCTAssertEqual(try store.reencryptAll(with: rotated), 2)
        XCTAssertEqual(try store.get("a")?.password, "pa")
        XCTAssertEqual(try store.reencryptAll(with: rotated), 0, "already current")
        store.close()
        // Only the new key is needed now.
        let newOnly = try makeStore(cipher: CredentialCipher(current: newKey))
        XCTAssertEqual(try newOnly.get("a")?.username, "ua")
        XCTAssertEqual(try newOnly.get("c")?.username, "uc")
        XCTAssertNil(try newOnly.get("b")?.username)
    }
}

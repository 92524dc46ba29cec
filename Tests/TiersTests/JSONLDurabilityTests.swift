import Foundation
import XCTest

@testable import Tiers

/// Appends, compaction, corrupt lines, a second writer on the same directory, flock and recovery.
final class JSONLDurabilityTests: JSONLTestCase {
    func testPutsAppendAndLaterLinesWin() throws {
        let store = try makeStore()
        var value = entry("a")
        for count in 1...5 {
            value.accessCount = count
            try store.apply([.put(value)])
        }
        XCTAssertEqual(try lines(ofShard: shardOf("a")).count, 5, "one appended line per put, no rewrite")
        XCTAssertEqual(try makeStore().get("a")?.accessCount, 5)
    }

    func testBatchTouchesEachShardOnceAndLastWriteWins() throws {
        let store = try makeStore()
        var value = entry("a")
        value.accessCount = 1
        var later = value
        later.accessCount = 2
        try store.apply([.put(value), .put(later)])
        XCTAssertEqual(try lines(ofShard: shardOf("a")).count, 1)
        XCTAssertEqual(try store.get("a")?.accessCount, 2)
        try store.apply([.delete(key: "a"), .put(value)])
        XCTAssertEqual(try store.get("a")?.accessCount, 1)
        try store.apply([.put(value), .delete(key: "a")])
        XCTAssertNil(try store.get("a"))
        XCTAssertEqual(try lines(ofShard: shardOf("a")), [])
    }

    func testCompactionBoundsDeadLines() throws {
        let store = try makeStore(.no)
        var value = entry("a")
        for count in 0..<200 {
            value.accessCount = count
            try store.apply([.put(value)])
        }
        let count = try lines(ofShard: shardOf("a")).count
        XCTAssertLessThanOrEqual(count, 34, "rewritten when dead lines exceed max(live, 32)")
        XCTAssertEqual(try makeStore().get("a")?.accessCount, 199)
    }

    func testDeletesRewriteTheShardWithoutTheKey() throws {
        let store = try makeStore()
        try store.apply([.put(entry("a")), .put(entry("key:42"))])  // both in shard 1
        try store.apply([.delete(key: "a")])
        let remaining = try lines(ofShard: 1)
        XCTAssertEqual(remaining.count, 1)
        XCTAssertTrue(remaining[0].contains("key:42"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/shard_01.jsonl.tmp"))
    }

    func testCorruptLinesAreSkippedAndCounted() throws {
        try makeStore().apply([.put(entry("a")), .put(entry("key:42"))])
        let path = directory + "/shard_01.jsonl"
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text = "not json\n{\"key\": 5}\n{\"no_key\": true}\n" + text + "{\"key\": \"trunc"  // a torn last line
        try text.write(toFile: path, atomically: true, encoding: .utf8)

        let store = try makeStore()
        XCTAssertEqual(store.corruptLinesSkipped, 4)
        XCTAssertEqual(try store.count(), 2)
        try store.apply([.put(entry("b-\(1)"))])
        try store.apply([.put(entry("a", username: "new"))])  // appends after the torn line
        let reopened = try makeStore()
        XCTAssertEqual(try reopened.get("a")?.username, "new")
        XCTAssertEqual(reopened.corruptLinesSkipped, 4)
    }

    func testProxywhirlLinesAreRead() throws {
        let token = Hex.encode(cipher.encrypt("pw-user").utf8)
        let line =
            "{\"key\": \"a\", \"proxy_url\": \"http://1.2.3.4:80\", \"username_encrypted\": \"\(token)\", "
            + "\"password_encrypted\": null, \"source\": \"free\", \"fetch_time\": \"2025-11-25T03:00:00+00:00\", "
            + "\"last_accessed\": \"2025-11-25T05:00:00.5+02:00\", \"access_count\": 3, \"ttl_seconds\": 60, "
            + "\"expires_at\": \"2025-11-25T03:01:00Z\", \"health_status\": \"healthy\", \"failure_count\": 0, "
            + "\"evicted_from_l1\": false}\n"
        try line.write(toFile: directory + "/shard_01.jsonl", atomically: true, encoding: .utf8)
        let read = try XCTUnwrap(try makeStore().get("a"))
        XCTAssertEqual(read.username, "pw-user")
        XCTAssertNil(read.password)
        XCTAssertEqual(read.fetchTime, 1_764_039_600)
        XCTAssertEqual(read.lastAccessed, 1_764_039_600.5)
        XCTAssertEqual(read.expiresAt, 1_764_039_660)
        XCTAssertEqual(read.healthStatus, .healthy)
        XCTAssertEqual(read.accessCount, 3)
    }

    func testASecondWriterOnTheSameDirectoryIsSeen() throws {
        let first = try makeStore()
        let second = try makeStore()
        try first.apply([.put(entry("a", username: "from-first"))])
        // The second store reloads shard 1 before writing to it, so the first's line survives.
        try second.apply([.put(entry("key:42", username: "from-second"))])
        try second.apply([.delete(key: "nothing"), .put(entry("key:42", username: "again"))])
        try first.apply([.put(entry("b"))])
        let third = try makeStore()
        XCTAssertEqual(try third.get("a")?.username, "from-first")
        XCTAssertEqual(try third.get("key:42")?.username, "again")
        // A rewrite by one process (a delete) is picked up by the other before it appends.
        try first.apply([.delete(key: "a")])
        try second.apply([.put(entry("a-\(2)"))])
        try second.apply([.put(entry("key:42", username: "last"))])
        let fourth = try makeStore()
        XCTAssertNil(try fourth.get("a"))
        XCTAssertEqual(try fourth.get("key:42")?.username, "last")
    }

    func testAHeldShardLockMakesWritesBusy() throws {
        let store = try makeStore()
        let fd = open(directory + "/shard_01.lock", O_RDWR)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        XCTAssertEqual(flock(fd, LOCK_EX), 0)
        store.shards[1].lock.withLock { store.shards[1].lockTimeoutMilliseconds = 20 }
        XCTAssertThrowsError(try store.apply([.put(entry("a"))])) {
            XCTAssertEqual(($0 as? StoreError)?.kind, .busy)
        }
        XCTAssertNil(try store.get("a"))
        flock(fd, LOCK_UN)
        try store.apply([.put(entry("a"))])
        XCTAssertNotNil(try store.get("a"))
    }

    func testUnreadableShardIsRecoveredByMovingShardsAside() throws {
        try makeStore().apply([.put(entry("proxy-1"))])
        try FileManager.default.createDirectory(
            atPath: directory + "/shard_01.jsonl",
            withIntermediateDirectories: false
        )
        let store = try makeStore()
        XCTAssertThrowsError(try store.get("a")) { XCTAssertEqual(($0 as? StoreError)?.kind, .corrupt) }
        XCTAssertNotNil(try store.get("proxy-1"), "other shards still work")

        let movedTo = try store.recoverFromCorruption()
        XCTAssertTrue(movedTo.contains("/shards.corrupt-"), movedTo)
        XCTAssertTrue(FileManager.default.fileExists(atPath: movedTo + "/shard_14.jsonl"))
        XCTAssertEqual(try store.count(), 0)
        try store.apply([.put(entry("a"))])
        XCTAssertNotNil(try makeStore().get("a"))
    }

    func testSyncAndPoliciesWrite() throws {
        for policy in FsyncPolicy.allCases {
            try? FileManager.default.removeItem(atPath: directory)
            let store = try makeStore(policy)
            try store.apply([.put(entry("a")), .put(entry("proxy-1"))])
            try store.sync()
            try store.sync()
            store.close()
            XCTAssertEqual(try makeStore().count(), 2, "\(policy)")
        }
    }

    func testReadersRunAlongsideTheWriter() throws {
        let store = try makeStore(.no)
        let entries = (0..<64).map { entry("c\($0)", username: "u-c\($0)") }
        try store.apply(entries.map { .put($0) })
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            do {
                for round in 0..<50 {
                    if worker == 0 {
                        let value = entries[round % entries.count]
                        try store.apply([.put(value), .delete(key: "gone")])
                        if round % 10 == 0 {
                            try store.apply([.delete(key: value.key), .put(value)])
                        }
                    } else {
                        for value in entries {
                            let read = try store.get(value.key)
                            XCTAssertEqual(read?.username, value.username)
                        }
                        XCTAssertEqual(try store.count(), entries.count)
                    }
                }
            } catch {
                XCTFail("\(error)")
            }
        }
        XCTAssertEqual(try makeStore().count(), entries.count)
    }
}

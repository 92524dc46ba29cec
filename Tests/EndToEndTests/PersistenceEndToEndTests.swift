import CacheProtocol
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The disk tiers through the real server: restarts, credentials at rest, demotion and promotion, crashes under
/// `--fsync always`, a corrupt L3 file, the JSONL backend.
final class PersistenceEndToEndTests: XCTestCase {
    func testEntriesAndCredentialsSurviveARestartButExpiredOnesDoNot() throws {
        let first = try ServerProcess()
        defer { first.removeDirectory() }
        let client = try first.client()
        XCTAssertEqual(
            try client.command([
                "PUT", "keep", "http://10.0.0.1:3128", "username", "alice", "password", "hunter2-secret",
            ]),
            .ok
        )
        XCTAssertEqual(try client.command(["HEALTH", "keep", "fail", "250", "timeout"]), .simpleString("unhealthy"))
        XCTAssertEqual(try client.command(["SET", "brief", "http://10.0.0.2:3128", "PX", "300"]), .ok)
        XCTAssertEqual(first.stop(), 0)
        let deadline = Date().addingTimeInterval(0.4)
        while Date() < deadline { usleep(20_000) }  // let "brief" expire while the server is down

        let second = try ServerProcess(directory: first.directory)
        defer { second.stop() }
        let again = try second.client()
        XCTAssertEqual(try again.command(["HGET", "keep", "password"]), .bulk("hunter2-secret"))
        XCTAssertEqual(try again.command(["HGET", "keep", "username"]), .bulk("alice"))
        XCTAssertEqual(try again.command(["HGET", "keep", "failure_count"]), .bulk("1"))
        XCTAssertEqual(try again.command(["GET", "brief"]), .null)
        let history = try XCTUnwrap(again.command(["HISTORY", "keep"]).array)
        XCTAssertEqual(history.count, 1)
        XCTAssertEqual(history.first?.array?[1], .bulk("unhealthy"))
        XCTAssertEqual(history.first?.array?[3], .bulk("timeout"))
    }

    func testNoCredentialInPlainTextUnderTheDataDirectory() throws {
        for backend in ["sqlite", "jsonl"] {
            let server = try ServerProcess(arguments: ["--l2-backend", backend, "--fsync", "always"])
            defer { server.removeDirectory() }
            let client = try server.client()
            for index in 0..<50 {
                XCTAssertEqual(
                    try client.command([
                        "PUT", "cred\(index)", "http://10.9.0.\(index):8080", "username", "user-Zq\(index)x",
                        "password", "pw-Kx7\(index)-secret",
                    ]),
                    .ok
                )
            }
            XCTAssertEqual(server.stop(), 0)
            let files = FileManager.default.enumerator(atPath: server.dataDirectory)!.compactMap { $0 as? String }
            XCTAssertFalse(files.isEmpty)
            for file in files {
                let path = server.dataDirectory + "/" + file
                guard let data = FileManager.default.contents(atPath: path) else { continue }
                for needle in ["pw-Kx7", "user-Zq"] {
                    XCTAssertNil(data.range(of: Data(needle.utf8)), "\(backend): \(needle) in plain text in \(file)")
                }
            }
        }
    }

    /// A small L1 demotes and promotes. An L1 miss is read on the event loop when every disk tier is an SQLite file
    /// (no command goes off the loop), on a blocking thread with `--no-event-loop-disk-reads` or a JSONL L2; the
    /// replies are the same.
    func testSmallL1DemotesAndPromotesReadingOnTheEventLoopWhenEveryTierAnswersWithoutWaiting() throws {
        let cases: [(arguments: [String], offLoop: Bool)] = [
            ([], false),
            (["--no-event-loop-disk-reads"], true),
            (["--l2-backend", "jsonl"], true),
        ]
        for (arguments, offLoop) in cases {
            // Written, then committed by a clean stop: the misses below are read from the stores.
            let filler = try ServerProcess(arguments: ["--l1-max-entries", "10"] + arguments)
            defer { filler.removeDirectory() }
            let writer = try filler.client()
            for index in 0..<100 {
                XCTAssertEqual(try writer.command(["SET", "d\(index)", "http://10.1.\(index):80"]), .ok)
            }
            XCTAssertEqual(filler.stop(), 0)
            // The writers hold what the reads demote for a minute: no commit takes the loop's readers meanwhile.
            let server = try ServerProcess(
                arguments: ["--l1-max-entries", "10", "--journal-apply-delay", "60"] + arguments,
                directory: filler.directory
            )
            defer { XCTAssertEqual(server.stop(), 0) }
            let client = try server.client()
            let before = try XCTUnwrap(Int(client.info("stats")["commands_off_event_loop"] ?? ""))
            for index in 0..<100 {
                XCTAssertEqual(
                    try client.command(["GET", "d\(index)"]),
                    .bulk("http://10.1.\(index):80"),
                    "\(arguments)"
                )
            }
            XCTAssertEqual(try client.command(["GET", "never-set"]), .null)
            // INFO itself runs off the loop, and counts itself.
            let moved = try XCTUnwrap(Int(client.info("stats")["commands_off_event_loop"] ?? "")) - before - 1
            if offLoop {
                XCTAssertGreaterThanOrEqual(moved, 90, "\(arguments)")
            } else {
                XCTAssertEqual(moved, 0, "\(arguments)")
            }
            let figures = try client.info("cache")
            XCTAssertEqual(figures["l1_size"], "10", "\(arguments)")
            XCTAssertGreaterThanOrEqual(Int(figures["demotions"] ?? "") ?? 0, 90, "\(arguments)")
            XCTAssertGreaterThanOrEqual(Int(figures["promotions"] ?? "") ?? 0, 90, "\(arguments)")
            XCTAssertEqual(try client.command(["DBSIZE"]), .integer(100), "\(arguments)")
        }
    }

    func testKillNineUnderLoadWithFsyncAlwaysLosesNoAcknowledgedWrite() throws {
        let first = try ServerProcess(arguments: ["--fsync", "always", "--l1-max-entries", "100"])
        defer { first.removeDirectory() }
        let acknowledged = AcknowledgedWrites()
        let writers = DispatchGroup()
        let stop = StopFlag()
        for writer in 0..<16 {
            let client = try first.client()
            DispatchQueue.global().async(group: writers) {
                var index = 0
                while !stop.isSet {
                    let key = "w\(writer):\(index)"
                    guard
                        (try? client.command(["PUT", key, "http://10.\(writer).0.1:\(index)", "password", "p\(index)"]))
                            == .ok
                    else { return }
                    acknowledged.add(key)
                    index += 1
                }
            }
        }
        while acknowledged.count < 2_000 { usleep(5_000) }
        first.crash()
        stop.set()
        writers.wait()
        let keys = acknowledged.all
        XCTAssertGreaterThanOrEqual(keys.count, 2_000)

        let second = try ServerProcess(arguments: ["--fsync", "always"], directory: first.directory)
        defer { second.stop() }
        let client = try second.client()
        var missing: [String] = []
        for key in keys {
            if try client.command(["EXISTS", key]) != .integer(1) { missing.append(key) }
        }
        XCTAssertEqual(missing.count, 0, "acknowledged but lost: \(missing.prefix(10))")
    }

    func testCorruptL3FileIsMovedAsideAndTheServerServes() throws {
        let first = try ServerProcess()
        defer { first.removeDirectory() }
        XCTAssertEqual(try first.client().command(["SET", "before", "http://b:1"]), .ok)
        XCTAssertEqual(first.stop(), 0)
        let database = first.dataDirectory + "/cachesrvd.db"
        let garbage = Data((0..<65_536).map { UInt8(truncatingIfNeeded: $0 &* 7919) })
        try garbage.write(to: URL(fileURLWithPath: database))
        try? FileManager.default.removeItem(atPath: database + "-wal")
        try? FileManager.default.removeItem(atPath: database + "-shm")

        let second = try ServerProcess(directory: first.directory)
        defer { second.stop() }
        let client = try second.client()
        XCTAssertEqual(try client.command(["SET", "after", "http://a:1"]), .ok)
        XCTAssertEqual(try client.command(["GET", "after"]), .bulk("http://a:1"))
        let figures = try client.info("cache")
        XCTAssertEqual(figures["l3_recovered_corrupt_files"], "1")
        let moved = try FileManager.default.contentsOfDirectory(atPath: second.dataDirectory)
            .filter { $0.hasPrefix("cachesrvd.db.corrupt-") }
        XCTAssertEqual(moved.count, 1, "the damaged file is kept aside")
        XCTAssertTrue(second.log.contains("corrupt"), "the recovery is logged")
    }

    /// The case: a corrupt L3 lost 2,810 of 3,000 entries. Page 1 and 8 KB in the middle of the file are
    /// overwritten; the restarted server serves every entry it could salvage, credentials included.
    func testCorruptL3KeepsEveryReadableRowAcrossARestart() throws {
        let arguments = ["--tiers", "l1,l3", "--l1-max-entries", "100"]
        let first = try ServerProcess(arguments: arguments)
        defer { first.removeDirectory() }
        let writer = try first.client()
        let total = 3_000
        for index in 0..<total {
            var command = ["PUT", "s\(index)", "http://10.4.\(index / 250).\(index % 250):8080"]
            if index % 3 == 0 { command += ["username", "u\(index)", "password", "pw\(index)"] }
            XCTAssertEqual(try writer.command(command), .ok)
            if index % 10 == 0 {
                XCTAssertEqual(try writer.command(["HEALTH", "s\(index)", "ok", "12"]), .simpleString("healthy"))
            }
        }
        XCTAssertEqual(first.stop(), 0)
        try Self.damage(first.dataDirectory + "/cachesrvd.db") { size in
            [0..<100, (size / 2 + 321)..<(size / 2 + 8513)]
        }

        let second = try ServerProcess(arguments: arguments, directory: first.directory)
        defer { second.stop() }
        let client = try second.client()
        var served = 0
        for index in 0..<total {
            let key = "s\(index)"
            guard case .bulkString(_?) = try client.command(["GET", key]) else { continue }
            served += 1
            XCTAssertEqual(try client.command(["GET", key]), .bulk("http://10.4.\(index / 250).\(index % 250):8080"))
            if index % 3 == 0 {
                XCTAssertEqual(
                    try client.command(["HGET", key, "password"]),
                    .bulk("pw\(index)"),
                    "credentials decrypt"
                )
            }
            if index % 10 == 0 {
                XCTAssertEqual(try client.command(["HGET", key, "health_status"]), .bulk("healthy"))
            }
        }
        // 8 KB of garbage spans at most three 4 KB pages; a page holds a few dozen of these rows.
        XCTAssertGreaterThan(served, total - 150, "every row on an undamaged page is served")
        XCTAssertLessThan(served, total, "the damaged rows are gone")
        let figures = try client.info("cache")
        XCTAssertEqual(figures["l3_recovered_corrupt_files"], "1")
        XCTAssertEqual(figures["l3_salvaged_entries"], "\(served)")
        XCTAssertNotEqual(figures["l3_evictions_corruption"], "0", "the lost rows are counted")
        XCTAssertTrue(second.log.contains("salvaged the readable rows"), second.log)
        XCTAssertFalse(second.log.contains("pw3"), "no credential in the log")
        let moved = try FileManager.default.contentsOfDirectory(atPath: second.dataDirectory)
            .filter { $0.hasPrefix("cachesrvd.db.corrupt-") && !$0.hasSuffix("-wal") && !$0.hasSuffix("-shm") }
        XCTAssertEqual(moved.count, 1, "the damaged file is kept aside")
    }

    /// Damage past page 1 opens fine and shows only when a read hits it: the running server then recovers the tier
    /// and keeps what it can read.
    func testCorruptionFoundWhileServingKeepsTheReadableRows() throws {
        let arguments = ["--tiers", "l1,l3", "--l1-max-entries", "100"]
        let first = try ServerProcess(arguments: arguments)
        defer { first.removeDirectory() }
        let writer = try first.client()
        let total = 3_000
        for index in 0..<total {
            XCTAssertEqual(
                try writer.command(["PUT", "r\(index)", "http://10.5.0.1:\(index)", "password", "p\(index)"]),
                .ok
            )
        }
        XCTAssertEqual(first.stop(), 0)
        try Self.damage(first.dataDirectory + "/cachesrvd.db") { size in [(size / 2 + 77)..<(size / 2 + 8269)] }

        let second = try ServerProcess(arguments: arguments, directory: first.directory)
        defer { second.stop() }
        let client = try second.client()
        // Read everything twice: the first pass finds the damage (and recovers), the second reads the new file.
        for _ in 0..<2 {
            for index in 0..<total { _ = try client.command(["GET", "r\(index)"]) }
        }
        var served = 0
        for index in 0..<total {
            guard case .bulkString(_?) = try client.command(["GET", "r\(index)"]) else { continue }
            served += 1
            XCTAssertEqual(try client.command(["HGET", "r\(index)", "password"]), .bulk("p\(index)"))
        }
        XCTAssertGreaterThan(served, total - 150, "every row on an undamaged page is served")
        let figures = try client.info("cache")
        XCTAssertEqual(figures["l3_recovered_corrupt_files"], "1", second.log)
        XCTAssertNotEqual(figures["l3_salvaged_entries"], "0")
        XCTAssertTrue(second.log.contains("DISK TIER CORRUPT"), second.log)
    }

    func testJSONLBackendPersists() throws {
        let first = try ServerProcess(arguments: ["--l2-backend", "jsonl", "--tiers", "l1,l2"])
        defer { first.removeDirectory() }
        let client = try first.client()
        for index in 0..<40 {
            XCTAssertEqual(
                try client.command(["PUT", "j\(index)", "http://10.3.0.\(index):80", "password", "pw\(index)"]),
                .ok
            )
        }
        XCTAssertEqual(first.stop(), 0)
        let shards = try FileManager.default.contentsOfDirectory(atPath: first.dataDirectory + "/l2")
            .filter { $0.hasPrefix("shard_") && $0.hasSuffix(".jsonl") }
        XCTAssertFalse(shards.isEmpty)
        // A damaged line is skipped and counted as a corruption eviction; the other lines still load.
        let shard = first.dataDirectory + "/l2/" + shards.sorted()[0]
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: shard))
        handle.seekToEndOfFile()
        handle.write(Data("{\"key\": \"broken\", \"proxy_url\": \n".utf8))
        try handle.close()
        let second = try ServerProcess(
            arguments: ["--l2-backend", "jsonl", "--tiers", "l1,l2"],
            directory: first.directory
        )
        defer { second.stop() }
        let again = try second.client()
        for index in 0..<40 {
            XCTAssertEqual(try again.command(["HGET", "j\(index)", "password"]), .bulk("pw\(index)"))
        }
        let figures = try again.info("cache")
        XCTAssertEqual(figures["l2_evictions_corruption"], "1")
    }
}

final class AcknowledgedWrites: @unchecked Sendable {
    private let lock = NSLock()
    private var keys: [String] = []

    func add(_ key: String) {
        lock.lock()
        keys.append(key)
        lock.unlock()
    }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return keys.count
    }

    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return keys
    }
}

final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false

    func set() {
        lock.lock()
        flag = true
        lock.unlock()
    }

    var isSet: Bool {
        lock.lock()
        defer { lock.unlock() }
        return flag
    }
}

extension PersistenceEndToEndTests {
    /// Overwrites the byte ranges `ranges(fileSize)` of `path` with random bytes.
    static func damage(_ path: String, ranges: (Int) -> [Range<Int>]) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var generator = SystemRandomNumberGenerator()
        for range in ranges(bytes.count) {
            for index in range { bytes[index] = generator.next() }
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}

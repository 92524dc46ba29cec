import CacheProtocol
import Dispatch
import Foundation
import PostgresTestSupport
import XCTest

/// Three real cachesrvd sidecars on one throw-away PostgreSQL: what one writes the others read, what one deletes the
/// others stop serving, a sidecar killed with -9 catches up, health failures count across the fleet.
final class PostgresFleetEndToEndTests: PostgresSidecarTestCase {
    func testWritesAndDeletesOnOneSidecarReachTheOthersCachedCopies() throws {
        let database = try cluster.createDatabase()
        let url = cluster.url(database: database)
        let key = fernetKey()
        let a = try startSidecar(url: url, key: key).client()
        let b = try startSidecar(url: url, key: key).client()
        let c = try startSidecar(url: url, key: key).client()

        XCTAssertEqual(try a.command(["SET", "k", "v1"]), .ok)
        for (name, client) in [("B", b), ("C", c)] {
            try waitFor(RESPValue.bulk("v1"), "\(name) reads A's write") { try client.command(["GET", "k"]) }
        }
        // B and C now hold k in L1 (and L2): only an invalidation can make them see the new value.
        XCTAssertEqual(try a.command(["SET", "k", "v2"]), .ok)
        var seen: [Double] = []
        for (name, client) in [("B", b), ("C", c)] {
            seen.append(
                try waitFor(RESPValue.bulk("v2"), "\(name) drops its copy of k") { try client.command(["GET", "k"]) }
            )
        }
        XCTAssertEqual(try b.command(["DEL", "k"]), .integer(1))
        for (name, client) in [("A", a), ("C", c)] {
            try waitFor(RESPValue.null, "\(name) misses k after B deleted it") { try client.command(["GET", "k"]) }
        }
        // Binary keys survive the notices.
        let binary: [UInt8] = [0x62, 0x00, 0xFF, 0x20, 0x2A]
        XCTAssertEqual(try a.command(bytes: [Array("SET".utf8), binary, Array("one".utf8)]), .ok)
        try waitFor(RESPValue.bulk("one"), "C reads a binary key") {
            try c.command(bytes: [Array("GET".utf8), binary])
        }
        XCTAssertEqual(try a.command(bytes: [Array("SET".utf8), binary, Array("two".utf8)]), .ok)
        try waitFor(RESPValue.bulk("two"), "C drops a binary key") {
            try c.command(bytes: [Array("GET".utf8), binary])
        }

        let figuresA = try a.info("persistence")
        let figuresB = try b.info("persistence")
        XCTAssertEqual(figuresA["l3_listening"], "1")
        XCTAssertGreaterThanOrEqual(Int(figuresA["l3_invalidations_sent"] ?? "") ?? 0, 3)
        XCTAssertGreaterThanOrEqual(Int(figuresA["l3_invalidations_received"] ?? "") ?? 0, 1, "B's delete")
        XCTAssertGreaterThanOrEqual(Int(figuresB["l3_invalidated_keys"] ?? "") ?? 0, 1)
        XCTAssertEqual(try a.info("cache")["l3_invalidations_sent"], figuresA["l3_invalidations_sent"], "STATS too")
        print("invalidation seen after (s): \(seen.map { String(format: "%.4f", $0) })")
    }

    func testASidecarKilledWithSIGKILLCatchesUpWhenRestarted() throws {
        let database = try cluster.createDatabase()
        let url = cluster.url(database: database)
        let key = fernetKey()
        let a = try startSidecar(url: url, key: key).client()
        let second = try startSidecar(url: url, key: key)
        let b = try second.client()
        XCTAssertEqual(try a.command(["SET", "k", "old"]), .ok)
        XCTAssertEqual(try a.command(["SET", "gone", "soon"]), .ok)
        try waitFor(RESPValue.bulk("old"), "B reads k") { try b.command(["GET", "k"]) }
        try waitFor(RESPValue.bulk("soon"), "B reads gone") { try b.command(["GET", "gone"]) }
        // B's L2 holds both (L3 hits fill L2); B writes one key of its own that A must see later.
        XCTAssertEqual(try b.command(["SET", "mine", "b1"]), .ok)
        second.crash()

        XCTAssertEqual(try a.command(["SET", "k", "new"]), .ok)
        XCTAssertEqual(try a.command(["DEL", "gone"]), .integer(1))
        let restarted = try startSidecar(url: url, key: key, directory: second.directory).client()
        XCTAssertEqual(try restarted.command(["GET", "k"]), .bulk("new"), "not its stale L2 copy")
        XCTAssertEqual(try restarted.command(["GET", "gone"]), .null)
        XCTAssertEqual(try restarted.command(["GET", "mine"]), .bulk("b1"), "its acknowledged write survived -9")
        try waitFor(RESPValue.bulk("b1"), "A reads the write B made before it was killed") {
            try a.command(["GET", "mine"])
        }
        XCTAssertGreaterThanOrEqual(Int(try restarted.info("persistence")["l3_invalidated_all"] ?? "") ?? 0, 1)
    }

    func testHealthFailuresCountAcrossTheFleetAndTheThresholdRemovesTheEntryEverywhere() throws {
        let database = try cluster.createDatabase()
        let url = cluster.url(database: database)
        let key = fernetKey()
        // A long apply window: what a failure writes reaches L3 only because the fleet count puts it there, so a
        // count kept per host would leave each at 1.
        let slow = ["--fleet-apply-delay", "2"]
        let a = try startSidecar(url: url, key: key, extra: slow).client()
        let b = try startSidecar(url: url, key: key, extra: slow).client()
        let c = try startSidecar(url: url, key: key, extra: slow).client()
        XCTAssertEqual(try a.command(["PUT", "p", "http://10.0.0.9:3128"]), .ok)
        for (name, client) in [("B", b), ("C", c)] {
            try waitFor(RESPValue.bulk("http://10.0.0.9:3128"), "\(name) reads p") { try client.command(["GET", "p"]) }
        }
        // One failure on each host, back to back: with --failure-threshold 3 (the default) the third removes p.
        XCTAssertEqual(try a.command(["HEALTH", "p", "fail", "100", "timeout"]), .simpleString("unhealthy"))
        XCTAssertEqual(try b.command(["HEALTH", "p", "fail", "100", "timeout"]), .simpleString("unhealthy"))
        XCTAssertEqual(
            try cluster.psql(
                database,
                "SELECT failure_count, total_health_check_failures, convert_from(last_health_error, 'UTF8')"
                    + " FROM cache_entries WHERE key = 'p'::bytea"
            ),
            ["2|2|timeout"],
            "counted in L3, not overwritten"
        )
        XCTAssertEqual(try c.command(["HEALTH", "p", "fail", "100", "timeout"]), .simpleString("removed"))
        for (name, client) in [("A", a), ("B", b), ("C", c)] {
            try waitFor(RESPValue.null, "\(name) no longer serves p") { try client.command(["GET", "p"]) }
            try waitFor(RESPValue.bulk("0"), "\(name) has nothing left for L3") {
                .bulk(try client.info("persistence")["l3_pending_writes"] ?? "")
            }
        }
        XCTAssertEqual(try cluster.psql(database, "SELECT count(*) FROM cache_entries"), ["0"], "not put back")
        XCTAssertEqual(try cluster.psql(database, "SELECT count(*) FROM health_history"), ["0"], "cascaded")
    }

    /// Two sidecars write the same key at once, again and again, each a whole entry of its own (URL, source and user
    /// name together): L3 and every sidecar end with one writer's entry whole, never a mix of the two.
    func testTwoSidecarsWritingOneKeyAtOnceEndWithOneWholeEntry() throws {
        let database = try cluster.createDatabase()
        let url = cluster.url(database: database)
        let key = fernetKey()
        let sidecars = [try startSidecar(url: url, key: key), try startSidecar(url: url, key: key)]
        let paths = sidecars.map(\.socketPath)
        let unexpected = Collected()
        DispatchQueue.concurrentPerform(iterations: 2) { writer in
            do {
                let client = try RawClient(path: paths[writer])
                let name = writer == 0 ? "a" : "b"
                for round in 0..<50 {
                    let reply = try client.command([
                        "HSET", "shared", "proxy_url", "http://\(name).example:\(3000 + round)", "source",
                        "src-\(name)",
                        "username", "user-\(name)",
                    ])
                    if reply.isError { unexpected.add("\(reply)") }
                }
            } catch {
                unexpected.add("\(error)")
            }
        }
        XCTAssertEqual(unexpected.items, [])
        let rows = try cluster.psql(
            database,
            "SELECT convert_from(proxy_url, 'UTF8') || '|' || convert_from(source, 'UTF8') FROM cache_entries"
        )
        XCTAssertEqual(rows.count, 1)
        let row = try XCTUnwrap(rows.first)
        let writer = row.hasPrefix("http://a.") ? "a" : "b"
        XCTAssertTrue(row.hasSuffix("|src-\(writer)"), "one writer's URL and source: \(row)")
        let stored = row.split(separator: "|").first.map(String.init) ?? ""
        for (index, sidecar) in sidecars.enumerated() {
            let client = try sidecar.client()
            try waitFor(RESPValue.bulk(stored), "sidecar \(index) serves the entry L3 kept") {
                try client.command(["HGET", "shared", "proxy_url"])
            }
            XCTAssertEqual(try client.command(["HGET", "shared", "source"]), .bulk("src-\(writer)"))
            XCTAssertEqual(try client.command(["HGET", "shared", "username"]), .bulk("user-\(writer)"))
        }
    }

    /// Two sidecars report failures of one proxy at the same time: every one counts in L3 (none is overwritten by
    /// the other sidecar's copy of the entry).
    func testConcurrentHealthFailuresOnTwoSidecarsAllCount() throws {
        let database = try cluster.createDatabase()
        let url = cluster.url(database: database)
        let key = fernetKey()
        let high = ["--failure-threshold", "1000"]
        let first = try startSidecar(url: url, key: key, extra: high)
        let second = try startSidecar(url: url, key: key, extra: high)
        XCTAssertEqual(try first.client().command(["PUT", "q", "http://10.0.0.7:3128"]), .ok)
        try waitFor(RESPValue.bulk("http://10.0.0.7:3128"), "B reads q") { try second.client().command(["GET", "q"]) }
        let paths = [first.socketPath, second.socketPath]
        let unexpected = Collected()
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            do {
                let client = try RawClient(path: paths[worker % 2])
                for _ in 0..<25 {
                    let reply = try client.command(["HEALTH", "q", "fail", "50", "refused"])
                    if reply != .simpleString("unhealthy") { unexpected.add("\(reply)") }
                }
            } catch {
                unexpected.add("\(error)")
            }
        }
        XCTAssertEqual(unexpected.items, [])
        XCTAssertEqual(
            try cluster.psql(database, "SELECT failure_count, total_health_check_failures FROM cache_entries"),
            ["100|100"]
        )
        for (name, sidecar) in [("A", first), ("B", second)] {
            try waitFor(RESPValue.bulk("100"), "\(name) reads the fleet's count") {
                try sidecar.client().command(["HGET", "q", "failure_count"])
            }
        }
    }
}

/// Strings gathered from several threads.
private final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var gathered: [String] = []

    func add(_ item: String) { lock.withLock { gathered.append(item) } }
    var items: [String] { lock.withLock { gathered } }
}

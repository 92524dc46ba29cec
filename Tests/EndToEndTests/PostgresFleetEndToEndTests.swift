import CacheProtocol
import Foundation
import PostgresTestSupport
import XCTest

/// Three real cachesrvd sidecars (three sockets, three data directories, one key) on one throw-away PostgreSQL:
/// what one writes the others read, what one deletes the others stop serving, a sidecar killed with -9 catches up.
/// Every wait is a poll with a deadline, never a fixed sleep. Skipped when PostgreSQL is not installed (unless
/// `CACHESRVD_REQUIRE_POSTGRES=1`).
final class PostgresFleetEndToEndTests: XCTestCase {
    var cluster: ThrowawayPostgres!
    private var sidecars: [ServerProcess] = []

    override func setUpWithError() throws {
        try super.setUpWithError()
        cluster = try ThrowawayPostgres.startOrSkip()
    }

    override func tearDown() {
        for sidecar in sidecars {
            sidecar.crash()
            sidecar.removeDirectory()
        }
        sidecars = []
        cluster?.stop()
        super.tearDown()
    }

    func fernetKey() -> String {
        Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }

    /// Starts a sidecar with L1, a SQLite L2 and the shared L3 (in `directory` when given: a restart).
    func startSidecar(
        url: String,
        key: String,
        directory: String? = nil,
        extra: [String] = []
    ) throws -> ServerProcess {
        let sidecar = try ServerProcess(
            arguments: ["--tiers", "l1,l2,l3", "--fsync", "always", "--l3-url", url] + extra,
            directory: directory,
            environment: ["CACHESRVD_ENCRYPTION_KEY": key]
        )
        sidecars.append(sidecar)
        return sidecar
    }

    /// Polls `read` until it returns `expected` or `timeout` seconds pass; returns the seconds it took, fails when it never did.
    @discardableResult
    func waitFor(
        _ expected: RESPValue,
        _ what: String,
        timeout: Double = 10,
        file: StaticString = #filePath,
        line: UInt = #line,
        _ read: () throws -> RESPValue
    ) rethrows -> Double {
        let start = Date()
        var last = try read()
        while last != expected, Date().timeIntervalSince(start) < timeout {
            usleep(2_000)
            last = try read()
        }
        XCTAssertEqual(last, expected, what, file: file, line: line)
        return Date().timeIntervalSince(start)
    }

    func testWritesAndDeletesOnOneSidecarReachTheOthersCachedCopies() throws {
        let database = try cluster.createDatabase()
        let url = cluster.url(database: database)
        let key = fernetKey()
        let a = try startSidecar(url: url, key: key).client()
        let b = try startSidecar(url: url, key: key).client()
        let c = try startSidecar(url: url, key: key).client()

        XCTAssertEqual(try a.command(["SET", "k", "v1"]), .ok)
        for (name, client) in [("B", b), ("C", c)] {
            try waitFor(.bulk("v1"), "\(name) reads A's write") { try client.command(["GET", "k"]) }
        }
        // B and C now hold k in L1 (and L2): only an invalidation can make them see the new value.
        XCTAssertEqual(try a.command(["SET", "k", "v2"]), .ok)
        var seen: [Double] = []
        for (name, client) in [("B", b), ("C", c)] {
            seen.append(try waitFor(.bulk("v2"), "\(name) drops its copy of k") { try client.command(["GET", "k"]) })
        }
        XCTAssertEqual(try b.command(["DEL", "k"]), .integer(1))
        for (name, client) in [("A", a), ("C", c)] {
            try waitFor(.null, "\(name) misses k after B deleted it") { try client.command(["GET", "k"]) }
        }
        // Binary keys survive the notices.
        let binary: [UInt8] = [0x62, 0x00, 0xFF, 0x20, 0x2A]
        XCTAssertEqual(try a.command(bytes: [Array("SET".utf8), binary, Array("one".utf8)]), .ok)
        try waitFor(.bulk("one"), "C reads a binary key") { try c.command(bytes: [Array("GET".utf8), binary]) }
        XCTAssertEqual(try a.command(bytes: [Array("SET".utf8), binary, Array("two".utf8)]), .ok)
        try waitFor(.bulk("two"), "C drops a binary key") { try c.command(bytes: [Array("GET".utf8), binary]) }

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
        try waitFor(.bulk("old"), "B reads k") { try b.command(["GET", "k"]) }
        try waitFor(.bulk("soon"), "B reads gone") { try b.command(["GET", "gone"]) }
        // B's L2 holds both (L3 hits fill L2); B writes one key of its own that A must see later.
        XCTAssertEqual(try b.command(["SET", "mine", "b1"]), .ok)
        second.crash()

        XCTAssertEqual(try a.command(["SET", "k", "new"]), .ok)
        XCTAssertEqual(try a.command(["DEL", "gone"]), .integer(1))
        let restarted = try startSidecar(url: url, key: key, directory: second.directory).client()
        XCTAssertEqual(try restarted.command(["GET", "k"]), .bulk("new"), "not its stale L2 copy")
        XCTAssertEqual(try restarted.command(["GET", "gone"]), .null)
        XCTAssertEqual(try restarted.command(["GET", "mine"]), .bulk("b1"), "its acknowledged write survived -9")
        try waitFor(.bulk("b1"), "A reads the write B made before it was killed") { try a.command(["GET", "mine"]) }
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
            try waitFor(.bulk("http://10.0.0.9:3128"), "\(name) reads p") { try client.command(["GET", "p"]) }
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
            try waitFor(.null, "\(name) no longer serves p") { try client.command(["GET", "p"]) }
            try waitFor(.bulk("0"), "\(name) has nothing left for L3") {
                .bulk(try client.info("persistence")["l3_pending_writes"] ?? "")
            }
        }
        XCTAssertEqual(try cluster.psql(database, "SELECT count(*) FROM cache_entries"), ["0"], "not put back")
        XCTAssertEqual(try cluster.psql(database, "SELECT count(*) FROM health_history"), ["0"], "cascaded")
    }

    /// PostgreSQL stops (immediate: an outage) while A and B write, and starts again: every write acknowledged
    /// meanwhile reaches L3 (the tiers' lost-write repair), and all three sidecars end up answering the same.
    ///
    /// Opt-in (`CACHESRVD_PG_OUTAGE_TEST=1`): about one run in four, after the restart, one sidecar's L3 connections
    /// hang (its commands time out, its writes never reach L3), the missing statement timeout that docs/design.md
    /// lists under "Not yet". It passes otherwise; it becomes a default test with that fix.
    func testPostgreSQLStoppedUnderLoadLosesNoAcknowledgedWriteAndTheSidecarsAgreeAfterwards() throws {
        guard ProcessInfo.processInfo.environment["CACHESRVD_PG_OUTAGE_TEST"] == "1" else {
            throw XCTSkip(
                "opt-in (CACHESRVD_PG_OUTAGE_TEST=1): a PostgreSQL restart sometimes leaves a sidecar's L3 connection"
                    + " hanging until statement timeouts exist"
            )
        }
        let database = try cluster.createDatabase()
        let url = cluster.url(database: database)
        let key = fernetKey()
        let a = try startSidecar(url: url, key: key).client()
        let b = try startSidecar(url: url, key: key).client()
        let c = try startSidecar(url: url, key: key).client()
        var expected: [String: String] = [:]
        for round in 0..<300 {
            if round == 100 { try cluster.pause() }
            if round == 200 { try cluster.resume() }
            // A writes every key. B writes keys of its own during the outage and, outside it, overwrites every third
            // key of A's once it reads A's value (so B's commit is the later one: it wins everywhere).
            XCTAssertEqual(try a.command(["SET", "k\(round)", "a\(round)"]), .ok)
            expected["k\(round)"] = "a\(round)"
            guard round % 3 == 0 else { continue }
            if (100..<200).contains(round) {
                XCTAssertEqual(try b.command(["SET", "m\(round)", "b\(round)"]), .ok)
                expected["m\(round)"] = "b\(round)"
            } else {
                try waitFor(.bulk("a\(round)"), "B reads k\(round)", timeout: 30) {
                    try b.command(["GET", "k\(round)"])
                }
                XCTAssertEqual(try b.command(["SET", "k\(round)", "b\(round)"]), .ok)
                expected["k\(round)"] = "b\(round)"
            }
        }
        let keys = expected.keys.sorted()
        let wanted = RESPValue.array(keys.map { .bulk(expected[$0]!) })
        for (name, client) in [("A", a), ("B", b), ("C", c)] {
            let start = Date()
            var answer = try client.command(["MGET"] + keys)
            while answer != wanted, Date().timeIntervalSince(start) < 60 {
                usleep(20_000)
                answer = try client.command(["MGET"] + keys)
            }
            guard answer != wanted else { continue }
            var wrong: [String] = []
            if case .array(let values?) = answer {
                for (index, value) in values.enumerated() where value != .bulk(expected[keys[index]]!) {
                    wrong.append("\(keys[index]): \(value.text ?? "nil") not \(expected[keys[index]]!)")
                }
            }
            let rows = try cluster.psql(database, "SELECT count(*) FROM cache_entries")
            XCTFail(
                "\(name) differs on \(wrong.count) keys, e.g. \(wrong.prefix(8)); L3 rows \(rows); "
                    + "INFO \(try client.info("persistence").filter { $0.key.hasPrefix("l") })"
            )
        }
        try waitFor(.bulk(String(expected.count)), "L3 holds every key", timeout: 60) {
            .bulk(try cluster.psql(database, "SELECT count(*) FROM cache_entries").first ?? "")
        }
        let stored = try cluster.psql(
            database,
            "SELECT convert_from(key, 'UTF8') || '=' || convert_from(proxy_url, 'UTF8') FROM cache_entries"
        )
        XCTAssertEqual(Set(stored), Set(expected.map { "\($0.key)=\($0.value)" }))
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
        try waitFor(.bulk("http://10.0.0.7:3128"), "B reads q") { try second.client().command(["GET", "q"]) }
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
            try waitFor(.bulk("100"), "\(name) reads the fleet's count") {
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

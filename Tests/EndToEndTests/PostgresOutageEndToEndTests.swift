import CacheProtocol
import Foundation
import PostgresTestSupport
import XCTest

/// PostgreSQL goes away under real sidecars: writes wait in each sidecar's journal and reach L3 in order when it
/// returns, `--fsync always` answers only once PostgreSQL committed, a sidecar starts while it is down and catches
/// up, and a full backlog refuses writes instead of dropping them.
final class PostgresOutageEndToEndTests: PostgresSidecarTestCase {
    /// PostgreSQL stops (immediate: an outage) while A and B write, and starts again: every write acknowledged
    /// meanwhile reaches L3, and all three sidecars end up answering the same.
    func testPostgreSQLStoppedUnderLoadLosesNoAcknowledgedWriteAndTheSidecarsAgreeAfterwards() throws {
        let database = try cluster.createDatabase()
        let url = cluster.url(database: database)
        let key = fernetKey()
        let a = try startSidecar(url: url, key: key, fsync: "everysec").client()
        let b = try startSidecar(url: url, key: key, fsync: "everysec").client()
        let third = try startSidecar(url: url, key: key, fsync: "everysec")
        let c = try third.client()
        // Load beside them: four clients of C overwrite 200 keys of their own each, in turn, all along (so the order in
        // which C's writes reach L3 decides what L3 keeps).
        let load = LoadWriters(path: third.socketPath, clients: 4, keys: 200)
        var expected: [String: String] = [:]
        for round in 0..<300 {
            if round == 100 { try cluster.pause() }
            if round == 200 {
                let figures = try a.info("persistence")
                XCTAssertEqual(figures["l3_available"], "0", "INFO says L3 is unavailable")
                XCTAssertGreaterThan(Int(figures["l3_backlog_writes"] ?? "") ?? 0, 0, "and how many writes wait")
                try cluster.resume()
            }
            // A writes every key. B writes keys of its own during the outage and, outside it, overwrites every third
            // key of A's once it reads A's value (so B's commit is the later one: it wins everywhere).
            XCTAssertEqual(try a.command(["SET", "k\(round)", "a\(round)"]), .ok)
            expected["k\(round)"] = "a\(round)"
            guard round % 3 == 0 else { continue }
            if (100..<200).contains(round) {
                XCTAssertEqual(try b.command(["SET", "m\(round)", "b\(round)"]), .ok)
                expected["m\(round)"] = "b\(round)"
            } else {
                try waitFor(RESPValue.bulk("a\(round)"), "B reads k\(round)", timeout: 30) {
                    try b.command(["GET", "k\(round)"])
                }
                XCTAssertEqual(try b.command(["SET", "k\(round)", "b\(round)"]), .ok)
                expected["k\(round)"] = "b\(round)"
            }
        }
        let loaded = load.stop()
        XCTAssertEqual(loaded.failures, [], "C's load got only OK")
        XCTAssertGreaterThan(loaded.writes, 800, "C's load kept writing through the outage")
        expected.merge(loaded.acknowledged) { _, last in last }
        let keys = expected.keys.sorted()
        // The keys whose value a sidecar answers differently (at most 8 of them, with what it answered).
        func differences(_ client: RawClient) throws -> [String] {
            guard case .array(let values?) = try client.command(["MGET"] + keys) else { return ["no array"] }
            return zip(keys, values).filter { .bulk(expected[$0.0]!) != $0.1 }.prefix(8).map {
                "\($0.0)=\($0.1.text ?? "nil") not \(expected[$0.0]!)"
            }
        }
        for (name, client) in [("A", a), ("B", b), ("C", c)] {
            try waitFor([], "\(name) answers every key as the last commit left it", timeout: 60) {
                try differences(client)
            }
            try waitForL3(available: true, "\(name) says L3 is available again", on: client)
        }
        XCTAssertEqual(Set(try storedEntries(database)), Set(expected.map { "\($0.key)=\($0.value)" }))
    }

    /// Under `--fsync always` the reply to a write waits for PostgreSQL's commit: none while it is down, OK once it
    /// is back, and the row is there.
    func testUnderFsyncAlwaysAWriteIsAnsweredOnlyOncePostgreSQLCommittedIt() throws {
        let database = try cluster.createDatabase()
        let url = cluster.url(database: database)
        let sidecar = try startSidecar(url: url, key: fernetKey(), fsync: "always")
        let watcher = try sidecar.client()
        XCTAssertEqual(try watcher.command(["SET", "before", "1"]), .ok)
        try cluster.pause()
        let reply = Reply()
        let path = sidecar.socketPath
        let writer = Thread {
            do {
                let client = try RawClient(path: path)
                reply.set(try client.command(["SET", "during", "2"]).text ?? "nil")
            } catch {
                reply.set("error: \(error)")
            }
        }
        writer.start()
        try waitForL3(available: false, "INFO says L3 is unavailable", on: watcher)
        XCTAssertNil(reply.value, "answered while PostgreSQL was down")
        try cluster.resume()
        waitFor("OK", "answered once PostgreSQL is back", timeout: 60) { reply.value ?? "" }
        XCTAssertEqual(
            try cluster.psql(
                database,
                "SELECT convert_from(proxy_url, 'UTF8') FROM cache_entries WHERE key = 'during'"
            ),
            ["2"],
            "acknowledged, so committed"
        )
    }

    /// A sidecar killed while PostgreSQL is down starts again before it returns (degraded: it serves and takes
    /// writes), and when it returns applies what its journal holds that L3 lacks, and only that: each health check
    /// is in the history once.
    func testASidecarStartsWhilePostgreSQLIsDownAndCatchesUpWhenItReturns() throws {
        let database = try cluster.createDatabase()
        let url = cluster.url(database: database)
        let key = fernetKey()
        let first = try startSidecar(url: url, key: key, fsync: "everysec")
        let client = try first.client()
        XCTAssertEqual(try client.command(["PUT", "p", "http://10.0.0.1:3128"]), .ok)
        XCTAssertEqual(try client.command(["HEALTH", "p", "ok", "11"]), .simpleString("healthy"))
        try waitFor(["1"], "L3 holds p's first check") {
            try cluster.psql(database, "SELECT count(*) FROM health_history")
        }
        try cluster.pause()
        XCTAssertEqual(try client.command(["HEALTH", "p", "ok", "12"]), .simpleString("healthy"))
        XCTAssertEqual(try client.command(["SET", "k2", "v2"]), .ok)
        // Acknowledged under everysec: in the journal within about a second.
        usleep(1_500_000)
        first.crash()

        let restarted = try startSidecar(url: url, key: key, directory: first.directory, fsync: "everysec").client()
        XCTAssertEqual(try restarted.info("persistence")["l3_available"], "0")
        XCTAssertEqual(try restarted.command(["SET", "k3", "v3"]), .ok, "takes writes while PostgreSQL is down")
        try cluster.resume()
        try waitFor(
            ["k2=v2", "k3=v3", "p=http://10.0.0.1:3128"],
            "L3 gets the journal's writes and the new one",
            timeout: 60
        ) {
            try storedEntries(database)
        }
        XCTAssertEqual(
            try cluster.psql(database, "SELECT response_time_ms FROM health_history ORDER BY response_time_ms"),
            ["11", "12"],
            "each check once: the one L3 had before the crash is not applied again"
        )
        XCTAssertEqual(try restarted.command(["GET", "k2"]), .bulk("v2"))
        try waitForL3(available: true, "INFO says L3 is available again", on: restarted)
    }

    /// A graceful stop while PostgreSQL is down does not wait for it: the sidecar exits, its held writes stay in its
    /// journal, and the next start applies them once PostgreSQL is back.
    func testAGracefulStopDuringAnOutageEndsAndTheNextStartAppliesTheWrites() throws {
        let database = try cluster.createDatabase()
        let url = cluster.url(database: database)
        let key = fernetKey()
        let sidecar = try startSidecar(url: url, key: key, fsync: "everysec")
        let client = try sidecar.client()
        XCTAssertEqual(try client.command(["SET", "before", "1"]), .ok)
        try cluster.pause()
        XCTAssertEqual(try client.command(["SET", "during", "2"]), .ok)
        try waitForL3(available: false, "INFO says L3 is unavailable", on: client)
        kill(sidecar.process.processIdentifier, SIGTERM)
        // Not a timing assertion on speed: a stop that waited for PostgreSQL would never end while it is down.
        let deadline = Date().addingTimeInterval(60)
        while sidecar.process.isRunning, Date() < deadline { usleep(50_000) }
        XCTAssertFalse(sidecar.process.isRunning, "the stop waited for PostgreSQL")
        sidecar.crash()  // when it did not end: the test goes on without it
        try cluster.resume()
        let restarted = try startSidecar(url: url, key: key, directory: sidecar.directory, fsync: "everysec").client()
        try waitFor(["before=1", "during=2"], "the next start applied the held write", timeout: 60) {
            try storedEntries(database)
        }
        XCTAssertEqual(try restarted.command(["GET", "during"]), .bulk("2"))
    }

    /// With PostgreSQL down and `--l3-backlog-limit` writes waiting, write commands are refused with a clear error
    /// (reads go on); when it returns, every acknowledged write is in L3 and writes are taken again.
    func testAFullBacklogRefusesWritesUntilPostgreSQLReturns() throws {
        let database = try cluster.createDatabase()
        let url = cluster.url(database: database)
        let client = try startSidecar(
            url: url,
            key: fernetKey(),
            fsync: "everysec",
            extra: ["--l3-backlog-limit", "5", "--l3-timeout", "1"]
        )
        .client()
        XCTAssertEqual(try client.command(["SET", "warm", "w"]), .ok)
        try cluster.pause()
        var acknowledged: [String] = []
        var refusal: RESPValue? = nil
        // The writer learns of the outage at its next commit, at once or, when postgres-nio leaves the statement
        // pending, at the deadline (--l3-timeout + 2 s): writes go on until one is refused, for at most 30 s.
        let start = Date()
        for index in 0..<100_000 where Date().timeIntervalSince(start) < 30 {
            let reply = try client.command(["SET", "o\(index)", "v\(index)"])
            if reply == .ok {
                acknowledged.append("o\(index)")
            } else {
                refusal = reply
                break
            }
            usleep(20_000)
        }
        guard case .error(let text) = refusal else {
            return XCTFail("no write was refused with 5 allowed to wait (\(acknowledged.count) acknowledged)")
        }
        XCTAssertTrue(text.hasPrefix("IOERR L3 cannot be reached"), text)
        XCTAssertTrue(text.contains("--l3-backlog-limit 5"), text)
        XCTAssertEqual(try client.command(["GET", "warm"]), .bulk("w"), "reads go on")
        XCTAssertGreaterThanOrEqual(Int(try client.info("persistence")["l3_writes_refused"] ?? "") ?? 0, 1)
        try cluster.resume()
        try waitFor(RESPValue.ok, "writes are taken again", timeout: 60) { try client.command(["SET", "after", "a"]) }
        let wanted = (["warm", "after"] + acknowledged).sorted()
        try waitFor(wanted, "L3 holds every acknowledged write", timeout: 30) {
            try cluster.psql(database, "SELECT convert_from(key, 'UTF8') FROM cache_entries ORDER BY 1")
        }
    }
}

extension PostgresOutageEndToEndTests {
    /// Polls `client`'s INFO until `l3_available` says `available` (at most 30 s).
    fileprivate func waitForL3(
        available: Bool,
        _ what: String,
        on client: RawClient,
        file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        try waitFor(available ? "1" : "0", what, timeout: 30, file: file, line: line) {
            try client.info("persistence")["l3_available"] ?? ""
        }
    }
}

/// A reply received on another thread.
private final class Reply: @unchecked Sendable {
    private let lock = NSLock()
    private var received: String?

    func set(_ value: String) { lock.withLock { received = value } }
    var value: String? { lock.withLock { received } }
}

/// Clients that each overwrite `keys` keys of their own (`load<client>-<n>`, the value being the write's number) in
/// turn, on threads of their own, until `stop()`.
private final class LoadWriters: @unchecked Sendable {
    private let lock = NSLock()
    private var stopping = false
    private var last: [String: String] = [:]
    private var count = 0
    private var errors: [String] = []
    private let done = DispatchGroup()

    init(path: String, clients: Int, keys: Int) {
        for client in 0..<clients {
            done.enter()
            Thread { [self] in
                defer { done.leave() }
                do {
                    let connection = try RawClient(path: path)
                    var index = 0
                    while !lock.withLock({ stopping }) {
                        let key = "load\(client)-\(index % keys)"
                        let reply = try connection.command(["SET", key, "\(index)"])
                        lock.withLock {
                            if reply == .ok {
                                last[key] = "\(index)"
                                count += 1
                            } else {
                                errors.append("\(key): \(reply)")
                            }
                        }
                        index += 1
                        usleep(1_000)  // a steady load, not a flood: the backlog stays far below its limit
                    }
                } catch {
                    lock.withLock { errors.append("\(error)") }
                }
            }.start()
        }
    }

    /// Stops the writers; returns the last acknowledged value of each key, how many writes were acknowledged, and every
    /// other reply or error.
    func stop() -> (acknowledged: [String: String], writes: Int, failures: [String]) {
        lock.withLock { stopping = true }
        done.wait()
        return lock.withLock { (last, count, errors) }
    }
}

import CacheProtocol
import Foundation
import PostgresTestSupport
import XCTest

/// Real cachesrvd sidecars (each its own socket and data directory, one key) on one throw-away PostgreSQL, for the
/// fleet and outage tests. Every wait is a poll with a deadline, never a fixed sleep. Skipped when PostgreSQL is not
/// installed (unless `CACHESRVD_REQUIRE_POSTGRES=1`).
class PostgresSidecarTestCase: XCTestCase {
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

    /// A fresh Fernet key, as the fleet's sidecars share one.
    func fernetKey() -> String {
        Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }

    /// Starts a sidecar with L1, a SQLite L2 and the shared L3 (in `directory` when given: a restart).
    func startSidecar(
        url: String,
        key: String,
        directory: String? = nil,
        fsync: String = "always",
        extra: [String] = []
    ) throws -> ServerProcess {
        let sidecar = try ServerProcess(
            arguments: ["--tiers", "l1,l2,l3", "--fsync", fsync, "--l3-url", url] + extra,
            directory: directory,
            environment: ["CACHESRVD_ENCRYPTION_KEY": key]
        )
        sidecars.append(sidecar)
        return sidecar
    }

    /// Every entry of the shared L3 in `database` as `key=proxy_url`, sorted.
    func storedEntries(_ database: String) throws -> [String] {
        try cluster.psql(
            database,
            "SELECT convert_from(key, 'UTF8') || '=' || convert_from(proxy_url, 'UTF8') FROM cache_entries ORDER BY 1"
        )
    }

    /// Polls `read` until it returns `expected` or `timeout` seconds pass; returns the seconds it took, fails when it
    /// never did.
    @discardableResult
    func waitFor<Value: Equatable>(
        _ expected: Value,
        _ what: String,
        timeout: Double = 10,
        file: StaticString = #filePath,
        line: UInt = #line,
        _ read: () throws -> Value
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
}

import CacheProtocol
import Foundation
import PostgresTestSupport
import XCTest

/// `cachesrvd migrate-l3`: a host's SQLite L3 (and the writes only its journal holds) copied into a PostgreSQL L3,
/// through the real binary and a throw-away cluster, then served by a sidecar with `--l3-url`.
extension MaintenanceEndToEndTests {
    func testMigrateL3CopiesEntriesAndHistoriesIntoPostgresOnceWithTheFleetsKey() throws {
        let cluster = try ThrowawayPostgres.startOrSkip()
        defer { cluster.stop() }
        let database = try cluster.createDatabase()
        let url = cluster.url(database: database)
        let key = Self.makeKey()
        let server = try ServerProcess(environment: ["CACHESRVD_ENCRYPTION_KEY": key])
        defer { server.removeDirectory() }
        try putEntries(server, prefix: "m", count: 5)
        let client = try server.client()
        // m1...m3 get three checks each (below the failure threshold), m4 one: ten records.
        for index in 1...3 {
            try health(client, "m\(index)", "ok", "120")
            try health(client, "m\(index)", "fail", "", "timeout \(index)")
            try health(client, "m\(index)", "ok", "80", "", "http://check/\(index)")
        }
        try health(client, "m4", "fail", "", "refused")
        let histories = try (1...5).map { index in try client.command(["HISTORY", "m\(index)", "100"]) }
        XCTAssertEqual(server.stop(), 0)
        let environment = ["CACHESRVD_ENCRYPTION_KEY": key]

        let noURL = try cachesrvd(["migrate-l3"] + dataOptions(server), environment: environment)
        XCTAssertEqual(noURL.status, 1, noURL.stdout)
        XCTAssertTrue(noURL.stderr.contains("--l3-url"), noURL.stderr)

        let migrated = try cachesrvd(["migrate-l3", "--l3-url", url] + dataOptions(server), environment: environment)
        XCTAssertEqual(migrated.status, 0, migrated.stderr)
        XCTAssertTrue(
            migrated.stdout.hasPrefix("copied 5, overwritten 0, skipped 0, expired 0, history records 10\n"),
            migrated.stdout
        )
        XCTAssertTrue(migrated.stdout.contains("left in place"), migrated.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: server.dataDirectory + "/cachesrvd.db"))
        XCTAssertEqual(try cluster.psql(database, "SELECT count(*) FROM cache_entries"), ["5"])
        XCTAssertEqual(try cluster.psql(database, "SELECT count(*) FROM health_history"), ["10"])
        let table = try cluster.psql(database, "SELECT t::text FROM cache_entries t").joined(separator: "\n")
        for secret in ["pw-m1", "u-m2", "pw-m5"] {
            XCTAssertFalse(table.contains(secret), "\(secret) in clear")
            XCTAssertFalse(table.contains(Data(secret.utf8).map { String(format: "%02x", $0) }.joined()), secret)
            XCTAssertFalse((migrated.stdout + migrated.stderr).contains(secret), "\(secret) in the output")
        }
        XCTAssertFalse((migrated.stdout + migrated.stderr).contains(cluster.password), "the URL's password is masked")

        // Again (from the environment's URL this time): every key is in PostgreSQL now.
        let again = try cachesrvd(
            ["migrate-l3"] + dataOptions(server),
            environment: environment.merging(["CACHESRVD_L3_URL": url]) { $1 }
        )
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(
            again.stdout.hasPrefix("copied 0, overwritten 0, skipped 5, expired 0, history records 0\n"),
            again.stdout
        )
        XCTAssertEqual(try cluster.psql(database, "SELECT count(*) FROM health_history"), ["10"])

        // A key other than the one the database was written with is refused before anything is read or written.
        let wrongKey = try cachesrvd(
            ["migrate-l3", "--l3-url", url, "--on-conflict", "overwrite"] + dataOptions(server),
            environment: ["CACHESRVD_ENCRYPTION_KEY": Self.makeKey()]
        )
        XCTAssertEqual(wrongKey.status, 1, wrongKey.stdout)
        XCTAssertTrue(wrongKey.stderr.contains("different encryption key"), wrongKey.stderr)
        XCTAssertEqual(wrongKey.stdout, "")

        // The host, now a sidecar of the fleet: the entries with their credentials and their histories in order.
        let sidecar = try ServerProcess(
            arguments: ["--l3-url", url],
            directory: server.directory,
            environment: environment
        )
        defer { sidecar.stop() }
        let fleet = try sidecar.client()
        try checkEntries(fleet, prefix: "m", count: 5)
        for index in 1...5 {
            XCTAssertEqual(try fleet.command(["HISTORY", "m\(index)", "100"]), histories[index - 1], "m\(index)")
        }
        guard case .array(let m1?) = histories[0] else { return XCTFail("HISTORY m1: \(histories[0])") }
        XCTAssertEqual(m1.count, 3)
    }

    func testMigrateL3CopiesAWriteOnlyTheJournalHeld() throws {
        let cluster = try ThrowawayPostgres.startOrSkip()
        defer { cluster.stop() }
        let database = try cluster.createDatabase()
        let url = cluster.url(database: database)
        let environment = ["CACHESRVD_ENCRYPTION_KEY": Self.makeKey()]
        // The disk writers wait a minute before applying a write: killed at once, it is in the journal only.
        let server = try ServerProcess(
            arguments: ["--fsync", "always", "--journal-apply-delay", "60"],
            environment: environment
        )
        defer { server.removeDirectory() }
        let client = try server.client()
        XCTAssertEqual(
            try client.command(["PUT", "j1", "http://10.9.0.1:3128", "username", "u-j1", "password", "pw-j1"]),
            .ok
        )
        try health(client, "j1", "ok", "42")
        server.crash()
        let l3 = server.dataDirectory + "/cachesrvd.db"
        XCTAssertEqual(try sqlite(l3, "SELECT count(*) FROM cache_entries WHERE key = 'j1'"), "0", "not in L3 yet")

        let migrated = try cachesrvd(["migrate-l3", "--l3-url", url] + dataOptions(server), environment: environment)
        XCTAssertEqual(migrated.status, 0, migrated.stderr)
        XCTAssertTrue(
            migrated.stdout.hasPrefix("copied 1, overwritten 0, skipped 0, expired 0, history records 1\n"),
            migrated.stdout
        )
        XCTAssertFalse((migrated.stdout + migrated.stderr).contains("pw-j1"))
        XCTAssertEqual(try sqlite(l3, "SELECT count(*) FROM cache_entries WHERE key = 'j1'"), "1", "replayed")
        XCTAssertEqual(try cluster.psql(database, "SELECT count(*) FROM health_history"), ["1"])

        let sidecar = try ServerProcess(
            arguments: ["--l3-url", url],
            directory: server.directory,
            environment: environment
        )
        defer { sidecar.stop() }
        XCTAssertEqual(try sidecar.client().command(["HGET", "j1", "password"]), .bulk("pw-j1"))
    }

    /// Sends HEALTH key and `arguments`; the reply must be the entry's new status.
    private func health(_ client: RawClient, _ key: String, _ arguments: String...) throws {
        let reply = try client.command(["HEALTH", key] + arguments)
        guard case .simpleString = reply else { return XCTFail("HEALTH \(key): \(reply)") }
    }

    /// One value from the sqlite3 command-line tool (the test is skipped without it).
    private func sqlite(_ path: String, _ sql: String) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3") else {
            throw XCTSkip("the sqlite3 command-line tool is not installed")
        }
        let result = try runProgram("/usr/bin/sqlite3", [path, sql])
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

import Foundation
import PostgresTestSupport
import XCTest

/// The real cachesrvd with L3 in a real (throw-away) PostgreSQL: `--l3-url` and `CACHESRVD_L3_URL`, credentials,
/// a restart, a second sidecar reading the first one's entries, the key check, and the password kept out of the
/// log and INFO. Skipped when PostgreSQL is not installed (unless `CACHESRVD_REQUIRE_POSTGRES=1`).
final class PostgresL3EndToEndTests: XCTestCase {
    private var cluster: ThrowawayPostgres!

    override func setUpWithError() throws {
        try super.setUpWithError()
        cluster = try ThrowawayPostgres.startOrSkip()
    }

    override func tearDown() {
        cluster?.stop()
        super.tearDown()
    }

    /// A new Fernet key (URL-safe base64 of 32 random bytes): the fleet's key.
    private func fernetKey() -> String {
        Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }

    func testEntriesLiveInPostgreSQLAcrossRestartsAndSidecarsAndThePasswordNeverShows() throws {
        let database = try cluster.createDatabase()
        let url = cluster.url(database: database)
        let key = fernetKey()
        let arguments = ["--tiers", "l1,l3", "--fsync", "always", "--log-level", "debug"]
        let first = try ServerProcess(
            arguments: arguments + ["--l3-url", url],
            environment: ["CACHESRVD_ENCRYPTION_KEY": key]
        )
        defer { first.removeDirectory() }
        let client = try first.client()
        XCTAssertEqual(try client.command(["SET", "plain", "http://10.0.0.1:3128"]), .ok)
        XCTAssertEqual(
            try client.command([
                "PUT", "cred", "http://10.0.0.2:3128", "username", "alice", "password", "proxy-PASSWORD-42",
            ]),
            .ok
        )
        XCTAssertEqual(try client.command(["HEALTH", "cred", "fail", "250", "timeout"]), .simpleString("unhealthy"))
        XCTAssertEqual(try client.command(["SET", "doomed", "x"]), .ok)
        XCTAssertEqual(try client.command(["DEL", "doomed"]), .integer(1))
        let binaryKey: [UInt8] = [0x62, 0x00, 0xFF, 0x01]
        let binaryValue: [UInt8] = [0x00, 0x80, 0x00, 0xC3, 0x28]
        XCTAssertEqual(try client.command(bytes: [Array("SET".utf8), binaryKey, binaryValue]), .ok)
        XCTAssertEqual(try client.command(bytes: [Array("GET".utf8), binaryKey]), .bulkString(binaryValue))

        let persistence = try client.info("persistence")
        XCTAssertEqual(persistence["l3_backend"], "postgresql")
        let figures = try client.info("cache")
        XCTAssertEqual(
            figures["l3_backend"],
            "postgresql postgres://postgres:***@/\(database)?host=\(cluster.socketDirectory)"
        )
        let everything = try XCTUnwrap(client.command(["INFO", "everything"]).text)
        XCTAssertFalse(everything.contains(cluster.password), "INFO shows no database password")
        XCTAssertEqual(first.stop(), 0)

        // The rows are in PostgreSQL, the credentials as tokens; no SQLite L3 file was made.
        XCTAssertEqual(try cluster.psql(database, "SELECT count(*) FROM cache_entries"), ["3"])
        let table = try cluster.psql(database, "SELECT t::text FROM cache_entries t").joined()
        XCTAssertFalse(table.contains("proxy-PASSWORD-42"))
        XCTAssertFalse(table.contains(Array("proxy-PASSWORD-42".utf8).map { String(format: "%02x", $0) }.joined()))
        XCTAssertFalse(FileManager.default.fileExists(atPath: first.dataDirectory + "/cachesrvd.db"))
        let sidecar = try String(contentsOfFile: first.dataDirectory + "/sidecar-id", encoding: .utf8)
        XCTAssertEqual(
            try cluster.psql(database, "SELECT sidecar_id FROM cachesrvd_journal"),
            [sidecar.trimmingCharacters(in: .whitespacesAndNewlines)],
            "the journal sequence is recorded under this sidecar's id"
        )

        // Restarted, in the same data directory.
        let again = try ServerProcess(
            arguments: arguments + ["--l3-url", url],
            directory: first.directory,
            environment: ["CACHESRVD_ENCRYPTION_KEY": key]
        )
        let reader = try again.client()
        XCTAssertEqual(try reader.command(["HGET", "cred", "password"]), .bulk("proxy-PASSWORD-42"))
        XCTAssertEqual(try reader.command(["HGET", "cred", "health_status"]), .bulk("unhealthy"))
        XCTAssertEqual(try reader.command(["GET", "doomed"]), .null)
        XCTAssertEqual(try reader.command(bytes: [Array("GET".utf8), binaryKey]), .bulkString(binaryValue))
        XCTAssertEqual(again.stop(), 0)

        // Another sidecar (a data directory of its own, so nothing local to replay) with the URL from the
        // environment and the password from PGPASSWORD: it reads what the first one wrote.
        let other = try ServerProcess(
            arguments: arguments,
            environment: [
                "CACHESRVD_ENCRYPTION_KEY": key,
                "CACHESRVD_L3_URL": cluster.url(database: database, withPassword: false),
                "PGPASSWORD": cluster.password,
            ]
        )
        defer { other.removeDirectory() }
        let second = try other.client()
        XCTAssertEqual(try second.command(["GET", "plain"]), .bulk("http://10.0.0.1:3128"))
        XCTAssertEqual(try second.command(["HGET", "cred", "username"]), .bulk("alice"))
        XCTAssertEqual(try second.command(["HGET", "cred", "password"]), .bulk("proxy-PASSWORD-42"))
        XCTAssertEqual(other.stop(), 0)
        XCTAssertEqual(try cluster.psql(database, "SELECT count(*) FROM cachesrvd_journal"), ["2"], "one per sidecar")

        for log in [first.log, again.log, other.log] {
            XCTAssertTrue(log.contains("postgresql store opened"), log)
            XCTAssertFalse(log.contains(cluster.password), "the database password in the log:\n\(log)")
            XCTAssertFalse(log.contains("proxy-PASSWORD-42"), "a credential in the log")
        }
    }

    func testASidecarWithAnotherKeyRefusesToStart() throws {
        let database = try cluster.createDatabase()
        let url = cluster.url(database: database)
        let first = try ServerProcess(
            arguments: ["--tiers", "l1,l3", "--l3-url", url],
            environment: ["CACHESRVD_ENCRYPTION_KEY": fernetKey()]
        )
        defer { first.removeDirectory() }
        XCTAssertEqual(try first.client().command(["PUT", "k", "http://h:1", "password", "pw"]), .ok)
        XCTAssertEqual(first.stop(), 0)

        let directory = ServerProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var environment = ProcessInfo.processInfo.environment
        environment["CACHESRVD_ENCRYPTION_KEY"] = fernetKey()
        let result = try runProgram(
            ServerProcess.binary("cachesrvd"),
            [
                "--socket", directory + "/s.sock", "--data-dir", directory + "/data", "--tiers", "l1,l3", "--l3-url",
                url,
            ],
            environment: environment
        )
        XCTAssertEqual(result.status, 1)
        let output = result.stdout + result.stderr
        XCTAssertTrue(output.contains("the L3 database was written with a different encryption key"), output)
        XCTAssertFalse(output.contains(cluster.password), output)
    }

    func testABadURLIsRefusedWithItsPasswordMasked() throws {
        let directory = ServerProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try runProgram(
            ServerProcess.binary("cachesrvd"),
            [
                "--socket", directory + "/s.sock", "--data-dir", directory + "/data", "--l3-url",
                "postgres://u:pw-SECRET@h",
            ]
        )
        XCTAssertNotEqual(result.status, 0)
        let output = result.stdout + result.stderr
        XCTAssertTrue(output.contains("names no database"), output)
        XCTAssertFalse(output.contains("pw-SECRET"), output)
    }
}

import CacheProtocol
import Foundation
import PostgresTestSupport
import XCTest

/// The maintenance subcommands with a PostgreSQL L3 (`--l3-url`, `CACHESRVD_L3_URL`), through the real binary and a
/// throw-away cluster: `import-proxywhirl` into it, `rotate-key` of its rows and key check, `migrate-l2`'s notice.
extension MaintenanceEndToEndTests {
    func testImportProxywhirlIntoAPostgresL3() throws {
        let python = try Self.requirePythonCryptography()
        let cluster = try ThrowawayPostgres.startOrSkip()
        defer { cluster.stop() }
        let database = try cluster.createDatabase()
        let url = cluster.url(database: database)
        let base = ServerProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let key = Self.makeKey()
        let previous = Self.makeKey()
        _ = try runPython(python, makeProxywhirlCache, [base, key, previous])
        let fleetKey = Self.makeKey()
        let proxywhirl = ["PROXYWHIRL_CACHE_ENCRYPTION_KEY": key, "PROXYWHIRL_CACHE_KEY_PREVIOUS": previous]

        let imported = try cachesrvd(
            ["import-proxywhirl", "--socket", base + "/s.sock", "--data-dir", base + "/data", "--l3-url", url],
            environment: proxywhirl.merging(["CACHESRVD_ENCRYPTION_KEY": fleetKey]) { $1 },
            in: base
        )
        XCTAssertEqual(imported.status, 0, imported.stderr)
        XCTAssertTrue(imported.stdout.hasPrefix("imported 4, skipped 2\n"), imported.stdout)
        XCTAssertFalse(imported.stdout.contains("evicted"), "L2 is not written with a shared L3")
        XCTAssertEqual(try cluster.psql(database, "SELECT count(*) FROM cache_entries"), ["4"])
        let table = try cluster.psql(database, "SELECT t::text FROM cache_entries t").joined(separator: "\n")
        for secret in ["pass1", "user3", "pass5"] {
            XCTAssertFalse(table.contains(secret), "\(secret) in clear")
            XCTAssertFalse(table.contains(Data(secret.utf8).map { String(format: "%02x", $0) }.joined()), secret)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: base + "/data/cachesrvd.db"), "no SQLite L3 written")

        // Another data directory with a key of its own: the database's key check refuses it, writing nothing
        // (the URL from the environment this time).
        let wrongKey = try cachesrvd(
            ["import-proxywhirl", "--socket", base + "/s2.sock", "--data-dir", base + "/other"],
            environment: proxywhirl.merging(["CACHESRVD_ENCRYPTION_KEY": Self.makeKey(), "CACHESRVD_L3_URL": url]) {
                $1
            },
            in: base
        )
        XCTAssertEqual(wrongKey.status, 1, wrongKey.stdout)
        XCTAssertTrue(wrongKey.stderr.contains("different encryption key"), wrongKey.stderr)
        XCTAssertFalse(wrongKey.stderr.contains(cluster.password), "the URL's password is masked")
        XCTAssertEqual(wrongKey.stdout, "")

        let server = try ServerProcess(
            arguments: ["--l3-url", url],
            directory: base,
            environment: ["CACHESRVD_ENCRYPTION_KEY": fleetKey]
        )
        defer { server.stop() }
        let client = try server.client()
        XCTAssertEqual(try client.command(["HGET", "k1", "password"]), .bulk("pass1"))
        XCTAssertEqual(try client.command(["HGET", "k3", "username"]), .bulk("user3"), "proxywhirl's previous key")
        XCTAssertEqual(try client.command(["HGET", "k5", "password"]), .bulk("pass5"))
        XCTAssertEqual(try client.command(["EXISTS", "k2"]), .integer(0))
    }

    func testRotateKeyOfAPostgresL3RefusesWhileASidecarRunsThenRotatesTheFleetsRows() throws {
        let cluster = try ThrowawayPostgres.startOrSkip()
        defer { cluster.stop() }
        let url = cluster.url(database: try cluster.createDatabase())
        let oldKey = Self.makeKey()
        let sidecar = try ServerProcess(
            arguments: ["--l3-url", url],
            environment: ["CACHESRVD_ENCRYPTION_KEY": oldKey]
        )
        defer { sidecar.removeDirectory() }
        try putEntries(sidecar, prefix: "p", count: 3)

        // Another host (another socket and data directory) while the sidecar runs: refused, nothing changed.
        let newKeyFile = sidecar.directory + "/new.key"
        let other = ["--socket", sidecar.directory + "/other.sock", "--data-dir", sidecar.directory + "/other"]
        let refused = try cachesrvd(
            ["rotate-key", "--generate", "--new-key-file", newKeyFile, "--l3-url", url] + other,
            environment: ["CACHESRVD_ENCRYPTION_KEY": oldKey]
        )
        XCTAssertEqual(refused.status, 1, refused.stdout)
        XCTAssertTrue(refused.stderr.contains("other cachesrvd connection"), refused.stderr)
        try checkEntries(try sidecar.client(), prefix: "p", count: 3)
        XCTAssertEqual(sidecar.stop(), 0)

        // migrate-l2 with the URL says it leaves L3 alone.
        let migrated = try cachesrvd(
            ["migrate-l2"] + dataOptions(sidecar),
            environment: ["CACHESRVD_ENCRYPTION_KEY": oldKey, "CACHESRVD_L3_URL": url]
        )
        XCTAssertEqual(migrated.status, 0, migrated.stderr)
        XCTAssertTrue(migrated.stderr.contains("moves this host's L2 only"), migrated.stderr)
        XCTAssertFalse(migrated.stderr.contains(cluster.password))

        let rotated = try cachesrvd(
            ["rotate-key", "--new-key-file", newKeyFile] + other,
            environment: ["CACHESRVD_ENCRYPTION_KEY": oldKey, "CACHESRVD_L3_URL": url]
        )
        XCTAssertEqual(rotated.status, 0, rotated.stderr)
        XCTAssertTrue(rotated.stdout.contains("(l2 0, l3 3)"), rotated.stdout)
        let newKey = try String(contentsOfFile: newKeyFile, encoding: .utf8).trimmingCharacters(in: .newlines)

        // The key check moved with the rows: the old key alone is refused now.
        let stale = try cachesrvd(
            ["rotate-key", "--generate", "--print-key", "--l3-url", url] + other,
            environment: ["CACHESRVD_ENCRYPTION_KEY": oldKey]
        )
        XCTAssertEqual(stale.status, 1, stale.stdout)
        XCTAssertTrue(stale.stderr.contains("different encryption key"), stale.stderr)

        let restarted = try ServerProcess(
            arguments: ["--l3-url", url],
            directory: sidecar.directory,
            environment: ["CACHESRVD_ENCRYPTION_KEY": newKey]
        )
        defer { restarted.stop() }
        try checkEntries(try restarted.client(), prefix: "p", count: 3)
    }
}

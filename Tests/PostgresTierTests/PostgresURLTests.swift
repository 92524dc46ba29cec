import Foundation
import XCTest

@testable import PostgresTier

/// `--l3-url`'s forms, where the password comes from, and that it never shows.
final class PostgresURLTests: XCTestCase {
    func testTCPForm() throws {
        let url = try PostgresURL("postgres://cache:s3cret@db.example:6543/fleet", environment: [:])
        XCTAssertEqual(url.endpoint, .tcp(host: "db.example", port: 6543))
        XCTAssertEqual(url.user, "cache")
        XCTAssertEqual(url.password, "s3cret")
        XCTAssertEqual(url.database, "fleet")
        XCTAssertEqual(url.tlsMode, .prefer, "libpq's default over TCP")
        XCTAssertEqual(url.description, "postgres://cache:***@db.example:6543/fleet")
        XCTAssertNil(url.socketPath)

        let plain = try PostgresURL("postgresql://cache@[::1]/fleet?sslmode=disable", environment: [:])
        XCTAssertEqual(plain.endpoint, .tcp(host: "::1", port: 5432))
        XCTAssertEqual(plain.tlsMode, .disable)
        XCTAssertNil(plain.password)
    }

    func testUnixSocketDirectoryForms() throws {
        let query = try PostgresURL("postgres://cache@/fleet?host=/run/postgresql&port=5433", environment: [:])
        XCTAssertEqual(query.endpoint, .unixSocket(directory: "/run/postgresql", port: 5433))
        XCTAssertEqual(query.socketPath, "/run/postgresql/.s.PGSQL.5433")
        XCTAssertEqual(query.tlsMode, .disable)
        let encoded = try PostgresURL("postgres://cache@%2Fvar%2Frun%2Fpg/fleet", environment: [:])
        XCTAssertEqual(encoded.socketPath, "/var/run/pg/.s.PGSQL.5432")
    }

    func testPasswordComesFromTheURLThenPGPASSWORDThenThePasswordFile() throws {
        let directory = NSTemporaryDirectory() + "pgpass-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/pgpass"
        let lines = """
            # comment
            other:5432:fleet:cache:not-this-one
            db.example:*:fleet:cache:from\\:file
            localhost:5432:*:cache:socket-pass

            """
        try lines.write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o600)
        let environment = ["PGPASSFILE": file]
        XCTAssertEqual(
            try PostgresURL("postgres://cache:inline@db.example/fleet", environment: environment).password,
            "inline"
        )
        XCTAssertEqual(
            try PostgresURL(
                "postgres://cache@db.example/fleet",
                environment: environment.merging(["PGPASSWORD": "env"]) { $1 }
            )
            .password,
            "env"
        )
        XCTAssertEqual(
            try PostgresURL("postgres://cache@db.example/fleet", environment: environment).password,
            "from:file"
        )
        XCTAssertEqual(
            try PostgresURL("postgres://cache@/fleet?host=/tmp/x", environment: environment).password,
            "socket-pass",
            "a socket connection matches localhost"
        )
        XCTAssertNil(try PostgresURL("postgres://nobody@db.example/fleet", environment: environment).password)
        // As libpq, a file others can read is ignored.
        chmod(file, 0o644)
        XCTAssertNil(try PostgresURL("postgres://cache@db.example/fleet", environment: environment).password)
        // ~/.pgpass when PGPASSFILE is not set.
        try "*:*:*:*:home-pass\n".write(toFile: directory + "/.pgpass", atomically: true, encoding: .utf8)
        chmod(directory + "/.pgpass", 0o600)
        XCTAssertEqual(try PostgresURL("postgres://x@h/d", environment: ["HOME": directory]).password, "home-pass")
    }

    func testBadURLsSayWhyAndMaskThePassword() {
        let cases: [(String, String)] = [
            ("mysql://u:pw-SECRET@h/d", "expected postgres://"),
            ("postgres://u:pw-SECRET@h", "names no database"),
            ("postgres://:pw-SECRET@h/d", "names no user"),
            ("postgres://u:pw-SECRET@/d", "names no host"),
            ("postgres://u:pw-SECRET@h:99999/d", "bad port"),
            ("postgres://u:pw-SECRET@h/d?sslmode=verify-full", "sslmode takes"),
            ("postgres://u@h/d?password=pw-SECRET&application=x", "unsupported parameter 'application'"),
        ]
        for (text, reason) in cases {
            do {
                _ = try PostgresURL(text, environment: [:])
                XCTFail("accepted \(text)")
            } catch {
                XCTAssertTrue(error.description.contains(reason), "\(text): \(error)")
                XCTAssertFalse(error.description.contains("pw-SECRET"), "\(text): \(error)")
            }
        }
        let url = try? PostgresURL("postgres://u@h/d?password=pw-SECRET", environment: [:])
        XCTAssertEqual(url?.password, "pw-SECRET")
        XCTAssertEqual(url?.description, "postgres://u@h/d?password=***")
    }
}

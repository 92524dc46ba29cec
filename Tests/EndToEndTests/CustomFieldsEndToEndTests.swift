import CacheProtocol
import Foundation
import XCTest

/// Custom fields (HSET of a field outside the schema) through the real server, its bounds, and its disk tiers.
final class CustomFieldsEndToEndTests: XCTestCase {
    /// The names HGETALL lists after the schema fields, with their values.
    private func customPairs(_ client: RawClient, _ key: String) throws -> [String] {
        let all = try XCTUnwrap(client.command(["HGETALL", key]).array).compactMap(\.text)
        let schemaCount = all.firstIndex(of: "total_health_check_failures").map { $0 + 2 } ?? 0
        return Array(all[schemaCount...])
    }

    func testHashCommandsAddressCustomFields() throws {
        let server = try ServerProcess(arguments: [
            "--tiers", "l1", "--max-custom-fields", "3", "--max-custom-field-size", "16",
        ])
        defer {
            XCTAssertEqual(server.stop(), 0)
            server.removeDirectory()
        }
        let client = try server.client()
        func run(_ arguments: String...) throws -> RESPValue { try client.command(arguments) }

        // A new key becomes an entry whose string value is empty.
        XCTAssertEqual(try run("HSET", "k", "country", "de", "protocol", "http", "country", "fr"), .integer(2))
        XCTAssertEqual(try run("GET", "k"), .bulk(""))
        XCTAssertEqual(try customPairs(client, "k"), ["country", "fr", "protocol", "http"])
        XCTAssertEqual(try run("HSET", "k", "Country", "x", "proxy_url", "http://p:1"), .integer(1))
        XCTAssertEqual(try run("GET", "k"), .bulk("http://p:1"))
        XCTAssertEqual(try customPairs(client, "k"), ["country", "fr", "protocol", "http", "Country", "x"])
        let keys = try XCTUnwrap(run("HKEYS", "k").array).compactMap(\.text)
        XCTAssertEqual(keys.first, "proxy_url")
        XCTAssertEqual(Array(keys.suffix(3)), ["country", "protocol", "Country"])
        XCTAssertEqual(try run("HVALS", "k").array?.last, .bulk("x"))
        XCTAssertEqual(try run("HLEN", "k"), .integer(Int64(keys.count)))
        XCTAssertEqual(
            try run("HMGET", "k", "country", "COUNTRY", "Proxy_Url"),
            .array([.bulk("fr"), .null, .bulk("http://p:1")])
        )
        XCTAssertEqual(try run("HEXISTS", "k", "protocol"), .integer(1))
        XCTAssertEqual(try run("HSTRLEN", "k", "protocol"), .integer(4))
        XCTAssertEqual(try run("HSETNX", "k", "protocol", "socks"), .integer(0))
        XCTAssertEqual(try run("HGET", "k", "protocol"), .bulk("http"))

        // Bounds: a clear error, and nothing of the command is applied.
        XCTAssertEqual(
            try run("HSET", "k", "source", "s2", "fourth", "v"),
            .error("ERR too many custom fields: an entry holds at most 3 (max-custom-fields)")
        )
        XCTAssertEqual(
            try run("HSET", "k", "country", String(repeating: "y", count: 10)),
            .error("ERR custom field of 17 bytes (name and value): the most is 16 (max-custom-field-size)")
        )
        XCTAssertEqual(try run("HGET", "k", "source"), .bulk("unknown"))
        XCTAssertEqual(try run("HGET", "k", "country"), .bulk("fr"))
        XCTAssertEqual(
            try run("CONFIG", "GET", "max-custom-field*"),
            .array([.bulk("max-custom-fields"), .bulk("3"), .bulk("max-custom-field-size"), .bulk("16")])
        )
        // Schema fields keep their validation.
        XCTAssertEqual(
            try run("HSET", "k", "access_count", "many"),
            .error("ERR invalid value for 'access_count': expected a non-negative integer")
        )

        // HDEL removes custom fields; the entry stays even when none is left.
        XCTAssertEqual(try run("HDEL", "k", "country", "protocol", "Country", "nope"), .integer(3))
        XCTAssertEqual(try customPairs(client, "k"), [])
        XCTAssertEqual(try run("EXISTS", "k"), .integer(1))
        XCTAssertEqual(try run("HDEL", "k", "proxy_url"), .error("ERR field 'proxy_url' cannot be deleted"))

        // Counters: custom fields hold any number; schema counts keep their bounds; text fields are not numbers.
        XCTAssertEqual(try run("HINCRBY", "k", "hits", "5"), .integer(5))
        XCTAssertEqual(try run("HINCRBY", "k", "hits", "-7"), .integer(-2))
        XCTAssertEqual(try run("HINCRBY", "k", "failure_count", "2"), .integer(2))
        XCTAssertEqual(try run("HGET", "k", "failure_count"), .bulk("2"))
        XCTAssertEqual(
            try run("HINCRBY", "k", "failure_count", "-3"),
            .error("ERR invalid value for 'failure_count': expected a non-negative integer")
        )
        XCTAssertEqual(try run("HINCRBY", "k", "source", "1"), .error("ERR hash value is not an integer"))
        XCTAssertEqual(try run("HINCRBYFLOAT", "k", "score", "10.5"), .bulk("10.5"))
        XCTAssertEqual(try run("HINCRBYFLOAT", "k", "score", "0.1"), .bulk("10.6"))
        XCTAssertEqual(try run("HINCRBYFLOAT", "k", "proxy_url", "1"), .error("ERR hash value is not a float"))
        XCTAssertEqual(try run("HINCRBYFLOAT", "k", "hits", "1e5000"), .error("ERR value is not a valid float"))

        // HRANDFIELD picks among schema and custom fields.
        let picked = try XCTUnwrap(run("HRANDFIELD", "k", "-50").array).compactMap(\.text)
        XCTAssertEqual(picked.count, 50)
        XCTAssertTrue(Set(picked).isSubset(of: Set(try XCTUnwrap(run("HKEYS", "k").array).compactMap(\.text))))
        XCTAssertEqual(try run("HRANDFIELD", "absent"), .null)
    }

    func testCustomFieldsSurviveARestartInEveryDiskTier() throws {
        for tiers in [["--tiers", "l1,l2,l3"], ["--tiers", "l1,l2", "--l2-backend", "jsonl"], ["--tiers", "l1,l3"]] {
            let first = try ServerProcess(arguments: tiers)
            defer { first.removeDirectory() }
            let client = try first.client()
            XCTAssertEqual(
                try client.command([
                    "HSET", "p", "proxy_url", "http://10.0.0.1:3128", "country", "de", "anonymity", "elite",
                ]),
                .integer(3)
            )
            XCTAssertEqual(try client.command(["HSET", "q", "note", "a \"quoted\"\nline"]), .integer(1))
            XCTAssertEqual(try client.command(["HDEL", "p", "anonymity"]), .integer(1))
            XCTAssertEqual(try client.command(["HSET", "p", "protocol", "https"]), .integer(1))
            XCTAssertEqual(first.stop(), 0, "\(tiers)")

            let second = try ServerProcess(arguments: tiers, directory: first.directory)
            defer { second.stop() }
            let again = try second.client()
            XCTAssertEqual(try customPairs(again, "p"), ["country", "de", "protocol", "https"], "\(tiers)")
            XCTAssertEqual(try customPairs(again, "q"), ["note", "a \"quoted\"\nline"], "\(tiers)")
            XCTAssertEqual(try again.command(["GET", "p"]), .bulk("http://10.0.0.1:3128"), "\(tiers)")
        }
    }

    func testCachectlPutKeepsAndExportWritesCustomFields() throws {
        let server = try ServerProcess(arguments: ["--tiers", "l1"])
        defer {
            XCTAssertEqual(server.stop(), 0)
            server.removeDirectory()
        }
        let put = try runCachectl(
            ["put", "http://1.2.3.4:8080", "--key", "p", "--field", "country=de", "--field", "anonymity=elite"],
            socket: server.socketPath
        )
        XCTAssertEqual(put.status, 0, put.stderr)
        let export = try runCachectl(["export", "-"], socket: server.socketPath)
        XCTAssertEqual(export.status, 0, export.stderr)
        let object = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(export.stdout.utf8)) as? [String: Any],
            export.stdout
        )
        XCTAssertEqual(object["country"] as? String, "de")
        XCTAssertEqual(object["anonymity"] as? String, "elite")
        XCTAssertTrue(
            export.stdout.contains(#""total_health_check_failures":0,"country":"de","anonymity":"elite"}"#),
            export.stdout
        )
    }

    func testRedisBenchmarkHSet() throws {
        let benchmark = "/usr/bin/redis-benchmark"
        guard FileManager.default.isExecutableFile(atPath: benchmark) else {
            throw XCTSkip("redis-benchmark is not installed (scripts/interop.sh installs it)")
        }
        let server = try ServerProcess(arguments: ["--tiers", "l1"])
        defer {
            XCTAssertEqual(server.stop(), 0)
            server.removeDirectory()
        }
        let result = try runProgram(benchmark, ["-s", server.socketPath, "-q", "-n", "2000", "-t", "hset"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("HSET: "), result.stdout)
        XCTAssertFalse((result.stdout + result.stderr).contains("ERR"), result.stdout + result.stderr)
        // It sends HSET myhash element:__rand_int__ followed by 3 bytes of data (-d's default).
        let client = try server.client()
        let pairs = try customPairs(client, "myhash")
        XCTAssertEqual(pairs.first, "element:__rand_int__")
        XCTAssertEqual(try client.command(["HSTRLEN", "myhash", "element:__rand_int__"]), .integer(3))
    }
}

import CacheProtocol
import XCTest

/// `--l1-max-memory` on the real server: L1 evicts past it, INFO and CONFIG show it, CONFIG SET moves it.
final class MemoryBoundEndToEndTests: XCTestCase {
    private var server: ServerProcess!

    override func tearDown() {
        if let server {
            XCTAssertEqual(server.stop(), 0)
            server.removeDirectory()
        }
        super.tearDown()
    }

    private func key(_ index: Int) -> String { "key:" + String(100_000_000_000 + index) }

    func testASmallMemoryBoundEvictsTheLeastRecentlyUsed() throws {
        server = try ServerProcess(arguments: ["--tiers", "l1", "--l1-max-memory", "64kb"])
        let client = try server.client()
        let value = String(repeating: "v", count: 100)
        for index in 0..<1000 {
            XCTAssertEqual(try client.command(["SET", key(index), value]), .ok)
        }
        let keys = try XCTUnwrap(client.command(["DBSIZE"]).integerValue)
        XCTAssertGreaterThan(keys, 50)
        XCTAssertLessThan(keys, 1000)
        XCTAssertEqual(try client.command(["GET", key(999)]), .bulk(value), "the newest stays")
        XCTAssertEqual(try client.command(["GET", key(0)]), .null, "the oldest went first")

        let memory = try client.info("memory")
        XCTAssertEqual(memory["maxmemory"], "65536")
        XCTAssertEqual(memory["l1_max_memory"], "65536")
        XCTAssertEqual(memory["maxmemory_policy"], "allkeys-lru")
        XCTAssertEqual(memory["l1_max_entries"], "0")
        XCTAssertEqual(memory["l1_entries"], String(keys))
        let used = try XCTUnwrap(Int(memory["l1_used_bytes"] ?? ""))
        XCTAssertLessThanOrEqual(used, 65536)
        XCTAssertGreaterThan(used, 65536 - 1000, "evicted only what it had to")
        XCTAssertEqual(try client.info("stats")["evicted_keys"], String(1000 - keys))

        XCTAssertEqual(
            try client.command(["CONFIG", "GET", "maxmemory"]),
            .array([.bulk("maxmemory"), .bulk("65536")])
        )
        XCTAssertEqual(try client.command(["CONFIG", "SET", "maxmemory", "16kb"]), .ok)
        let fewer = try XCTUnwrap(client.command(["DBSIZE"]).integerValue)
        XCTAssertLessThan(fewer, keys / 2)
        XCTAssertLessThanOrEqual(Int(try client.info("memory")["l1_used_bytes"] ?? "") ?? .max, 16384)
        XCTAssertEqual(
            try client.command(["CONFIG", "SET", "maxmemory", "lots"]),
            .error(
                "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"
            )
        )
        XCTAssertEqual(try client.command(["CONFIG", "SET", "maxmemory", "0"]), .ok)
        for index in 0..<1000 {
            XCTAssertEqual(try client.command(["SET", key(index), value]), .ok)
        }
        XCTAssertEqual(try client.command(["DBSIZE"]), .integer(1000), "0 is no bound")
    }

    func testABadSizeIsRefusedAtStart() throws {
        let result = try runProgram(
            ServerProcess.binary("cachesrvd"),
            ["serve", "--tiers", "l1", "--socket", "/tmp/never-bound.sock", "--l1-max-memory", "1.5gb"]
        )
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("--l1-max-memory takes bytes"), result.stderr)
    }
}

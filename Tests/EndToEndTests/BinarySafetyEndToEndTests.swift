import CacheProtocol
import XCTest

/// Keys, values and fields are bytes: whatever SET stores, GET returns, through every tier and across a restart.
final class BinarySafetyEndToEndTests: XCTestCase {
    /// Keys no text decoding may merge or change: every single byte, invalid UTF-8, canonically equivalent text,
    /// the replacement character itself, and the empty key.
    private static let keys: [[UInt8]] =
        (0...255).map { [UInt8(ascii: "k"), UInt8($0)] } + [
            [],
            [0xFF, 0xFE, 0x00],
            Array("\u{E9}".utf8),
            Array("e\u{301}".utf8),
            [0xEF, 0xBF, 0xBD],
            [0xF4, 0x8F, 0xBC, 0x80],
            Array("日本".utf8),
        ]

    private static func value(for index: Int) -> [UInt8] {
        index % 7 == 0 ? [] : (0...255).map { UInt8(($0 + index) % 256) }
    }

    private func writeAll(_ client: RawClient) throws {
        for (index, key) in Self.keys.enumerated() {
            XCTAssertEqual(try client.command(bytes: [Array("SET".utf8), key, Self.value(for: index)]), .ok)
        }
        let field: [UInt8] = [0x00, 0xC3]
        XCTAssertEqual(
            try client.command(bytes: [
                Array("HSET".utf8), [0x80], Array("proxy_url".utf8), [0xFF], Array("source".utf8), field,
            ]),
            .integer(2)
        )
    }

    private func checkAll(_ client: RawClient, file: StaticString = #filePath, line: UInt = #line) throws {
        for (index, key) in Self.keys.enumerated() {
            XCTAssertEqual(
                try client.command(bytes: [Array("GET".utf8), key]),
                .bulkString(Self.value(for: index)),
                "key \(key)",
                file: file,
                line: line
            )
        }
        XCTAssertEqual(try client.command(["DBSIZE"]), .integer(Int64(Self.keys.count + 1)), file: file, line: line)
        XCTAssertEqual(
            try client.command(bytes: [Array("HGET".utf8), [0x80], Array("source".utf8)]),
            .bulkString([0x00, 0xC3]),
            file: file,
            line: line
        )
        let listed = try XCTUnwrap(client.command(["KEYS", "*"]).array, file: file, line: line)
        let keys = Set(
            listed.compactMap { value -> [UInt8]? in
                if case .bulkString(let bytes?) = value { return bytes }
                return nil
            }
        )
        XCTAssertEqual(keys, Set(Self.keys + [[0x80]]), "KEYS lists the bytes of every key", file: file, line: line)
    }

    func testBytesRoundTripInMemory() throws {
        let server = try ServerProcess(arguments: ["--tiers", "l1"])
        defer { server.removeDirectory() }
        let client = try server.client()
        try writeAll(client)
        try checkAll(client)
        XCTAssertEqual(server.stop(), 0)
    }

    /// With a one-entry L1, every read but the last write's comes from the disk tiers; then again after a restart.
    func testBytesRoundTripThroughTheDiskTiersAndARestart() throws {
        let configurations = [
            ["--l2-backend", "sqlite", "--l1-max-entries", "1"],
            ["--l2-backend", "jsonl", "--l1-max-entries", "1"],
            ["--tiers", "l1,l3", "--l1-max-entries", "1"],
            // JSONL alone below L1: the empty key must load back from a shard line too.
            ["--tiers", "l1,l2", "--l2-backend", "jsonl", "--l1-max-entries", "1"],
        ]
        for arguments in configurations {
            let backend = arguments.joined(separator: " ")
            let first = try ServerProcess(arguments: arguments)
            defer { first.removeDirectory() }
            try writeAll(first.client())
            try checkAll(first.client())
            XCTAssertEqual(first.stop(), 0, backend)
            let second = try ServerProcess(arguments: arguments, directory: first.directory)
            try checkAll(second.client())
            XCTAssertEqual(second.stop(), 0, backend)
        }
    }
}

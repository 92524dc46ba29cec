import CacheProtocol
import Foundation
import NIOCore
import XCTest

/// CONFIG SET of the live settings changes what the running server does; COMMAND DOCS and GETKEYS read the table.
/// Each test starts its own server, so a setting it changes cannot leak into another test.
final class ConfigCommandEndToEndTests: XCTestCase {
    private func withServer(_ arguments: [String] = ["--tiers", "l1"], _ body: (ServerProcess) throws -> Void) throws {
        let server = try ServerProcess(arguments: arguments)
        defer {
            XCTAssertEqual(server.stop(), 0)
            server.removeDirectory()
        }
        try body(server)
    }

    private func config(_ client: RawClient, _ name: String) throws -> String? {
        try client.command(["CONFIG", "GET", name]).array?.last?.text
    }

    private func immutable(_ name: String) -> RESPValue {
        .error("ERR CONFIG SET failed (possibly related to argument '\(name)') - can't set immutable config")
    }

    func testSlowlogThresholdTakesEffectAtOnce() throws {
        try withServer { server in
            let client = try server.client()
            XCTAssertEqual(try client.command(["CONFIG", "SET", "slowlog-log-slower-than", "0"]), .ok)
            XCTAssertEqual(try client.command(["SLOWLOG", "RESET"]), .ok)
            for _ in 0..<3 { XCTAssertEqual(try client.command(["PING"]), .simpleString("PONG")) }
            guard case .integer(let logged) = try client.command(["SLOWLOG", "LEN"]) else { return XCTFail() }
            XCTAssertGreaterThanOrEqual(logged, 3, "every command is slower than 0 µs")

            XCTAssertEqual(try client.command(["CONFIG", "SET", "slowlog-log-slower-than", "-1"]), .ok)
            XCTAssertEqual(try client.command(["SLOWLOG", "RESET"]), .ok)
            for _ in 0..<3 { XCTAssertEqual(try client.command(["PING"]), .simpleString("PONG")) }
            XCTAssertEqual(try client.command(["SLOWLOG", "LEN"]), .integer(0), "-1 logs nothing")
            XCTAssertEqual(try config(client, "slowlog-log-slower-than"), "-1")
        }
    }

    /// `loglevel` takes Redis's names and changes what the log receives at once: debug lines appear only after it.
    func testLoglevelChangesTheLogAtOnce() throws {
        try withServer(["--tiers", "l1", "--log-level", "info"]) { server in
            let client = try server.client()
            XCTAssertEqual(try config(client, "loglevel"), "verbose")
            XCTAssertEqual(try client.command(["CONFIG", "SET", "loglevel", "debug"]), .ok)
            XCTAssertEqual(try config(client, "loglevel"), "debug")
            _ = try server.client().command(["PING"])  // connecting and leaving log at debug level
            let deadline = Date().addingTimeInterval(10)
            var log = ""
            while Date() < deadline {
                log = (try? String(contentsOfFile: server.logPath, encoding: .utf8)) ?? ""
                if log.contains("client disconnected") { break }
                usleep(20_000)
            }
            XCTAssertTrue(log.contains("client disconnected"), "debug lines are written after CONFIG SET loglevel debug")
            XCTAssertEqual(
                try client.command(["CONFIG", "SET", "loglevel", "loud"]),
                .error(
                    "ERR CONFIG SET failed (possibly related to argument 'loglevel') - argument(s) must be one of "
                        + "the following: debug, verbose, notice, warning"
                )
            )
        }
    }

    func testDefaultTTLAppliesToPutNotToSet() throws {
        for arguments in [["--tiers", "l1"], ["--l1-max-entries", "4"]] {
            try withServer(arguments) { server in
                let client = try server.client()
                XCTAssertEqual(try client.command(["CONFIG", "SET", "default-ttl", "1234"]), .ok)
                XCTAssertEqual(try client.command(["PUT", "p", "http://10.0.0.1:80"]), .ok)
                guard case .integer(let ttl) = try client.command(["TTL", "p"]) else { return XCTFail("TTL") }
                XCTAssertTrue((1233...1234).contains(ttl), "\(arguments): \(ttl)")
                XCTAssertEqual(try client.command(["SET", "s", "http://10.0.0.2:80"]), .ok)
                XCTAssertEqual(try client.command(["TTL", "s"]), .integer(-1), "SET keeps Redis's semantics")

                XCTAssertEqual(try client.command(["CONFIG", "SET", "default-ttl", "0"]), .ok)
                XCTAssertEqual(try client.command(["PUT", "q", "http://10.0.0.3:80"]), .ok)
                XCTAssertEqual(try client.command(["TTL", "q"]), .integer(-1), "0: no default")
                XCTAssertEqual(try config(client, "default-ttl"), "0")
            }
        }
    }

    func testMaxclientsRefusesTheNextClientAtOnce() throws {
        try withServer { server in
            let admin = try server.client()
            // The server's readiness probes may still be closing: wait until this client is the only one.
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline,
                try XCTUnwrap(admin.command(["INFO", "clients"]).text).contains("connected_clients:1\r\n") == false
            {
                usleep(10_000)
            }
            XCTAssertEqual(try admin.command(["CONFIG", "SET", "maxclients", "1"]), .ok)
            XCTAssertEqual(try config(admin, "maxclients"), "1")
            let refused = try server.client()
            XCTAssertEqual(try refused.readReply(), .error("ERR max number of clients reached"))
            XCTAssertEqual(try refused.readUntilClosed(), "")

            XCTAssertEqual(try admin.command(["CONFIG", "SET", "maxclients", "10"]), .ok)
            XCTAssertEqual(try server.client().command(["PING"]), .simpleString("PONG"))
        }
    }

    func testFixedSettingsAndAllOrNothing() throws {
        try withServer { server in
            let client = try server.client()
            XCTAssertEqual(try client.command(["CONFIG", "SET", "port", "1"]), immutable("port"))
            XCTAssertEqual(try client.command(["CONFIG", "SET", "l1-max-entries", "5"]), immutable("l1-max-entries"))
            let length = try XCTUnwrap(config(client, "slowlog-max-len"))
            let threshold = try XCTUnwrap(config(client, "latency-monitor-threshold"))
            XCTAssertNotEqual(length, "77")

            XCTAssertEqual(
                try client.command(["CONFIG", "SET", "slowlog-max-len", "77", "port", "1"]),
                immutable("port")
            )
            XCTAssertEqual(
                try client.command(["CONFIG", "SET", "slowlog-max-len", "77", "maxclients", "abc"]),
                .error(
                    "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed "
                        + "into an integer"
                )
            )
            XCTAssertEqual(
                try client.command(["CONFIG", "SET", "slowlog-max-len", "77", "slowlog-max-len", "78"]),
                .error("ERR CONFIG SET failed (possibly related to argument 'slowlog-max-len') - duplicate parameter")
            )
            XCTAssertEqual(try config(client, "slowlog-max-len"), length, "nothing applied")
            XCTAssertEqual(try config(client, "latency-monitor-threshold"), threshold)

            XCTAssertEqual(
                try client.command(["CONFIG", "SET", "slowlog-max-len", "77", "latency-monitor-threshold", "5"]),
                .ok
            )
            XCTAssertEqual(try config(client, "slowlog-max-len"), "77")
            XCTAssertEqual(try config(client, "latency-monitor-threshold"), "5")
        }
    }

    func testResetstatZeroesCommandstats() throws {
        try withServer { server in
            let client = try server.client()
            XCTAssertEqual(try client.command(["SET", "k", "v"]), .ok)
            XCTAssertEqual(try client.command(["GET", "k"]), .bulk("v"))
            XCTAssertEqual(try client.command(["GET", "k"]), .bulk("v"))
            XCTAssertTrue(
                try XCTUnwrap(client.command(["INFO", "commandstats"]).text).contains("cmdstat_get:calls=2,")
            )
            XCTAssertEqual(try client.command(["CONFIG", "RESETSTAT"]), .ok)
            let after = try XCTUnwrap(client.command(["INFO", "commandstats"]).text)
            XCTAssertFalse(after.contains("cmdstat_get:"), after)
            XCTAssertFalse(after.contains("cmdstat_set:"), after)
        }
    }

    // MARK: - COMMAND

    /// A flat RESP2 map (key, value, key, value) as a dictionary of its text keys.
    private func map(_ value: RESPValue?) throws -> [String: RESPValue] {
        let items = try XCTUnwrap(value?.array)
        var map: [String: RESPValue] = [:]
        for index in stride(from: 0, to: items.count - 1, by: 2) {
            map[try XCTUnwrap(items[index].text)] = items[index + 1]
        }
        return map
    }

    func testCommandDocsListsSetsArguments() throws {
        try withServer { server in
            let client = try server.client()
            let reply = try XCTUnwrap(client.command(["COMMAND", "DOCS", "SET"]).array)
            XCTAssertEqual(reply.first?.text, "set")
            let docs = try map(reply.last)
            XCTAssertEqual(docs["group"]?.text, "string")
            let arguments = try XCTUnwrap(docs["arguments"]?.array).map { try map($0) }
            XCTAssertEqual(arguments.compactMap { $0["name"]?.text }.prefix(2), ["key", "proxy_url"])
            XCTAssertEqual(arguments.first?["type"]?.text, "key")
            let get = try XCTUnwrap(arguments.first { $0["token"]?.text == "GET" })
            XCTAssertEqual(get["type"]?.text, "pure-token")
            XCTAssertEqual(get["flags"], .array([.simpleString("optional")]))
            let expiry = try XCTUnwrap(arguments.last)
            XCTAssertEqual(expiry["type"]?.text, "oneof")
            let tokens = try XCTUnwrap(expiry["arguments"]?.array).compactMap { try map($0)["token"]?.text }
            XCTAssertEqual(tokens, ["EX", "PX", "EXAT", "PXAT", "KEEPTTL"])

            // Under RESP3 the same reply is a map of maps, as redis-cli reads it for its hints.
            XCTAssertFalse(try client.command(["HELLO", "3"]).isError)
            var request = ByteBuffer()
            request.writeRESPCommand(["COMMAND", "DOCS", "SET"])
            try client.send(Array(request.readableBytesView))
            let raw = String(decoding: try client.readRawReply(), as: UTF8.self)
            XCTAssertTrue(raw.hasPrefix("%1\r\n$3\r\nset\r\n%4\r\n"), raw)
            XCTAssertTrue(raw.contains("$5\r\nflags\r\n~1\r\n+optional\r\n"), "flags are a set: \(raw)")
            XCTAssertTrue(
                raw.contains("$9\r\narguments\r\n*5\r\n%2\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n"),
                raw
            )
        }
    }

    func testCommandGetkeys() throws {
        try withServer { server in
            let client = try server.client()
            XCTAssertEqual(
                try client.command(["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"]),
                .array([.bulk("a"), .bulk("b")])
            )
            XCTAssertEqual(try client.command(["COMMAND", "GETKEYS", "GET", "k"]), .array([.bulk("k")]))
            XCTAssertEqual(
                try client.command(["COMMAND", "GETKEYS", "PING", "x"]),
                .error("ERR The command has no key arguments")
            )
            XCTAssertEqual(
                try client.command(["COMMAND", "GETKEYS", "NOSUCH", "x"]),
                .error("ERR Invalid command specified")
            )
            XCTAssertEqual(
                try client.command(["COMMAND", "GETKEYS", "MSET", "a"]),
                .error("ERR Invalid number of arguments specified for command")
            )
        }
    }
}

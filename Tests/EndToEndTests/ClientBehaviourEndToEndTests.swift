import CacheProtocol
import NIOCore
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// How the server treats clients that half-close, read slowly, or send values at the edges of the ranges.
final class ClientBehaviourEndToEndTests: XCTestCase {
    func testHalfClosedClientGetsEveryReply() throws {
        let server = try ServerProcess()
        defer {
            XCTAssertEqual(server.stop(), 0)
            server.removeDirectory()
        }
        XCTAssertEqual(try server.client().command(["SET", "h", "http://h:1"]), .ok)
        // DBSIZE runs off the event loop (disk tiers); the GET after it must still be answered.
        let client = try server.client()
        try client.send("DBSIZE\r\nGET h\r\nMULTI\r\nGET h\r\nEXEC\r\n")
        client.shutdownWrite()
        XCTAssertEqual(
            try client.readUntilClosed(),
            ":1\r\n$10\r\nhttp://h:1\r\n+OK\r\n+QUEUED\r\n*1\r\n$10\r\nhttp://h:1\r\n"
        )
    }

    func testReaderThatFallsBehindGetsEveryReplyOnceItReads() throws {
        let server = try ServerProcess(arguments: ["--tiers", "l1"])
        defer {
            XCTAssertEqual(server.stop(), 0)
            server.removeDirectory()
        }
        let value = "http://" + String(repeating: "v", count: 10_000)
        XCTAssertEqual(try server.client().command(["SET", "big", value]), .ok)
        let client = try server.client()
        var request = ByteBuffer()
        for _ in 0..<300 { request.writeRESPCommand(["GET", "big"]) }
        try client.send(Array(request.readableBytesView))
        // A slow reader: the server fills the socket, stops, and must resume once we read.
        usleep(300_000)
        for index in 0..<300 {
            let reply = try client.readReply()  // a stalled server times out here and ends the test
            XCTAssertEqual(reply, .bulk(value), "reply \(index)")
        }
    }

    func testValuesAtTheEdgesAreRefusedNotFatal() throws {
        let server = try ServerProcess()
        defer {
            XCTAssertEqual(server.stop(), 0)
            server.removeDirectory()
        }
        let client = try server.client()
        XCTAssertEqual(try client.command(["PUT", "e", "http://e:1"]), .ok)
        XCTAssertEqual(
            try client.command(["HSET", "e", "access_count", "9223372036854775807"]),
            .error("ERR invalid value for 'access_count': expected an integer from 0 to 9007199254740991")
        )
        XCTAssertEqual(
            try client.command(["HSET", "e", "expires_at", "1e300"]),
            .error("ERR invalid value for 'expires_at': expected Unix seconds from 0 to 100000000000")
        )
        XCTAssertEqual(
            try client.command(["PUT", "f", "http://f:1", "ttl_seconds", "9223372036854775807"]),
            .error("ERR invalid value for 'ttl_seconds': expected an integer from 0 to 3153600000")
        )
        XCTAssertEqual(
            try client.command(["PEXPIRE", "e", "-9223372036854775808"]),
            .integer(1),
            "far in the past: removed, as Redis does"
        )
        XCTAssertEqual(try client.command(["PUT", "e", "http://e:1"]), .ok)
        XCTAssertEqual(
            try client.command(["EXPIRE", "e", "9223372036854775807"]),
            .error("ERR invalid expire time in 'expire' command")
        )
        XCTAssertEqual(
            try client.command(["SET", "e", "x", "EX", "99999999999999"]),
            .error("ERR invalid expire time in 'set' command")
        )
        XCTAssertEqual(try client.command(["HSET", "e", "total_health_checks", "9007199254740991"]), .integer(0))
        XCTAssertEqual(try client.command(["HEALTH", "e", "fail"]), .simpleString("unhealthy"))
        XCTAssertEqual(try client.command(["TTL", "e"]), .integer(3600))
        XCTAssertEqual(try client.command(["PING"]), .simpleString("PONG"), "the server is still up")
    }
}

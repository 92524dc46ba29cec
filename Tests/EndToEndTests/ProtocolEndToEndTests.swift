import CacheProtocol
import XCTest

/// Redis's own protocol test cases (tests/unit/protocol.tcl) against the real server: each gets Redis's answer,
/// the offending connection is closed, and the server keeps serving everyone else.
final class ProtocolEndToEndTests: XCTestCase {
    // Set in class setUp and cleared in class tearDown, which XCTest runs serially around the tests.
    nonisolated(unsafe) private static var server: ServerProcess!

    override class func setUp() {
        super.setUp()
        server = try! ServerProcess(arguments: ["--tiers", "l1"])
    }

    override class func tearDown() {
        XCTAssertEqual(server.stop(), 0)
        server.removeDirectory()
        super.tearDown()
    }

    /// Sends `bytes` on a fresh connection, reads everything until the server closes it, and checks that a
    /// bystander connection opened before is still served.
    private func assertClosed(after bytes: String, replies expected: String, line: UInt = #line) throws {
        let bystander = try Self.server.client()
        XCTAssertEqual(try bystander.command(["SET", "bystander", "http://b:1"]), .ok, line: line)
        let client = try Self.server.client()
        try client.send(bytes)
        XCTAssertEqual(try client.readUntilClosed(), expected, line: line)
        XCTAssertEqual(try bystander.command(["GET", "bystander"]), .bulk("http://b:1"), line: line)
    }

    func testEmptyQueryIsIgnored() throws {
        let client = try Self.server.client()
        try client.send("\r\n\r\n  \r\nPING\r\n")
        XCTAssertEqual(try client.readReply(), .simpleString("PONG"))
    }

    func testNegativeMultibulkLengthIsIgnored() throws {
        let client = try Self.server.client()
        try client.send("*-10\r\nPING\r\n")
        XCTAssertEqual(try client.readReply(), .simpleString("PONG"))
    }

    func testOutOfRangeMultibulkLength() throws {
        try assertClosed(after: "*3000000000\r\n", replies: "-ERR Protocol error: invalid multibulk length\r\n")
    }

    func testWrongMultibulkPayloadHeader() throws {
        try assertClosed(
            after: "*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n",
            replies: "-ERR Protocol error: expected '$', got 'f'\r\n"
        )
    }

    func testNegativeMultibulkPayloadLength() throws {
        try assertClosed(
            after: "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n",
            replies: "-ERR Protocol error: invalid bulk length\r\n"
        )
    }

    func testOutOfRangeMultibulkPayloadLength() throws {
        try assertClosed(
            after: "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n",
            replies: "-ERR Protocol error: invalid bulk length\r\n"
        )
    }

    func testNonNumberMultibulkPayloadLength() throws {
        try assertClosed(
            after: "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n",
            replies: "-ERR Protocol error: invalid bulk length\r\n"
        )
    }

    func testMultibulkRequestNotFollowedByBulkArguments() throws {
        try assertClosed(after: "*1\r\nfoo\r\n", replies: "-ERR Protocol error: expected '$', got 'f'\r\n")
    }

    func testGenericWrongNumberOfArgs() throws {
        let client = try Self.server.client()
        XCTAssertEqual(
            try client.command(["PING", "x", "y", "z"]),
            .error("ERR wrong number of arguments for 'ping' command")
        )
    }

    func testUnbalancedQuotes() throws {
        try assertClosed(
            after: "set \"\"\"test-key\"\"\" test-value\r\nping\r\n",
            replies: "-ERR Protocol error: unbalanced quotes in request\r\n"
        )
    }

    func testTooBigInlineRequest() throws {
        try assertClosed(
            after: String(repeating: "a", count: 70 * 1024),
            replies: "-ERR Protocol error: too big inline request\r\n"
        )
    }

    func testGarbageWithoutNewlineEventuallyClosed() throws {
        let client = try Self.server.client()
        let garbage = String(repeating: "x\u{01}", count: 40 * 1024)
        try client.send(garbage)
        XCTAssertEqual(try client.readUntilClosed(), "-ERR Protocol error: too big inline request\r\n")
    }

    func testNothingAfterAProtocolErrorRuns() throws {
        let client = try Self.server.client()
        try client.send("*1\r\n$x\r\nSET after-error http://x:1\r\n")
        XCTAssertEqual(try client.readUntilClosed(), "-ERR Protocol error: invalid bulk length\r\n")
        XCTAssertEqual(try Self.server.client().command(["EXISTS", "after-error"]), .integer(0))
    }

    func testInlineQuotingAndEscapes() throws {
        let client = try Self.server.client()
        try client.send("ECHO \"a\\x41\\n\\tb\" 'it\\'s'\r\nPING\n")
        XCTAssertEqual(try client.readReply(), .error("ERR wrong number of arguments for 'echo' command"))
        XCTAssertEqual(try client.readReply(), .simpleString("PONG"))
        try client.send("ECHO \"a\\x41\\n\\tb\"\r\n")
        XCTAssertEqual(try client.readReply(), .bulk("aA\n\tb"))
    }

    func testQuitClosesAndSkipsTheRest() throws {
        let client = try Self.server.client()
        try client.send("SET quit-key http://q:1\r\nQUIT\r\nDEL quit-key\r\n")
        XCTAssertEqual(try client.readUntilClosed(), "+OK\r\n+OK\r\n")
        XCTAssertEqual(try Self.server.client().command(["EXISTS", "quit-key"]), .integer(1))
    }

    func testCaseInsensitiveNamesAndUnknownCommand() throws {
        let client = try Self.server.client()
        XCTAssertEqual(try client.command(["pInG"]), .simpleString("PONG"))
        XCTAssertEqual(
            try client.command(["FOO", "bar", "baz"]),
            .error("ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' ")
        )
    }

    func testHelloNegotiation() throws {
        let client = try Self.server.client()
        XCTAssertEqual(try client.command(["HELLO", "4"]), .error("NOPROTO unsupported protocol version"))
        XCTAssertEqual(
            try client.command(["HELLO", "x"]),
            .error("ERR Protocol version is not an integer or out of range")
        )
        let reply = try client.command(["HELLO", "2"]).array
        XCTAssertEqual(reply?[4], .bulk("proto"))
        XCTAssertEqual(reply?[5], .integer(2))
    }

    /// After `HELLO 3` the connection gets RESP3 types where Redis 7 sends them; another connection stays on RESP2.
    func testHello3SwitchesTheConnectionToRESP3() throws {
        let client = try Self.server.client()
        try client.send(
            "HELLO 3\r\nGET resp3-missing\r\nHSET resp3-h proxy_url http://h:1\r\nHGET resp3-h username\r\n"
                + "HELLO 2\r\nGET resp3-missing\r\nQUIT\r\n"
        )
        let text = try client.readUntilClosed()
        XCTAssertTrue(text.hasPrefix("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"), text)
        XCTAssertTrue(text.contains("$5\r\nproto\r\n:3\r\n"), text)
        XCTAssertTrue(text.contains("$5\r\nproto\r\n:2\r\n"), text)
        let afterFirstHello = text.components(separatedBy: "$7\r\nmodules\r\n*0\r\n")
        XCTAssertEqual(afterFirstHello.count, 3, text)
        XCTAssertTrue(
            afterFirstHello[1].hasPrefix("_\r\n:1\r\n_\r\n*14\r\n"),
            "RESP3 nulls, then HELLO 2 answers in RESP2"
        )
        XCTAssertEqual(afterFirstHello[2], "$-1\r\n+OK\r\n")
        let other = try Self.server.client()
        XCTAssertEqual(try other.command(["GET", "resp3-missing"]), .null)
    }

    func testBulkArgumentsAreBinarySafe() throws {
        let client = try Self.server.client()
        var request: [UInt8] = Array("*2\r\n$4\r\nECHO\r\n$5\r\n".utf8)
        request += [0, 13, 10, 255, 65]
        request += Array("\r\n".utf8)
        try client.send(request)
        XCTAssertEqual(try client.readReply(), .bulkString([0, 13, 10, 255, 65]))
    }
}

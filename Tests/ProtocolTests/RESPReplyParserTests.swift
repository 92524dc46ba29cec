import CacheProtocol
import NIOCore
import XCTest

/// The client-side reply parser: every type, split input, and its bounds.
final class RESPReplyParserTests: XCTestCase {
    /// Parses `input` whole and byte by byte and in odd splits; all must give the same values and error.
    private func replies(
        _ input: [UInt8],
        parser make: () -> RESPReplyParser = { RESPReplyParser() },
        file: StaticString = #filePath,
        line: UInt = #line
    ) -> (values: [RESPValue], error: String?, unconsumed: Int) {
        var results: [([RESPValue], String?, Int)] = []
        for split in [Split.whole, .chunks(1), .chunks(2), .chunks(5), .pattern([3, 1, 11])] {
            var parser = make()
            var buffer = ByteBuffer()
            var values: [RESPValue] = []
            var error: String?
            pieces: for piece in split.cut(input) {
                buffer.writeBytes(piece)
                do {
                    while let value = try parser.next(&buffer) { values.append(value) }
                } catch let caught {
                    error = caught.message
                    break pieces
                }
            }
            results.append((values, error, error == nil ? buffer.readableBytes : -1))
        }
        for result in results.dropFirst() {
            XCTAssertEqual(result.0, results[0].0, file: file, line: line)
            XCTAssertEqual(result.1, results[0].1, file: file, line: line)
            XCTAssertEqual(result.2, results[0].2, file: file, line: line)
        }
        return results[0]
    }

    private func reply(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> RESPValue? {
        let result = replies(bytes(text), file: file, line: line)
        XCTAssertNil(result.error, file: file, line: line)
        XCTAssertEqual(result.unconsumed, 0, file: file, line: line)
        XCTAssertEqual(result.values.count, 1, file: file, line: line)
        return result.values.first
    }

    private func error(_ input: [UInt8], parser: @autoclosure () -> RESPReplyParser = RESPReplyParser()) -> String? {
        replies(input, parser: parser).error
    }

    func testRESP2Types() {
        XCTAssertEqual(reply("+OK\r\n"), .simpleString("OK"))
        XCTAssertEqual(reply("+\r\n"), .simpleString(""))
        XCTAssertEqual(reply("-ERR unknown command 'FOO'\r\n"), .error("ERR unknown command 'FOO'"))
        XCTAssertEqual(reply(":42\r\n"), .integer(42))
        XCTAssertEqual(reply(":-9223372036854775808\r\n"), .integer(Int64.min))
        XCTAssertEqual(reply(":9223372036854775807\r\n"), .integer(Int64.max))
        XCTAssertEqual(reply("$3\r\nabc\r\n"), .bulkString(Array("abc".utf8)))
        XCTAssertEqual(reply("$0\r\n\r\n"), .bulkString([]))
        XCTAssertEqual(reply("$4\r\na\r\nb\r\n"), .bulkString(Array("a\r\nb".utf8)))
        XCTAssertEqual(reply("$-1\r\n"), .bulkString(nil))
        XCTAssertEqual(reply("*-1\r\n"), .array(nil))
        XCTAssertEqual(reply("*0\r\n"), .array([]))
        XCTAssertEqual(
            reply("*3\r\n:1\r\n*2\r\n+a\r\n$-1\r\n$1\r\nx\r\n"),
            .array([.integer(1), .array([.simpleString("a"), .bulkString(nil)]), .bulkString(Array("x".utf8))])
        )
    }

    func testRESP3TypesFoldIntoRESP2() {
        XCTAssertEqual(reply("_\r\n"), .bulkString(nil))
        XCTAssertEqual(reply("#t\r\n"), .integer(1))
        XCTAssertEqual(reply("#f\r\n"), .integer(0))
        XCTAssertEqual(reply(",3.14\r\n"), .bulkString(Array("3.14".utf8)))
        XCTAssertEqual(reply(",inf\r\n"), .bulkString(Array("inf".utf8)))
        XCTAssertEqual(
            reply("(3492890328409238509324850943850943825024385\r\n"),
            .bulkString(Array("3492890328409238509324850943850943825024385".utf8))
        )
        XCTAssertEqual(reply("=15\r\ntxt:Some string\r\n"), .bulkString(Array("Some string".utf8)))
        XCTAssertEqual(reply("!21\r\nSYNTAX invalid syntax\r\n"), .error("SYNTAX invalid syntax"))
        XCTAssertEqual(
            reply("%2\r\n+server\r\n+redis\r\n+proto\r\n:3\r\n"),
            .array([.simpleString("server"), .simpleString("redis"), .simpleString("proto"), .integer(3)])
        )
        XCTAssertEqual(reply("~2\r\n:1\r\n:2\r\n"), .array([.integer(1), .integer(2)]))
        XCTAssertEqual(reply(">2\r\n+message\r\n+hi\r\n"), .array([.simpleString("message"), .simpleString("hi")]))
        // An attribute describes the value after it and is dropped.
        XCTAssertEqual(reply("|1\r\n+ttl\r\n:3600\r\n$1\r\nv\r\n"), .bulkString(Array("v".utf8)))
        XCTAssertEqual(reply("*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n:2\r\n"), .array([.integer(1), .integer(2)]))
    }

    func testPipelinedRepliesAndLeftovers() {
        let result = replies(bytes("+OK\r\n:1\r\n$2\r\nhi\r\n*2\r\n:1\r\n"))
        XCTAssertEqual(result.values, [.simpleString("OK"), .integer(1), .bulkString(Array("hi".utf8))])
        XCTAssertNil(result.error)
        XCTAssertEqual(result.unconsumed, 8)
    }

    func testEncodedValuesParseBack() {
        let values: [RESPValue] = [
            .simpleString("PONG"), .error("WRONGPASS invalid username-password pair or user is disabled."),
            .integer(-12), .bulkString([0, 255, 13, 10]), .bulkString(nil), .array(nil),
            .array([.array([.array([])]), .bulkString(Array(repeating: 7, count: 100_000))]),
        ]
        var buffer = ByteBuffer()
        for value in values { buffer.writeRESPValue(value) }
        var parser = RESPReplyParser()
        for value in values { XCTAssertEqual(try parser.next(&buffer), value) }
        XCTAssertEqual(buffer.readableBytes, 0)
    }

    func testLargeArrayArrivingInPieces() throws {
        var encoded = ByteBuffer()
        let elements = (0..<50_000).map { RESPValue.bulkString(Array("key:\($0)".utf8)) }
        encoded.writeRESPValue(.array(elements))
        var parser = RESPReplyParser()
        var buffer = ByteBuffer()
        var value: RESPValue?
        while value == nil, encoded.readableBytes > 0 {
            var piece = encoded.readSlice(length: min(1000, encoded.readableBytes))!
            buffer.writeBuffer(&piece)
            value = try parser.next(&buffer)
        }
        XCTAssertEqual(value, .array(elements))
    }

    func testMalformedReplies() {
        XCTAssertEqual(error(bytes("?what\r\n")), "Protocol error: unexpected reply type '?'")
        XCTAssertEqual(error(bytes(":12a\r\n")), "Protocol error: invalid integer in reply")
        XCTAssertEqual(error(bytes(":\r\n")), "Protocol error: invalid integer in reply")
        XCTAssertEqual(error(bytes(":99999999999999999999\r\n")), "Protocol error: invalid integer in reply")
        XCTAssertEqual(error(bytes("+OK\rX")), "Protocol error: reply line not terminated by CRLF")
        XCTAssertEqual(error(bytes("$3\r\nabcd\r\n")), "Protocol error: bulk reply not terminated by CRLF")
        XCTAssertEqual(error(bytes("$-2\r\n")), "Protocol error: invalid bulk length")
        XCTAssertEqual(error(bytes("$x\r\n")), "Protocol error: invalid bulk length")
        XCTAssertEqual(error(bytes("*-2\r\n")), "Protocol error: invalid multibulk length")
        XCTAssertEqual(error(bytes("%-1\r\n")), "Protocol error: invalid multibulk length")
        XCTAssertEqual(error(bytes("*2147483648\r\n")), "Protocol error: invalid multibulk length")
        XCTAssertEqual(error(bytes("#x\r\n")), "Protocol error: invalid boolean in reply")
        XCTAssertEqual(error(bytes("_x\r\n")), "Protocol error: invalid null in reply")
        XCTAssertEqual(error(bytes("=-1\r\n")), "Protocol error: invalid bulk length")
    }

    func testBounds() {
        // A huge announced count reserves nothing: the parser just waits for the elements.
        let waiting = replies(bytes("*2147483647\r\n:1\r\n"))
        XCTAssertNil(waiting.error)
        XCTAssertEqual(waiting.values, [])
        XCTAssertEqual(waiting.unconsumed, 17)
        XCTAssertEqual(
            error(bytes("$11\r\nhello world\r\n"), parser: RESPReplyParser(maxBulkLength: 10)),
            "Protocol error: invalid bulk length"
        )
        XCTAssertEqual(
            error(bytes("+") + Array(repeating: 65, count: 100), parser: RESPReplyParser(maxLineLength: 64)),
            "Protocol error: too big reply line"
        )
        // Nesting: 32 levels are fine, 33 are not.
        let deepest = String(repeating: "*1\r\n", count: 32) + ":1\r\n"
        var expected = RESPValue.integer(1)
        for _ in 0..<32 { expected = .array([expected]) }
        XCTAssertEqual(reply(deepest), expected)
        XCTAssertEqual(
            error(bytes(String(repeating: "*1\r\n", count: 33) + ":1\r\n")),
            "Protocol error: reply nested too deeply"
        )
    }

    func testParserIsReusableAfterAnIncompleteReplyAndReset() throws {
        var parser = RESPReplyParser()
        var first = ByteBuffer(string: "*3\r\n:1\r\n:2\r\n")
        XCTAssertNil(try parser.next(&first))
        parser.reset()
        var other = ByteBuffer(string: "+OK\r\n")
        XCTAssertEqual(try parser.next(&other), .simpleString("OK"))
    }

    func testTextAccessors() {
        XCTAssertEqual(RESPValue.bulkString(Array("v".utf8)).text, "v")
        XCTAssertEqual(RESPValue.integer(3).text, "3")
        XCTAssertNil(RESPValue.bulkString(nil).text)
        XCTAssertTrue(RESPValue.error("ERR x").isError)
        XCTAssertFalse(RESPValue.simpleString("OK").isError)
    }
}

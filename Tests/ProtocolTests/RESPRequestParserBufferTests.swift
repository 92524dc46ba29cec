import CacheProtocol
import NIOCore
import XCTest

/// How the parser uses the caller's buffer: slices instead of copies, and resuming across reads.
final class RESPRequestParserBufferTests: XCTestCase {
    /// Whether `slice`'s bytes lie inside `buffer`'s readable bytes (the same memory, not a copy).
    private func shares(_ slice: ByteBuffer, _ buffer: ByteBuffer) -> Bool {
        buffer.withUnsafeReadableBytes { whole in
            slice.withUnsafeReadableBytes { part in
                guard let wholeBase = whole.baseAddress, let partBase = part.baseAddress else { return false }
                return partBase >= wholeBase && partBase + part.count <= wholeBase + whole.count
            }
        }
    }

    func testMultibulkArgumentsAreSlicesOfTheInput() throws {
        var buffer = ByteBuffer()
        buffer.writeRESPCommand(["SET", "key", "value"])
        let original = buffer
        var parser = RESPRequestParser()
        let request = try XCTUnwrap(parser.next(&buffer))
        XCTAssertEqual(request.arguments.map { String(buffer: $0) }, ["SET", "key", "value"])
        XCTAssertFalse(request.isInline)
        for argument in request.arguments { XCTAssertTrue(shares(argument, original)) }
        XCTAssertEqual(buffer.readableBytes, 0)
    }

    func testPlainInlineWordsAreSlicesAndEscapedOnesAreNot() throws {
        var buffer = ByteBuffer(string: "SET key \"a\\x41\"\r\n")
        let original = buffer
        var parser = RESPRequestParser()
        let request = try XCTUnwrap(parser.next(&buffer))
        XCTAssertEqual(request.arguments.map { String(buffer: $0) }, ["SET", "key", "aA"])
        XCTAssertTrue(request.isInline)
        XCTAssertTrue(shares(request.arguments[0], original))
        XCTAssertTrue(shares(request.arguments[1], original))
        XCTAssertFalse(shares(request.arguments[2], original))
    }

    func testResumesAfterTheBufferGrows() throws {
        var parser = RESPRequestParser()
        var buffer = ByteBuffer(string: "*2\r\n$3\r\nGET\r\n$3\r\nab")
        XCTAssertNil(try parser.next(&buffer))
        XCTAssertEqual(buffer.readableBytes, 19)
        buffer.writeString("c\r\n")
        let request = try XCTUnwrap(parser.next(&buffer))
        XCTAssertEqual(request, RESPRequest(arguments: [ByteBuffer(string: "GET"), ByteBuffer(string: "abc")]))
    }

    func testStartsOverWhenGivenShorterBytes() throws {
        var parser = RESPRequestParser()
        var first = ByteBuffer(string: "*2\r\n$3\r\nGET\r\n$3\r\nab")
        XCTAssertNil(try parser.next(&first))
        var other = ByteBuffer(string: "PING\r\n")
        let request = try XCTUnwrap(parser.next(&other))
        XCTAssertEqual(request, RESPRequest(arguments: [ByteBuffer(string: "PING")], isInline: true))
    }

    func testParserIsReusableAfterReset() throws {
        var parser = RESPRequestParser()
        var first = ByteBuffer(string: "*2\r\n$3\r\nGET\r\n$30\r\nabcdefghijklmnopqrstuvwxyz")
        XCTAssertNil(try parser.next(&first))
        parser.reset()
        var other = ByteBuffer(string: "*1\r\n$4\r\nPING\r\n")
        XCTAssertEqual(try parser.next(&other), RESPRequest(arguments: [ByteBuffer(string: "PING")]))
    }

    func testErrorsHaveRedisText() {
        var parser = RESPRequestParser()
        var buffer = ByteBuffer(string: "*1\r\nfoo\r\n")
        XCTAssertThrowsError(try parser.next(&buffer)) { error in
            XCTAssertEqual(error as? RESPProtocolError, RESPProtocolError.expectedDollar(got: UInt8(ascii: "f")))
            XCTAssertEqual("\(error)", "Protocol error: expected '$', got 'f'")
        }
    }
}

import CacheProtocol
import NIOCore
import XCTest

/// The encoders, byte for byte.
final class ByteBufferRESPTests: XCTestCase {
    private func encoded(_ write: (inout ByteBuffer) -> Void) -> String {
        var buffer = ByteBuffer()
        write(&buffer)
        return String(buffer: buffer)
    }

    func testSimpleStringsAndErrors() {
        XCTAssertEqual(encoded { $0.writeRESPSimpleString("OK") }, "+OK\r\n")
        XCTAssertEqual(encoded { $0.writeRESPSimpleString("") }, "+\r\n")
        XCTAssertEqual(encoded { $0.writeRESPError("ERR syntax error") }, "-ERR syntax error\r\n")
        XCTAssertEqual(
            encoded { $0.writeRESPError("ERR Protocol error: expected '$', got '\r'") },
            "-ERR Protocol error: expected '$', got ' '\r\n"
        )
        XCTAssertEqual(encoded { $0.writeRESPError("ERR two\r\nlines\n") }, "-ERR two  lines \r\n")
        XCTAssertEqual(encoded { $0.writeRESPSimpleString("a\nb") }, "+a b\r\n")
        XCTAssertEqual(encoded { $0.writeRESPError("ERR caf\u{e9}") }, "-ERR caf\u{e9}\r\n")
    }

    func testIntegers() {
        XCTAssertEqual(encoded { $0.writeRESPInteger(0) }, ":0\r\n")
        XCTAssertEqual(encoded { $0.writeRESPInteger(42) }, ":42\r\n")
        XCTAssertEqual(encoded { $0.writeRESPInteger(-1) }, ":-1\r\n")
        XCTAssertEqual(encoded { $0.writeRESPInteger(1_000_000) }, ":1000000\r\n")
        XCTAssertEqual(encoded { $0.writeRESPInteger(Int.max) }, ":9223372036854775807\r\n")
        XCTAssertEqual(encoded { $0.writeRESPInteger(Int.min) }, ":-9223372036854775808\r\n")
        for value in [9, 10, 99, 100, 12345, -10, -99999] {
            XCTAssertEqual(encoded { $0.writeRESPInteger(value) }, ":\(value)\r\n")
        }
    }

    func testBulkStrings() {
        XCTAssertEqual(encoded { $0.writeRESPBulkString("abc") }, "$3\r\nabc\r\n")
        XCTAssertEqual(encoded { $0.writeRESPBulkString("") }, "$0\r\n\r\n")
        XCTAssertEqual(encoded { $0.writeRESPBulkString("\u{e9}") }, "$2\r\n\u{e9}\r\n")
        XCTAssertEqual(encoded { $0.writeRESPBulkString(bytes: [0x61, 0x0D, 0x0A]) }, "$3\r\na\r\n\r\n")
        XCTAssertEqual(encoded { $0.writeRESPBulkString(bytes: "xyz".utf8) }, "$3\r\nxyz\r\n")
        let source = ByteBuffer(string: "hello")
        XCTAssertEqual(encoded { $0.writeRESPBulkString(source) }, "$5\r\nhello\r\n")
        XCTAssertEqual(source.readableBytes, 5)
        XCTAssertEqual(encoded { $0.writeRESPNull() }, "$-1\r\n")
        XCTAssertEqual(encoded { $0.writeRESPNullArray() }, "*-1\r\n")
        XCTAssertEqual(encoded { $0.writeRESPArrayHeader(3) }, "*3\r\n")
        XCTAssertEqual(encoded { $0.writeRESPArrayHeader(0) }, "*0\r\n")
    }

    func testValues() {
        let value = RESPValue.array([
            .simpleString("OK"), .error("ERR bad"), .integer(-7), .bulkString(Array("ab".utf8)), .bulkString(nil),
            .array(nil), .array([]), .array([.integer(1)]),
        ])
        XCTAssertEqual(
            encoded { $0.writeRESPValue(value) },
            "*8\r\n+OK\r\n-ERR bad\r\n:-7\r\n$2\r\nab\r\n$-1\r\n*-1\r\n*0\r\n*1\r\n:1\r\n"
        )
    }

    func testCommands() {
        XCTAssertEqual(encoded { $0.writeRESPCommand(["GET", "k"]) }, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
        XCTAssertEqual(encoded { $0.writeRESPCommand(arguments: [Array("PING".utf8)]) }, "*1\r\n$4\r\nPING\r\n")
        XCTAssertEqual(encoded { $0.writeRESPCommand(arguments: [[], [0x0A]]) }, "*2\r\n$0\r\n\r\n$1\r\n\n\r\n")
        XCTAssertEqual(
            encoded { $0.writeRESPCommand(buffers: [ByteBuffer(string: "ECHO"), ByteBuffer(string: "x")]) },
            "*2\r\n$4\r\nECHO\r\n$1\r\nx\r\n"
        )
    }

    func testEncodedCommandsParseBack() throws {
        let commands: [[[UInt8]]] = [
            [Array("SET".utf8), Array("key".utf8), [0, 13, 10, 255]],
            [Array("GET".utf8), []],
            [Array(repeating: 0x41, count: 70_000)],
        ]
        var buffer = ByteBuffer()
        for command in commands { buffer.writeRESPCommand(arguments: command) }
        var parser = RESPRequestParser()
        for command in commands {
            let request = try XCTUnwrap(parser.next(&buffer))
            XCTAssertEqual(request.arguments.map { Array($0.readableBytesView) }, command)
        }
        XCTAssertNil(try parser.next(&buffer))
    }
}

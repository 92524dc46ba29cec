import BinaryText
import CacheProtocol
import NIOCore
import XCTest

final class RESPReplyWriterTests: XCTestCase {
    /// What `body` writes under RESP2 and under RESP3, as text.
    private func written(_ body: (inout RESPReplyWriter) -> Void) -> (resp2: String, resp3: String) {
        var two = RESPReplyWriter(buffer: ByteBuffer(), version: .resp2)
        var three = RESPReplyWriter(buffer: ByteBuffer(), version: .resp3)
        body(&two)
        body(&three)
        return (String(buffer: two.buffer), String(buffer: three.buffer))
    }

    private func check(
        _ body: (inout RESPReplyWriter) -> Void,
        resp2: String,
        resp3: String,
        file: StaticString = #filePath,
        line: UInt = #line
    ) {
        let result = written(body)
        XCTAssertEqual(result.resp2, resp2, "RESP2", file: file, line: line)
        XCTAssertEqual(result.resp3, resp3, "RESP3", file: file, line: line)
    }

    func testTypesBothProtocolsShare() {
        check({ $0.writeRESPSimpleString("OK") }, resp2: "+OK\r\n", resp3: "+OK\r\n")
        check({ $0.writeRESPError("ERR bad\r\nthing") }, resp2: "-ERR bad  thing\r\n", resp3: "-ERR bad  thing\r\n")
        check({ $0.writeRESPInteger(-42) }, resp2: ":-42\r\n", resp3: ":-42\r\n")
        check({ $0.writeRESPBulkString("") }, resp2: "$0\r\n\r\n", resp3: "$0\r\n\r\n")
        check(
            { $0.writeRESPBulkString(bytes: [0x61, 0x0D, 0x0A]) },
            resp2: "$3\r\na\r\n\r\n",
            resp3: "$3\r\na\r\n\r\n"
        )
        check(
            {
                $0.writeRESPArrayHeader(2)
                $0.writeRESPInteger(1)
                $0.writeRESPInteger(2)
            },
            resp2: "*2\r\n:1\r\n:2\r\n",
            resp3: "*2\r\n:1\r\n:2\r\n"
        )
    }

    func testNulls() {
        check({ $0.writeRESPNull() }, resp2: "$-1\r\n", resp3: "_\r\n")
        check({ $0.writeRESPNullArray() }, resp2: "*-1\r\n", resp3: "_\r\n")
    }

    func testMapsSetsAndPushes() {
        let map: (inout RESPReplyWriter) -> Void = {
            $0.writeRESPMapHeader(2)
            $0.writeRESPBulkString("a")
            $0.writeRESPInteger(1)
            $0.writeRESPBulkString("b")
            $0.writeRESPNull()
        }
        check(map, resp2: "*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n$-1\r\n", resp3: "%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n_\r\n")
        check({ $0.writeRESPMapHeader(0) }, resp2: "*0\r\n", resp3: "%0\r\n")
        check(
            {
                $0.writeRESPSetHeader(1)
                $0.writeRESPSimpleString("write")
            },
            resp2: "*1\r\n+write\r\n",
            resp3: "~1\r\n+write\r\n"
        )
        check({ $0.writeRESPPushHeader(3) }, resp2: "*3\r\n", resp3: ">3\r\n")
    }

    func testDoublesAsRedisFormatsThem() {
        check({ $0.writeRESPDouble(3.5) }, resp2: "$3\r\n3.5\r\n", resp3: ",3.5\r\n")
        check({ $0.writeRESPDouble(10) }, resp2: "$2\r\n10\r\n", resp3: ",10\r\n")
        check({ $0.writeRESPDouble(0.1) }, resp2: "$19\r\n0.10000000000000001\r\n", resp3: ",0.10000000000000001\r\n")
        check(
            { $0.writeRESPDouble(1e300) },
            resp2: "$23\r\n1.0000000000000001e+300\r\n",
            resp3: ",1.0000000000000001e+300\r\n"
        )
        check({ $0.writeRESPDouble(-.infinity) }, resp2: "$4\r\n-inf\r\n", resp3: ",-inf\r\n")
        check({ $0.writeRESPDouble(.infinity) }, resp2: "$3\r\ninf\r\n", resp3: ",inf\r\n")
        check({ $0.writeRESPDouble(.nan) }, resp2: "$3\r\nnan\r\n", resp3: ",nan\r\n")
    }

    func testBooleansBigNumbersAndVerbatimStrings() {
        check({ $0.writeRESPBoolean(true) }, resp2: ":1\r\n", resp3: "#t\r\n")
        check({ $0.writeRESPBoolean(false) }, resp2: ":0\r\n", resp3: "#f\r\n")
        check(
            { $0.writeRESPBigNumber("-3492890328409238509324850943850943825024385") },
            resp2: "$44\r\n-3492890328409238509324850943850943825024385\r\n",
            resp3: "(-3492890328409238509324850943850943825024385\r\n"
        )
        check(
            { $0.writeRESPVerbatimString("# Server\r\nid:1\r\n") },
            resp2: "$16\r\n# Server\r\nid:1\r\n\r\n",
            resp3: "=20\r\ntxt:# Server\r\nid:1\r\n\r\n"
        )
        check({ $0.writeRESPVerbatimString("", format: "mkd") }, resp2: "$0\r\n\r\n", resp3: "=4\r\nmkd:\r\n")
    }

    func testBulkStringsOfBinaryTextWriteTheBytesTheyStandFor() {
        var writer = RESPReplyWriter(buffer: ByteBuffer(), version: .resp3)
        let bytes: [UInt8] = [0x00, 0xFF, 0x80, 0x41]
        writer.writeRESPBulkString(BinaryText.string(from: bytes))
        XCTAssertEqual(Array(writer.buffer.readableBytesView), Array("$4\r\n".utf8) + bytes + [0x0D, 0x0A])
    }

    func testRollingBackAReply() {
        var writer = RESPReplyWriter(buffer: ByteBuffer(), version: .resp2)
        writer.writeRESPInteger(1)
        let mark = writer.writerIndex
        writer.writeRESPArrayHeader(3)
        writer.moveWriterIndex(to: mark)
        XCTAssertEqual(String(buffer: writer.buffer), ":1\r\n")
    }
}

import CacheProtocol
import NIOCore
import XCTest

/// Multibulk requests, including the cases of Redis's own tests/unit/protocol.tcl. Every case is checked whole,
/// byte by byte and in odd splits, with and without compacting the buffer between reads.
final class RESPRequestParserMultibulkTests: XCTestCase {
    private let ping = bytes("*1\r\n$4\r\nPING\r\n")
    /// Limits small enough to feed "too big" cases byte by byte quickly.
    private var tiny: RESPRequestParser.Limits {
        var limits = RESPRequestParser.Limits()
        limits.maxInlineLength = 64
        return limits
    }

    func testSimpleRequests() {
        assertParses(ping, ParseOutcome(requests: [ParsedRequest(["PING"])]))
        assertParses(
            bytes("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n"),
            ParseOutcome(requests: [ParsedRequest(["SET", "k", "value"])])
        )
    }

    func testBinaryAndEmptyArguments() {
        assertParses(
            bytes("*3\r\n$4\r\nECHO\r\n$5\r\n\r\n\u{0}\u{ff}*\r\n$0\r\n\r\n"),
            ParseOutcome(requests: [ParsedRequest(bytes: [bytes("ECHO"), [13, 10, 0, 255, 42], []])])
        )
    }

    func testPipelinedRequestsComeOutInOrder() {
        let input = ping + bytes("*2\r\n$3\r\nGET\r\n$1\r\na\r\n") + ping + bytes("*2\r\n$3\r\nGET\r\n$1\r\nb\r\n")
        assertParses(
            input,
            ParseOutcome(requests: [
                ParsedRequest(["PING"]), ParsedRequest(["GET", "a"]), ParsedRequest(["PING"]),
                ParsedRequest(["GET", "b"]),
            ])
        )
    }

    func testIncompleteRequestConsumesNothing() {
        let input = bytes("*2\r\n$3\r\nGET\r\n$5\r\nabc")
        assertParses(input, ParseOutcome(unconsumed: input.count))
        let afterOne = ping + bytes("*2\r\n$3\r\nGET")
        assertParses(
            afterOne,
            ParseOutcome(requests: [ParsedRequest(["PING"])], unconsumed: afterOne.count - ping.count)
        )
    }

    // MARK: protocol.tcl

    func testHandleAnEmptyQuery() {
        assertParses(bytes("\r\n") + ping, ParseOutcome(requests: [ParsedRequest(["PING"])]))
    }

    func testNegativeMultibulkLength() {
        assertParses(bytes("*-10\r\n") + ping, ParseOutcome(requests: [ParsedRequest(["PING"])]))
        assertParses(bytes("*0\r\n*-1\r\n") + ping, ParseOutcome(requests: [ParsedRequest(["PING"])]))
    }

    func testOutOfRangeMultibulkLength() {
        let invalid = ParseOutcome(error: "Protocol error: invalid multibulk length")
        assertParses(bytes("*3000000000\r\n"), invalid)
        assertParses(bytes("*20000000\r\n"), invalid)
        assertParses(bytes("*1048577\r\n"), invalid)
        assertParses(bytes("*99999999999999999999\r\n"), invalid)
        // At the limit it waits for the arguments.
        assertParses(bytes("*1048576\r\n"), ParseOutcome(unconsumed: 10))
    }

    func testWrongMultibulkPayloadHeader() {
        assertParses(
            bytes("*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n"),
            ParseOutcome(error: "Protocol error: expected '$', got 'f'")
        )
    }

    func testNegativeMultibulkPayloadLength() {
        assertParses(
            bytes("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n"),
            ParseOutcome(error: "Protocol error: invalid bulk length")
        )
    }

    func testOutOfRangeMultibulkPayloadLength() {
        assertParses(
            bytes("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n"),
            ParseOutcome(error: "Protocol error: invalid bulk length")
        )
        assertParses(bytes("*1\r\n$536870913\r\n"), ParseOutcome(error: "Protocol error: invalid bulk length"))
        assertParses(bytes("*1\r\n$536870912\r\n"), ParseOutcome(unconsumed: 16))
    }

    func testNonNumberMultibulkPayloadLength() {
        assertParses(
            bytes("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n"),
            ParseOutcome(error: "Protocol error: invalid bulk length")
        )
    }

    func testMultiBulkRequestNotFollowedByBulkArguments() {
        assertParses(bytes("*1\r\nfoo\r\n"), ParseOutcome(error: "Protocol error: expected '$', got 'f'"))
    }

    func testRequestsBeforeAnErrorAreReturned() {
        assertParses(
            ping + bytes("*1\r\nfoo\r\n") + ping,
            ParseOutcome(requests: [ParsedRequest(["PING"])], error: "Protocol error: expected '$', got 'f'")
        )
    }

    func testProtocolDesyncRegression() {
        // protocol.tcl writes one of these, then "payload" over and over without a newline.
        let payload = Array(repeating: bytes("payload"), count: 10_000).flatMap { $0 }
        assertParses([0] + payload, ParseOutcome(error: "Protocol error: too big inline request"))
        assertParses(bytes("*\u{0}") + payload, ParseOutcome(error: "Protocol error: too big mbulk count string"))
        assertParses(bytes("$\u{0}") + payload, ParseOutcome(error: "Protocol error: too big inline request"))
        // The same with a small limit, so that it is also fed byte by byte.
        let small = Array(payload.prefix(200))
        assertParses([0] + small, ParseOutcome(error: "Protocol error: too big inline request"), limits: tiny)
        assertParses(
            bytes("*\u{0}") + small,
            ParseOutcome(error: "Protocol error: too big mbulk count string"),
            limits: tiny
        )
        assertParses(
            bytes("$\u{0}") + small,
            ParseOutcome(error: "Protocol error: too big inline request"),
            limits: tiny
        )
    }

    func testLargeNumberOfArguments() {
        var arguments = ["MSET"]
        for _ in 0..<10_000 { arguments += ["k", "v"] }
        arguments += ["{k}2", "v2"]
        var buffer = ByteBuffer()
        buffer.writeRESPCommand(arguments)
        assertParses(Array(buffer.readableBytesView), ParseOutcome(requests: [ParsedRequest(arguments)]))
    }

    func testBigBulkArgument() {
        let value = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var buffer = ByteBuffer()
        buffer.writeRESPCommand(arguments: [bytes("SET"), bytes("big"), value])
        let input = Array(buffer.readableBytesView)
        let expected = ParseOutcome(requests: [ParsedRequest(bytes: [bytes("SET"), bytes("big"), value])])
        for split in [Split.whole, .chunks(16 * 1024), .pattern([1, 7, 65_536, 3])] {
            XCTAssertEqual(parse(input, split: split), expected, "\(split)")
        }
    }

    // MARK: Redis's exact syntax (checked against redis-server 7.0.15)

    func testCountsAreStrictIntegers() {
        let invalid = ParseOutcome(error: "Protocol error: invalid multibulk length")
        for count in ["-0", "+1", "01", " 1", "1 ", "", "1a", "0x1"] {
            assertParses(bytes("*\(count)\r\n") + ping, invalid)
        }
        let invalidBulk = ParseOutcome(error: "Protocol error: invalid bulk length")
        for length in ["-0", "+4", "04", " 4", "", "4.0", "-1"] {
            assertParses(bytes("*1\r\n$\(length)\r\nPING\r\n"), invalidBulk)
        }
    }

    func testBytesAfterCarriageReturnAndPayloadAreNotChecked() {
        // Redis skips the two bytes after a count line's CR and after a payload without looking at them.
        assertParses(bytes("*1\rX$4\r\nPING\r\n"), ParseOutcome(requests: [ParsedRequest(["PING"])]))
        assertParses(
            bytes("*1\r\n$4\r\nPINGxyECHO\r\n"),
            ParseOutcome(requests: [ParsedRequest(["PING"]), ParsedRequest(["ECHO"], inline: true)])
        )
    }

    func testExpectedDollarShowsTheByteFound() {
        assertParses(
            bytes("*2\r\n$4\r\nECHO\r\n\r\n"),
            ParseOutcome(error: "Protocol error: expected '$', got '\r'")
        )
    }

    func testNulHidesTheLineTerminator() {
        // strchr stops at NUL: Redis waits until the line is "too big".
        let input = bytes("*1\r\n$4\u{0}\r\nPING\r\n")
        assertParses(input, ParseOutcome(unconsumed: input.count))
        var limits = RESPRequestParser.Limits()
        limits.maxInlineLength = 8
        assertParses(
            input + Array(repeating: 65, count: 20),
            ParseOutcome(error: "Protocol error: too big bulk count string"),
            limits: limits
        )
    }

    func testTooBigCountLines() {
        let tooBigCount = ParseOutcome(error: "Protocol error: too big mbulk count string")
        let tooBigBulk = ParseOutcome(error: "Protocol error: too big bulk count string")
        let digits = Array(repeating: UInt8(ascii: "1"), count: 70_000)
        assertParses(bytes("*") + digits, tooBigCount)
        assertParses(bytes("*1\r\n$") + digits, tooBigBulk)
        // Even when the terminator is already there: byte by byte Redis would have failed before it came.
        assertParses(bytes("*") + digits + bytes("\r\n"), tooBigCount)
        assertParses(bytes("*1\r\n$") + digits + bytes("\r\n"), tooBigBulk)
        // At the limit exactly (64 bytes before the CR) the line is read; one more and it is too big.
        let sixtyThree = Array(repeating: UInt8(ascii: "0"), count: 63)
        assertParses(
            bytes("*") + sixtyThree + bytes("\r\n"),
            ParseOutcome(error: "Protocol error: invalid multibulk length"),
            limits: tiny
        )
        assertParses(bytes("*0") + sixtyThree + bytes("\r\n"), tooBigCount, limits: tiny)
        assertParses(
            bytes("*1\r\n$") + sixtyThree + bytes("\r\n"),
            ParseOutcome(error: "Protocol error: invalid bulk length"),
            limits: tiny
        )
        assertParses(bytes("*1\r\n$0") + sixtyThree, tooBigBulk, limits: tiny)
        assertParses(bytes("*1\r\n$") + sixtyThree, ParseOutcome(unconsumed: 68), limits: tiny)
    }

    func testConfiguredLimits() {
        var limits = RESPRequestParser.Limits()
        limits.maxMultibulkLength = 2
        limits.maxBulkLength = 4
        assertParses(
            bytes("*2\r\n$4\r\nECHO\r\n$4\r\nabcd\r\n"),
            ParseOutcome(requests: [ParsedRequest(["ECHO", "abcd"])]),
            limits: limits
        )
        assertParses(bytes("*3\r\n"), ParseOutcome(error: "Protocol error: invalid multibulk length"), limits: limits)
        assertParses(
            bytes("*2\r\n$4\r\nECHO\r\n$5\r\n"),
            ParseOutcome(error: "Protocol error: invalid bulk length"),
            limits: limits
        )
    }

    func testUnauthenticatedLimits() {
        let eleven = bytes("*11\r\n")
        XCTAssertEqual(
            parse(eleven, authenticationRequired: true).error,
            "Protocol error: unauthenticated multibulk length"
        )
        XCTAssertNil(parse(eleven).error)
        let big = bytes("*2\r\n$4\r\nAUTH\r\n$16385\r\n")
        XCTAssertEqual(parse(big, authenticationRequired: true).error, "Protocol error: unauthenticated bulk length")
        XCTAssertEqual(parse(bytes("*2\r\n$4\r\nAUTH\r\n$16384\r\n"), authenticationRequired: true).error, nil)
    }
}

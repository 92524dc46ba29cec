import CacheProtocol
import NIOCore
import XCTest

/// Inline requests and Redis's `sdssplitargs`; expectations checked against redis-server 7.0.15.
final class RESPRequestParserInlineTests: XCTestCase {
    private func inline(_ line: String, _ arguments: [String]) {
        assertParses(bytes(line), ParseOutcome(requests: [ParsedRequest(arguments, inline: true)]))
    }

    func testLineEndings() {
        inline("PING\r\n", ["PING"])
        inline("PING\n", ["PING"])
        // Only one CR before the LF is dropped; another is a separator.
        inline("ECHO a\r\r\n", ["ECHO", "a"])
        inline("ECHO a\rb\r\n", ["ECHO", "a", "b"])
    }

    func testBlanksSeparateArguments() {
        inline("SET  k\t v  \r\n", ["SET", "k", "v"])
        inline("ping x y z\r\n", ["ping", "x", "y", "z"])
        // Leading blanks are any isspace byte, but only space, tab, CR and LF end a word.
        inline("\u{0B}ECHO x\r\n", ["ECHO", "x"])
        inline("ECHO a\u{0B}b\u{0C}\r\n", ["ECHO", "a\u{0B}b\u{0C}"])
    }

    func testBlankLinesAreSkipped() {
        assertParses(
            bytes("\r\n\n   \n\t\r\nPING\n \r\n"),
            ParseOutcome(requests: [ParsedRequest(["PING"], inline: true)])
        )
    }

    func testDoubleQuotes() {
        inline("ECHO \"hello world\"\r\n", ["ECHO", "hello world"])
        inline("ECHO \"\"\r\n", ["ECHO", ""])
        inline("ECHO \"a\\n\\r\\t\\b\\a\\\"\\\\\\q\"\r\n", ["ECHO", "a\n\r\t\u{08}\u{07}\"\\q"])
        inline("ECHO \"\\x41\\x7a\\x4\"\r\n", ["ECHO", "Azx4"])
        // A quote may open in the middle of a word.
        inline("ECHO a\"b c\"\r\n", ["ECHO", "ab c"])
        // A closing quote followed by a vertical tab is fine: it is a blank.
        inline("ECHO \"a\"\u{0B}\r\n", ["ECHO", "a"])
        assertParses(
            bytes("ECHO \"\\xff\\x00\"\r\n"),
            ParseOutcome(requests: [ParsedRequest(bytes: [bytes("ECHO"), [0xFF, 0]], inline: true)])
        )
    }

    func testSingleQuotes() {
        inline("ECHO 'a\\'b\\n'\r\n", ["ECHO", "a'b\\n"])
        inline("ECHO 'say \"hi\"'\r\n", ["ECHO", "say \"hi\""])
    }

    func testUnbalancedQuotes() {
        let unbalanced = ParseOutcome(error: "Protocol error: unbalanced quotes in request")
        // protocol.tcl: "Unbalanced number of quotes".
        assertParses(bytes("set \"\"\"test-key\"\"\" test-value\r\nping\r\n"), unbalanced)
        assertParses(bytes("ECHO \"abc\r\n"), unbalanced)
        assertParses(bytes("ECHO 'abc\r\n"), unbalanced)
        assertParses(bytes("ECHO \"abc\\\"\r\n"), unbalanced)
        assertParses(bytes("ECHO \"a\"b\r\n"), unbalanced)
        assertParses(bytes("ECHO 'a'b\r\n"), unbalanced)
    }

    func testInlineLengthLimit() {
        let limit = RESPRequestParser.Limits().maxInlineLength
        let atLimit = bytes("ECHO ") + Array(repeating: UInt8(ascii: "x"), count: limit - 5)
        assertParses(
            atLimit + bytes("\n"),
            ParseOutcome(requests: [ParsedRequest(bytes: [bytes("ECHO"), Array(atLimit.dropFirst(5))], inline: true)])
        )
        let tooBig = ParseOutcome(error: "Protocol error: too big inline request")
        assertParses(atLimit + bytes("x\n"), tooBig)
        assertParses(atLimit + bytes("x"), tooBig)
        // Just under the limit without a newline: still waiting.
        assertParses(atLimit, ParseOutcome(unconsumed: atLimit.count))
        // The same with a small limit, fed byte by byte too.
        var limits = RESPRequestParser.Limits()
        limits.maxInlineLength = 32
        let line = bytes("ECHO 0123456789012345678901234567")
        assertParses(
            line + bytes("\r\n"),
            ParseOutcome(error: "Protocol error: too big inline request"),
            limits: limits
        )
        assertParses(
            Array(line.dropLast()) + bytes("\n"),
            ParseOutcome(requests: [ParsedRequest(["ECHO", "012345678901234567890123456"], inline: true)]),
            limits: limits
        )
    }

    func testTooBigIsMeasuredFromTheRequestStart() {
        var limits = RESPRequestParser.Limits()
        limits.maxInlineLength = 10
        assertParses(
            bytes("PING\nPING\nPING\n0123456789"),
            ParseOutcome(requests: Array(repeating: ParsedRequest(["PING"], inline: true), count: 3), unconsumed: 10),
            limits: limits
        )
        assertParses(
            bytes("PING\n0123456789A"),
            ParseOutcome(
                requests: [ParsedRequest(["PING"], inline: true)],
                error: "Protocol error: too big inline request"
            ),
            limits: limits
        )
    }

    func testNulHidesTheNewline() {
        // Redis finds the end of an inline line with strchr, which stops at NUL: the line never ends.
        let input = bytes("ECHO a\u{0}b\nPING\n")
        assertParses(input, ParseOutcome(unconsumed: input.count))
    }

    func testMixedInlineAndMultibulkPipeline() {
        assertParses(
            bytes("PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n\r\nECHO \"x y\"\n*0\r\n*1\r\n$4\r\nPING\r\n"),
            ParseOutcome(requests: [
                ParsedRequest(["PING"], inline: true), ParsedRequest(["ECHO", "hi"]),
                ParsedRequest(["ECHO", "x y"], inline: true), ParsedRequest(["PING"]),
            ])
        )
    }
}

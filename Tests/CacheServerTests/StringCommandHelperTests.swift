import XCTest

@testable import CacheServer

/// The pure parts of the string commands: INCRBYFLOAT's long double text and GETRANGE's index rules. The expected
/// texts are redis-server 7.0.15's replies.
final class StringCommandHelperTests: XCTestCase {
    private func parse(_ text: String) -> RedisLongDouble.Value? {
        RedisLongDouble.parse(Array(text.utf8))
    }

    func testLongDoubleParsingFollowsString2ld() {
        XCTAssertEqual(parse("1.5"), 1.5)
        XCTAssertEqual(parse("-3"), -3)
        XCTAssertEqual(parse("+1"), 1, "strtold takes a sign")
        XCTAssertEqual(parse("5.0e3"), 5000)
        XCTAssertEqual(parse("0x10"), 16, "and hexadecimal")
        XCTAssertEqual(parse("inf"), .infinity, "infinity is a number; the sum is refused later")
        XCTAssertEqual(parse("-INF"), -.infinity)
        XCTAssertNotNil(parse("1.2e-4940"), "a denormal long double")
        XCTAssertNil(parse("nan"))
        XCTAssertNil(parse(""))
        XCTAssertNil(parse(" 1"), "no leading space")
        XCTAssertNil(parse("\t1"))
        XCTAssertNil(parse("1 "), "no trailing text")
        XCTAssertNil(parse("1e5000"), "overflow")
        XCTAssertNil(parse("1e-5000"), "underflow to zero")
        XCTAssertNil(RedisLongDouble.parse([UInt8(ascii: "1"), 0, UInt8(ascii: "2")]), "a NUL inside")
        XCTAssertNil(parse(String(repeating: "1", count: RedisLongDouble.maxCharacters)), "too long")
        XCTAssertEqual(parse(String(repeating: "0", count: RedisLongDouble.maxCharacters - 2) + "1"), 1)
    }

    func testLongDoubleTextIsRedisHumanFormat() throws {
        func text(_ input: String) throws -> String {
            RedisLongDouble.format(try XCTUnwrap(parse(input)))
        }
        XCTAssertEqual(try text("0.1"), "0.1")
        XCTAssertEqual(try text("3"), "3")
        XCTAssertEqual(try text("-0"), "0", "no negative zero")
        XCTAssertEqual(try text("-0.00000000000000000001"), "0", "rounds to -0, written 0")
        XCTAssertEqual(try text("1000000000000000000.5"), "1000000000000000000.5")
        XCTAssertEqual(try text("10.00000000000000001"), "10.00000000000000001")
        XCTAssertEqual(try text("-2.5"), "-2.5")
        XCTAssertEqual(try text("1e20"), "100000000000000000000")
        XCTAssertEqual(
            RedisLongDouble.format(try XCTUnwrap(parse("0.024390243902439025"))),
            "0.02439024390243902"
        )
    }

    func testGetRangeIndexes() {
        func range(_ count: Int, _ start: Int, _ end: Int) -> Range<Int> {
            StringEditCommands.byteRange(count: count, start: start, end: end)
        }
        XCTAssertEqual(range(11, 0, 3), 0..<4)
        XCTAssertEqual(range(11, 0, -1), 0..<11)
        XCTAssertEqual(range(11, -4, -1), 7..<11)
        XCTAssertTrue(range(11, 5, 3).isEmpty)
        XCTAssertEqual(range(11, 5, 5000), 5..<11)
        XCTAssertEqual(range(11, -5000, 10000), 0..<11)
        XCTAssertTrue(range(11, -1, -5).isEmpty, "both negative and start after end")
        XCTAssertEqual(range(11, Int.min, Int.max), 0..<11)
        XCTAssertEqual(range(11, 10, 10), 10..<11)
        XCTAssertTrue(range(11, 11, 20).isEmpty, "past the end")
        XCTAssertTrue(range(0, 0, -1).isEmpty, "an empty value")
        XCTAssertTrue(range(0, 0, 0).isEmpty)
        XCTAssertEqual(range(3, -100, -3), 0..<1)
    }
}

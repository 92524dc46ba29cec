import XCTest

@testable import CacheServer

/// HINCRBYFLOAT's numbers: parsed as Redis's string2ld, formatted as its ld2string in human mode (answers checked
/// against redis-server 7.0).
final class RedisLongDoubleTests: XCTestCase {
    private func parse(_ text: String) -> RedisLongDouble.Value? {
        RedisLongDouble.parse(Array(text.utf8))
    }

    func testParsingFollowsString2ld() {
        XCTAssertEqual(parse("10.5"), 10.5)
        XCTAssertEqual(parse("1.5e3"), 1500)
        XCTAssertEqual(parse("0x10"), 16, "strtold reads hex")
        XCTAssertEqual(parse("-0"), 0)
        XCTAssertEqual(parse("inf")?.isInfinite, true, "accepted here, refused by the command")
        for bad in ["", " 5", "5 ", "1,5", "abc", "nan", "1e5000", "1e-5000", "5\u{0}"] {
            XCTAssertNil(parse(bad), bad)
        }
        XCTAssertNil(parse(String(repeating: "1", count: RedisLongDouble.maxCharacters)))
    }

    func testFormattingHasSeventeenDecimalsWithoutTrailingZeros() throws {
        let sum = try XCTUnwrap(parse("10.5")) + XCTUnwrap(parse("0.1"))
        XCTAssertEqual(RedisLongDouble.format(sum), "10.6")
        XCTAssertEqual(RedisLongDouble.format(1500), "1500")
        XCTAssertEqual(RedisLongDouble.format(-0.0), "0")
        XCTAssertEqual(RedisLongDouble.format(try XCTUnwrap(parse("1.23456789012345678901"))), "1.23456789012345679")
        XCTAssertEqual(RedisLongDouble.format(try XCTUnwrap(parse("3.0000000000000000001"))), "3")
        XCTAssertEqual(RedisLongDouble.format(-2.5), "-2.5")
        XCTAssertEqual(RedisLongDouble.format(.infinity), "inf")
    }
}

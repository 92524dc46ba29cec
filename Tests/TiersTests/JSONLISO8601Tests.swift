import XCTest

@testable import Tiers

final class JSONLISO8601Tests: XCTestCase {
    func testFormatMatchesPythonIsoformat() {
        // Expected values from Python: datetime.fromtimestamp(t, timezone.utc).isoformat().
        XCTAssertEqual(ISO8601Time.format(0), "1970-01-01T00:00:00+00:00")
        XCTAssertEqual(ISO8601Time.format(1_764_039_600.123456), "2025-11-25T03:00:00.123456+00:00")
        XCTAssertEqual(ISO8601Time.format(1_764_039_600.5), "2025-11-25T03:00:00.500000+00:00")
        XCTAssertEqual(ISO8601Time.format(951_782_400), "2000-02-29T00:00:00+00:00")
        XCTAssertEqual(ISO8601Time.format(-1.5), "1969-12-31T23:59:58.500000+00:00")
    }

    func testParseAcceptsOffsetsAndForms() {
        XCTAssertEqual(ISO8601Time.parse("2025-11-25T03:00:00.123456+00:00"), 1_764_039_600.123456)
        XCTAssertEqual(ISO8601Time.parse("2025-11-25T05:00:00+02:00"), 1_764_039_600)
        XCTAssertEqual(ISO8601Time.parse("2025-11-24T22:30:00-0430"), 1_764_039_600)
        XCTAssertEqual(ISO8601Time.parse("2025-11-25T03:00:00Z"), 1_764_039_600)
        XCTAssertEqual(ISO8601Time.parse("2025-11-25 03:00:00"), 1_764_039_600)
        XCTAssertEqual(ISO8601Time.parse("2025-11-25T03:00:00.1234567+00:00"), 1_764_039_600.123457)
        XCTAssertNil(ISO8601Time.parse("2025-13-25T03:00:00+00:00"))
        XCTAssertNil(ISO8601Time.parse("2025-11-25"))
        XCTAssertNil(ISO8601Time.parse("2025-11-25T03:00:00+00:00 trailing"))
        XCTAssertNil(ISO8601Time.parse("yesterday"))
    }

    func testRoundTripAtMicrosecondPrecision() {
        var seconds = 1_600_000_000.0
        for step in 0..<2000 {
            seconds += 12_345.678901 + Double(step) * 0.000001
            let micros = (seconds * 1_000_000).rounded() / 1_000_000
            XCTAssertEqual(ISO8601Time.parse(ISO8601Time.format(micros)), micros)
        }
    }
}

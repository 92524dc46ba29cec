import XCTest

@testable import cachectl

final class GlobalOptionHoistingTests: XCTestCase {
    func testLeadingSharedOptionsMoveBehindTheSubcommand() {
        XCTAssertEqual(
            GlobalOptionHoisting.rewrite(["--socket", "/s", "--json", "get", "k"]),
            ["get", "--socket", "/s", "--json", "k"]
        )
        XCTAssertEqual(
            GlobalOptionHoisting.rewrite(["--timeout=5", "raw", "SET", "-1"]),
            ["raw", "--timeout=5", "SET", "-1"]
        )
    }

    func testEverythingElseIsLeftAlone() {
        XCTAssertEqual(GlobalOptionHoisting.rewrite(["get", "k", "--json"]), ["get", "k", "--json"])
        XCTAssertEqual(GlobalOptionHoisting.rewrite(["--help"]), ["--help"])
        XCTAssertEqual(GlobalOptionHoisting.rewrite(["--socket", "/s"]), ["--socket", "/s"])
        XCTAssertEqual(GlobalOptionHoisting.rewrite([]), [])
    }
}

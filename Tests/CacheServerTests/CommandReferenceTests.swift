import XCTest

@testable import CacheServer

/// docs/commands.md is generated from the command table; this keeps it true to the code.
final class CommandReferenceTests: XCTestCase {
    func testCheckedInReferenceMatchesTheTable() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let path = root.appendingPathComponent("docs/commands.md").path
        let checkedIn = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertEqual(
            checkedIn,
            CommandReference.markdown(),
            "docs/commands.md is stale: regenerate it with `swift run cachesrvd commands > docs/commands.md`"
        )
    }

    func testEveryCommandIsInTheReference() {
        let text = CommandReference.markdown()
        for spec in CommandTable.standard.all {
            XCTAssertTrue(text.contains("| `\(spec.name.uppercased())"), spec.name)
        }
    }
}

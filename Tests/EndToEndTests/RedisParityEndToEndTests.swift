import Foundation
import XCTest

/// Every case of `Parity/*.txt` must answer as redis-server 7.0 does: the same command goes to a real redis-server
/// and to the real cachesrvd (memory only, then with its default disk tiers) on one connection per block, and the raw
/// RESP bytes of the replies are compared (see `Parity/01-strings.txt` for the format).
///
/// Skipped when redis-server 7.0 is not installed. One test per case file, so a failure names its file; the summary
/// printed lists each differing case with its file, line, command and both replies.
final class RedisParityEndToEndTests: XCTestCase {
    func testStrings() throws { try checkParity("01-strings.txt") }
    func testIncr() throws { try checkParity("02-incr.txt") }
    func testExpire() throws { try checkParity("03-expire.txt") }
    func testKeyspace() throws { try checkParity("04-keyspace.txt") }
    func testHash() throws { try checkParity("05-hash.txt") }
    func testMulti() throws { try checkParity("06-multi.txt") }
    func testServer() throws { try checkParity("07-server.txt") }
    func testBinary() throws { try checkParity("08-binary.txt") }

    /// The harness itself, against redis-server alone (as reference and as target on the same database, so the
    /// second INCR of a key answers 2 where the first answered 1): a difference is reported with its line and both
    /// replies, and cases that agree (exactly, or as far as their marker asks) are not.
    func testHarnessReportsExactlyTheDifferingCase() throws {
        let redis = try RedisServerProcess()
        defer { redis.stop() }
        let text = """
            SET k v
            INCR n
            ~type INCR n
            ~shape TIME
            ~sorted MSET a 1 b 2
            """
        let cases = try text.split(separator: "\n").enumerated().map { offset, line in
            var command = Substring(line)
            var comparison = ParityComparison.exact
            if command.hasPrefix("~") {
                let marker = command.prefix { $0 != " " }
                comparison = try XCTUnwrap(ParityComparison(rawValue: String(marker.dropFirst())))
                command = command.dropFirst(marker.count + 1)
            }
            let arguments = try ParityCaseFile.splitArguments(Array(command.utf8))
            return ParityCase(line: offset + 2, text: String(command), arguments: arguments, comparison: comparison)
        }
        let file = ParityCaseFile(name: "inline", blocks: [ParityBlock(title: "self", line: 1, cases: cases)])
        let mismatches = ParityRunner.run(file, reference: redis.socketPath, target: redis.socketPath)
        XCTAssertEqual(mismatches.map(\.line), [3])
        XCTAssertEqual(mismatches.first?.expected, Array(":1\r\n".utf8))
        XCTAssertEqual(mismatches.first?.actual, Array(":2\r\n".utf8))
        let summary = Self.summary(of: file, mismatches: mismatches.map { ("l1", $0) })
        XCTAssertTrue(summary.contains("inline:3 [l1] INCR n"), summary)
        XCTAssertTrue(summary.contains(#"redis:     ":1\r\n""#), summary)
    }

    /// Words split as redis-cli splits them: quotes, escapes of any byte, the empty string.
    func testCaseWordsSplitAsRedisCliDoes() throws {
        let words = try ParityCaseFile.splitArguments(Array(#"SET "a b\x00\xff\"" 'c\'d\x' """#.utf8))
        XCTAssertEqual(words, [Array("SET".utf8), [97, 32, 98, 0, 255, 34], Array(#"c'd\x"#.utf8), []])
        XCTAssertThrowsError(try ParityCaseFile.splitArguments(Array(#"GET "k"x"#.utf8)))
        XCTAssertThrowsError(try ParityCaseFile.splitArguments(Array(#"GET "k"#.utf8)))
    }

    /// The servers a case file runs against, besides redis-server.
    private static let configurations: [(name: String, arguments: [String])] = [
        ("l1", ["--tiers", "l1"]),
        ("l1,l2,l3", []),
    ]

    private func checkParity(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let cases = try ParityCaseFile.load(name)
        let redis = try RedisServerProcess()
        defer { redis.stop() }
        var mismatches: [(configuration: String, mismatch: ParityMismatch)] = []
        for configuration in Self.configurations {
            let server = try ServerProcess(arguments: configuration.arguments)
            defer {
                server.stop()
                server.removeDirectory()
            }
            let found = ParityRunner.run(cases, reference: redis.socketPath, target: server.socketPath)
            mismatches += found.map { (configuration.name, $0) }
        }
        let summary = Self.summary(of: cases, mismatches: mismatches)
        if mismatches.isEmpty {
            print(summary)
        } else {
            XCTFail(summary, file: file, line: line)
        }
    }

    /// Counts per configuration, then each differing case once, naming every configuration that answered it alike.
    static func summary(
        of cases: ParityCaseFile,
        mismatches: [(configuration: String, mismatch: ParityMismatch)]
    )
        -> String
    {
        var lines = ["parity \(cases.name): \(cases.caseCount) cases in \(cases.blocks.count) blocks"]
        for configuration in configurations {
            let failed = Set(mismatches.filter { $0.configuration == configuration.name }.map(\.mismatch.line)).count
            lines.append(
                "  cachesrvd --tiers \(configuration.name): \(cases.caseCount - failed) passed, \(failed) failed"
            )
        }
        var grouped: [(configurations: [String], mismatch: ParityMismatch)] = []
        for (configuration, mismatch) in mismatches {
            if let index = grouped.firstIndex(where: {
                $0.mismatch.line == mismatch.line && $0.mismatch.actual == mismatch.actual
            }) {
                grouped[index].configurations.append(configuration)
            } else {
                grouped.append(([configuration], mismatch))
            }
        }
        grouped.sort { $0.mismatch.line < $1.mismatch.line }
        for (configurations, mismatch) in grouped {
            let marker = mismatch.comparison == .exact ? "" : "~\(mismatch.comparison.rawValue) "
            lines.append(
                "  \(mismatch.file):\(mismatch.line) [\(configurations.joined(separator: " & "))] \(marker)\(mismatch.command)"
            )
            lines.append("      redis:     \(mismatch.expected.escapedForReport())")
            lines.append("      cachesrvd: \(mismatch.actual.escapedForReport())")
        }
        return lines.joined(separator: "\n")
    }
}

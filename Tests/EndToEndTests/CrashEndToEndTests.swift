import CacheProtocol
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// docs/design.md's Durability table, measured: the real server is killed with SIGKILL while 16 clients write as fast
/// as they can, restarted on the same data directory, and every acknowledged write is looked for. Only the command
/// line and Redis commands are used, so the tests hold whatever the write path is built of.
final class CrashEndToEndTests: XCTestCase {
    /// Clients writing at once.
    private static let clients = 16

    func testKillNineUnderLoadWithFsyncAlwaysLosesNoAcknowledgedWrite() throws {
        try assertAlwaysKeepsEveryAcknowledgedWrite(backend: "sqlite")
    }

    func testKillNineUnderLoadWithFsyncAlwaysLosesNoAcknowledgedWriteOnJSONL() throws {
        try assertAlwaysKeepsEveryAcknowledgedWrite(backend: "jsonl")
    }

    /// `everysec` may lose what was acknowledged in about the last second, never more: a lost write acknowledged
    /// more than 2 s before the kill fails. The load runs longer than that, so an older loss is possible to see.
    func testKillNineUnderLoadWithFsyncEverysecLosesAtMostTheLastSecond() throws {
        let arguments = ["--fsync", "everysec"]
        let first = try ServerProcess(arguments: arguments)
        defer { first.removeDirectory() }
        let (writes, killedAt) = try load(first, seconds: 3)

        let second = try ServerProcess(arguments: arguments, directory: first.directory)
        let verdict = try check(second, writes: writes, killedAt: killedAt, fsync: "everysec")
        let tooOld = verdict.lost.filter { $0.age > .seconds(2) }
        XCTAssertTrue(tooOld.isEmpty, "\(tooOld.count) lost writes older than 2 s: \(verdict.lossSummary)")
        print("everysec: \(verdict.lossSummary)")
        XCTAssertEqual(second.stop(), 0, second.log)
    }

    /// A crash while the restarted server is starting (replaying, re-opening its files) loses nothing either: the
    /// server is killed again as soon as it answers PING, twice, and only the third start is checked.
    func testKillNineDuringRestartLosesNoAcknowledgedWrite() throws {
        let arguments = ["--fsync", "always"]
        let first = try ServerProcess(arguments: arguments)
        defer { first.removeDirectory() }
        let (writes, killedAt) = try load(first, seconds: 1.5)
        for _ in 0..<2 {
            let restarting = try ServerProcess(arguments: arguments, directory: first.directory)
            restarting.crash()
        }

        let last = try ServerProcess(arguments: arguments, directory: first.directory)
        let verdict = try check(last, writes: writes, killedAt: killedAt, fsync: "always")
        XCTAssertTrue(verdict.lost.isEmpty, verdict.lossSummary)
        XCTAssertEqual(last.stop(), 0, last.log)
    }

    private func assertAlwaysKeepsEveryAcknowledgedWrite(
        backend: String,
        file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        let arguments = ["--fsync", "always", "--l2-backend", backend]
        let first = try ServerProcess(arguments: arguments)
        defer { first.removeDirectory() }
        let (writes, killedAt) = try load(first, seconds: 1.5)

        let second = try ServerProcess(arguments: arguments, directory: first.directory)
        let verdict = try check(second, writes: writes, killedAt: killedAt, fsync: "always", file: file, line: line)
        XCTAssertTrue(verdict.lost.isEmpty, "\(backend): \(verdict.lossSummary)", file: file, line: line)
        XCTAssertEqual(second.stop(), 0, second.log, file: file, line: line)
    }

    /// Runs the workload against `server` for about `seconds` (and until every client has had replies), then kills
    /// the server with SIGKILL while the clients are still writing; returns what they sent and when the kill came.
    private func load(
        _ server: ServerProcess,
        seconds: Double
    ) throws -> (writes: [CrashWrite], killedAt: ContinuousClock.Instant) {
        let workload = try CrashWorkload(server: server, clients: Self.clients)
        let end = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < end || workload.acknowledged < 20 * Self.clients {
            guard server.process.isRunning else { break }
            usleep(20_000)
        }
        let killedAt = ContinuousClock.now
        server.crash()
        let (writes, problems) = workload.collect()
        XCTAssertEqual(server.process.terminationReason, .uncaughtSignal, "the server died of the kill: \(server.log)")
        XCTAssertEqual(problems, [], "replies that were not acknowledgements")
        XCTAssertGreaterThan(writes.count(where: { $0.acknowledged == nil }), 0, "no write was in flight at the kill")
        return (writes, killedAt)
    }

    /// Checks that the restarted `server` serves, reports sane persistence figures, and holds for every key a state
    /// its writes can produce; returns the comparison for the caller's durability assertion.
    private func check(
        _ server: ServerProcess,
        writes: [CrashWrite],
        killedAt: ContinuousClock.Instant,
        fsync: String,
        file: StaticString = #filePath,
        line: UInt = #line
    ) throws -> CrashVerdict {
        let client = try server.client()
        XCTAssertEqual(try client.command(["PING"]), .simpleString("PONG"), file: file, line: line)
        let persistence = try Self.info(client, section: "persistence")
        XCTAssertEqual(persistence["loading"], "0", "\(persistence)", file: file, line: line)
        XCTAssertEqual(persistence["fsync"], fsync, file: file, line: line)
        XCTAssertEqual(persistence["rdb_last_bgsave_status"], "ok", "\(persistence)", file: file, line: line)
        XCTAssertEqual(persistence["l2_status"], "ok", "\(persistence)", file: file, line: line)
        XCTAssertEqual(persistence["l3_status"], "ok", "\(persistence)", file: file, line: line)

        let verdict = try CrashVerdict(writes: writes, client: client, killedAt: killedAt)
        XCTAssertGreaterThan(verdict.acknowledged, 0, file: file, line: line)
        XCTAssertEqual(verdict.impossible.count, 0, "\(verdict.impossible.prefix(5))", file: file, line: line)
        XCTAssertEqual(verdict.strangers, [], "keys nobody wrote", file: file, line: line)
        return verdict
    }

    /// An INFO section's `name:value` lines.
    private static func info(_ client: RawClient, section: String) throws -> [String: String] {
        let text = try XCTUnwrap(client.command(["INFO", section]).text)
        var figures: [String: String] = [:]
        for line in text.split(separator: "\r\n") where line.contains(":") {
            let parts = line.split(separator: ":", maxSplits: 1)
            figures[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return figures
    }
}

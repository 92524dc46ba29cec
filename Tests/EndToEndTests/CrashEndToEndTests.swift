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

    /// A larger L1 for the server that is checked, so reading every key back promotes without demoting (which only
    /// costs time: the check reads what the disk tiers kept).
    private static let checkingArguments = ["--l1-max-entries", "100000"]

    /// `always` loses nothing acknowledged, whichever L2 backend runs beside L3.
    func testKillNineUnderLoadWithFsyncAlwaysLosesNoAcknowledgedWrite() throws {
        for backend in ["sqlite", "jsonl"] {
            let verdict = try crashUnderLoad(["--fsync", "always", "--l2-backend", backend], seconds: 1.5)
            XCTAssertTrue(verdict.lost.isEmpty, "\(backend): \(verdict.lossSummary)")
        }
    }

    /// `everysec` may lose what was acknowledged in about the last second, never more: a lost write acknowledged
    /// more than 2 s before the kill fails. The load runs longer than that, so an older loss can be seen.
    func testKillNineUnderLoadWithFsyncEverysecLosesAtMostTheLastSecond() throws {
        let verdict = try crashUnderLoad(["--fsync", "everysec"], seconds: 3)
        let tooOld = verdict.lost.filter { $0.age > .seconds(2) }
        XCTAssertTrue(
            tooOld.isEmpty,
            "\(tooOld.count) lost writes acknowledged more than 2 s before the kill; \(verdict.lossSummary)"
        )
        print("everysec: \(verdict.lossSummary)")
    }

    /// A crash while the restarted server is starting (replaying, re-opening its files) loses nothing either: the
    /// server is killed again as soon as it answers PING, twice, and only the third start is checked.
    func testKillNineDuringRestartLosesNoAcknowledgedWrite() throws {
        let verdict = try crashUnderLoad(["--fsync", "always"], seconds: 1.5, restartsKilled: 2)
        XCTAssertTrue(verdict.lost.isEmpty, verdict.lossSummary)
    }

    /// Starts a server with `arguments`, loads it for about `seconds` and kills it; starts it again on the same data
    /// directory and kills it as soon as it answers `restartsKilled` times; then starts it once more, checks it
    /// (`check`) and stops it, which must succeed. Returns the comparison for the caller's durability assertion.
    private func crashUnderLoad(
        _ arguments: [String],
        seconds: Double,
        restartsKilled: Int = 0,
        file: StaticString = #filePath,
        line: UInt = #line
    ) throws -> CrashVerdict {
        let first = try ServerProcess(arguments: arguments, file: file, line: line)
        defer { first.removeDirectory() }
        let (writes, killedAt) = try load(first, seconds: seconds, file: file, line: line)
        for _ in 0..<restartsKilled {
            try ServerProcess(arguments: arguments, directory: first.directory, file: file, line: line).crash()
        }
        let last = try ServerProcess(
            arguments: arguments + Self.checkingArguments,
            directory: first.directory,
            file: file,
            line: line
        )
        let fsync = arguments.drop { $0 != "--fsync" }.dropFirst().first ?? "everysec"
        let verdict = try check(last, writes: writes, killedAt: killedAt, fsync: fsync, file: file, line: line)
        XCTAssertEqual(last.stop(), 0, "a clean stop after the restart: \(last.log)", file: file, line: line)
        return verdict
    }

    /// Runs the workload against `server` for about `seconds` (and until 20 writes a client were acknowledged), then
    /// kills the server with SIGKILL while the clients are still writing; returns what they sent and when it was killed.
    private func load(
        _ server: ServerProcess,
        seconds: Double,
        file: StaticString,
        line: UInt
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
        XCTAssertEqual(
            server.process.terminationReason,
            .uncaughtSignal,
            "the server died of the kill, not before: \(server.log)",
            file: file,
            line: line
        )
        XCTAssertEqual(problems, [], "replies that were not acknowledgements", file: file, line: line)
        let inFlight = writes.count { $0.acknowledged == nil }
        XCTAssertGreaterThan(inFlight, 0, "no write was in flight at the kill", file: file, line: line)
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
        // A server may answer -LOADING while it replays (as Redis does); it must then come to answer PONG.
        var ping = try client.command(["PING"])
        let deadline = ContinuousClock.now + .seconds(30)
        while case .error(let message) = ping, message.hasPrefix("LOADING"), ContinuousClock.now < deadline {
            usleep(20_000)
            ping = try client.command(["PING"])
        }
        XCTAssertEqual(ping, .simpleString("PONG"), file: file, line: line)
        let persistence = try client.info("persistence")
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

}

import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Starting and stopping: the socket's permissions, a live server left alone, stale sockets, long paths, SIGTERM.
final class LifecycleEndToEndTests: XCTestCase {
    func testSocketIsOwnerOnlyAndRemovedOnSIGTERM() throws {
        let server = try ServerProcess(arguments: ["--tiers", "l1"])
        defer { server.removeDirectory() }
        var info = stat()
        XCTAssertEqual(stat(server.socketPath, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
        XCTAssertEqual(server.stop(signal: SIGTERM), 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: server.socketPath))
    }

    func testSIGINTAlsoStopsCleanly() throws {
        let server = try ServerProcess(arguments: ["--tiers", "l1"])
        defer { server.removeDirectory() }
        XCTAssertEqual(server.stop(signal: SIGINT), 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: server.socketPath))
    }

    func testSocketModeSetting() throws {
        let server = try ServerProcess(arguments: ["--tiers", "l1", "--socket-mode", "660"])
        defer {
            server.stop()
            server.removeDirectory()
        }
        var info = stat()
        XCTAssertEqual(stat(server.socketPath, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o660)
    }

    func testSecondServerLeavesALiveOneAlone() throws {
        let server = try ServerProcess(arguments: ["--tiers", "l1"])
        defer {
            server.stop()
            server.removeDirectory()
        }
        let second = try runServerToExit(["--socket", server.socketPath, "--tiers", "l1"])
        XCTAssertNotEqual(second.status, 0)
        XCTAssertTrue(second.output.contains("already answering"), second.output)
        XCTAssertEqual(try server.client().command(["PING"]), .simpleString("PONG"))
    }

    func testStaleSocketIsReplaced() throws {
        let first = try ServerProcess(arguments: ["--tiers", "l1"])
        first.crash()
        XCTAssertTrue(FileManager.default.fileExists(atPath: first.socketPath), "kill -9 leaves the socket file")
        let second = try ServerProcess(arguments: ["--tiers", "l1"], directory: first.directory)
        defer {
            second.stop()
            second.removeDirectory()
        }
        XCTAssertEqual(try second.client().command(["PING"]), .simpleString("PONG"))
    }

    func testTooLongSocketPathIsRefused() throws {
        let path = "/tmp/" + String(repeating: "s", count: 120) + ".sock"
        let result = try runServerToExit(["--socket", path, "--tiers", "l1"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.output.contains("longer than the kernel's limit"), result.output)
    }

    func testMalformedEncryptionKeyStopsStartupClearly() throws {
        let directory = ServerProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var environment = ProcessInfo.processInfo.environment
        environment["CACHESRVD_ENCRYPTION_KEY"] = "not-a-key-Zx81"
        let result = try runProgram(
            ServerProcess.binary("cachesrvd"),
            ["--socket", directory + "/s.sock", "--data-dir", directory + "/data"],
            environment: environment
        )
        let output = result.stdout + result.stderr
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(output.contains("CACHESRVD_ENCRYPTION_KEY"), output)
        XCTAssertTrue(output.contains("32 bytes"), output)
        XCTAssertFalse(output.contains("not-a-key-Zx81"), "the key itself is never printed")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/s.sock"))
    }

    func testBadSettingsAreUsageErrors() throws {
        let result = try runServerToExit(["--eviction-policy", "random"])
        XCTAssertEqual(result.status, 64)
        let tiers = try runServerToExit(["--tiers", "l1,l4"])
        XCTAssertEqual(tiers.status, 64)
        XCTAssertTrue(tiers.output.contains("--tiers"), tiers.output)
    }

    private func runServerToExit(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let directory = ServerProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try runProgram(ServerProcess.binary("cachesrvd"), arguments + ["--data-dir", directory + "/data"])
        return (result.status, result.stdout + result.stderr)
    }
}

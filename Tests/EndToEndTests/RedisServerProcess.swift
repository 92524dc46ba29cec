import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A real redis-server on a temporary Unix socket, with no persistence, as the reference of the parity test.
final class RedisServerProcess {
    /// The binary: `$CACHESRVD_REDIS_SERVER`, else Debian's.
    static var binary: String {
        ProcessInfo.processInfo.environment["CACHESRVD_REDIS_SERVER"] ?? "/usr/bin/redis-server"
    }

    /// The major.minor release whose answers the case files hold.
    static let expectedRelease = "7.0."

    let directory: String
    let socketPath: String
    let process: Process
    let logPath: String

    /// Starts redis-server, or skips the test when it is missing or not a 7.0 release (other releases word some
    /// errors differently).
    init(file: StaticString = #filePath, line: UInt = #line) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw XCTSkip("\(Self.binary) is missing (apt-get install redis-server, or set CACHESRVD_REDIS_SERVER)")
        }
        let version = try runProgram(Self.binary, ["--version"]).stdout
        guard version.contains("v=\(Self.expectedRelease)") else {
            throw XCTSkip("the parity cases hold redis-server \(Self.expectedRelease)x's answers; found \(version)")
        }
        directory = ServerProcess.makeTemporaryDirectory()
        socketPath = directory + "/r.sock"
        logPath = directory + "/redis.log"
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = [
            "--port", "0", "--unixsocket", socketPath, "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
            "--dir", directory, "--logfile", logPath, "--daemonize", "no",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            guard process.isRunning else {
                XCTFail("redis-server exited at start: \(log)", file: file, line: line)
                throw ServerProcessError.exited(log)
            }
            if let client = try? RawClient(path: socketPath), (try? client.command(["PING"])) != nil { return }
            usleep(20_000)
        }
        throw ServerProcessError.notReady(log)
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// SIGTERM, wait, and remove the directory.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

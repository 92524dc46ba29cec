import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A real cachesrvd process on a temporary socket and data directory.
final class ServerProcess {
    let directory: String
    let socketPath: String
    let dataDirectory: String
    let process: Process
    let logPath: String

    /// Where the built binaries are: next to the test bundle, or $CACHESRVD_BIN_DIR.
    static var binDirectory: String {
        if let explicit = ProcessInfo.processInfo.environment["CACHESRVD_BIN_DIR"] { return explicit }
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("cachesrvd").path) {
            url.deleteLastPathComponent()
        }
        return url.path
    }

    static func binary(_ name: String) -> String { binDirectory + "/" + name }

    /// Starts a server with `arguments` (on top of --socket/--data-dir) and waits until it answers PING (any reply
    /// counts: NOAUTH too). `launcher` runs before the binary (e.g. setpriv to run it as another user, or a shell
    /// that lowers the open-file limit).
    init(
        arguments: [String] = [],
        directory: String? = nil,
        environment: [String: String] = [:],
        launcher: [String] = [],
        file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        let directory = directory ?? Self.makeTemporaryDirectory()
        self.directory = directory
        self.socketPath = directory + "/s.sock"
        self.dataDirectory = directory + "/data"
        self.logPath = directory + "/server-\(UUID().uuidString.prefix(8)).log"
        process = Process()
        let command = launcher + [Self.binary("cachesrvd"), "--socket", socketPath, "--data-dir", dataDirectory]
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst()) + arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "CACHESRVD_ENCRYPTION_KEY")
        env.removeValue(forKey: "CACHESRVD_ENCRYPTION_KEY_PREVIOUS")
        for (key, value) in environment { env[key] = value }
        process.environment = env
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = FileHandle(forWritingAtPath: logPath)
        process.standardOutput = log
        process.standardError = log
        try process.run()
        try waitUntilReady(file: file, line: line)
    }

    static func makeTemporaryDirectory() -> String {
        var template = Array("/tmp/cachesrvd-test.XXXXXX".utf8CString)
        let path = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        return String(cString: path!)
    }

    /// Polls the socket with PING until the server answers (no fixed sleeps).
    private func waitUntilReady(file: StaticString, line: UInt) throws {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if !process.isRunning {
                XCTFail("cachesrvd exited at start: \(log)", file: file, line: line)
                throw ServerProcessError.exited(log)
            }
            if let client = try? RawClient(path: socketPath), (try? client.command(["PING"])) != nil {
                return
            }
            usleep(20_000)
        }
        throw ServerProcessError.notReady(log)
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func client() throws -> RawClient { try RawClient(path: socketPath) }

    /// SIGTERM and wait; returns the exit status.
    @discardableResult
    func stop(signal: Int32 = SIGTERM) -> Int32 {
        if process.isRunning {
            kill(process.processIdentifier, signal)
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// kill -9: no chance to clean up.
    func crash() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    func removeDirectory() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

enum ServerProcessError: Error {
    case exited(String)
    case notReady(String)
}

/// What a program printed and how it exited.
struct ProgramResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a program to completion and captures its output (small outputs: stdout is read before stderr).
func runProgram(
    _ executable: String,
    _ arguments: [String],
    environment: [String: String]? = nil,
    in directory: String? = nil,
    input: String? = nil
) throws -> ProgramResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    if let input {
        let inPipe = Pipe()
        process.standardInput = inPipe
        try process.run()
        inPipe.fileHandleForWriting.write(Data(input.utf8))
        try inPipe.fileHandleForWriting.close()
    } else {
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProgramResult(
        status: process.terminationStatus,
        stdout: String(decoding: stdout, as: UTF8.self),
        stderr: String(decoding: stderr, as: UTF8.self)
    )
}

/// Runs the real cachectl against `socket`.
func runCachectl(_ arguments: [String], socket: String, input: String? = nil) throws -> ProgramResult {
    try runProgram(ServerProcess.binary("cachectl"), ["--socket", socket] + arguments, input: input)
}

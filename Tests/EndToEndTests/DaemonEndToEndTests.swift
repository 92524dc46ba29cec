import CacheProtocol
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Daemon conventions with the real binary: the open-file limit, SIGHUP and SIGUSR1, the configuration file, socket
/// activation and readiness notification.
final class DaemonEndToEndTests: XCTestCase {
    func testClientLimitFitsTheOpenFileLimitAndEveryConnectionIsAnswered() throws {
        let server = try ServerProcess(
            arguments: ["--tiers", "l1"],
            launcher: ["/bin/sh", "-c", "ulimit -n 256 && exec \"$0\" \"$@\""]
        )
        defer {
            server.stop()
            server.removeDirectory()
        }
        let announced = try XCTUnwrap(
            server.log.split(separator: "\n").first { $0.contains("max clients lowered from 10000 to") },
            server.log
        )
        let limit = try XCTUnwrap(Int(announced.split(separator: " ").last!))
        XCTAssertLessThan(limit, 256)
        // 400 clients at once: each gets PONG or the max-clients error, none hangs.
        var clients: [RawClient] = []
        var pongs = 0
        var refused = 0
        for _ in 0..<400 {
            let client = try RawClient(path: server.socketPath, timeoutSeconds: 10)
            clients.append(client)
            // A refused client may find the connection closed already (EPIPE): its error reply is still there.
            try? client.send(Array("PING\r\n".utf8))
            switch try client.readReply() {
            case .simpleString("PONG"): pongs += 1
            case .error("ERR max number of clients reached"): refused += 1
            case let other: XCTFail("unexpected reply \(other)")
            }
        }
        XCTAssertEqual(pongs, limit)
        XCTAssertEqual(refused, 400 - limit)
        clients.removeAll()
        try waitFor { (try? server.client().command(["PING"])) == .simpleString("PONG") }
    }

    func testSIGHUPAndSIGUSR1UnderWriteLoadLoseNothing() throws {
        let directory = ServerProcess.makeTemporaryDirectory()
        let logFile = directory + "/cachesrvd.log"
        let server = try ServerProcess(arguments: ["--log-file", logFile], directory: directory)
        let writers = 4
        let perWriter = 1500
        let failures = SharedCounter()
        let pid = server.process.processIdentifier
        let socketPath = server.socketPath
        DispatchQueue.concurrentPerform(iterations: writers + 1) { index in
            if index == writers {
                // The signals arrive while the writers write; the log file is rotated in between.
                for round in 0..<6 {
                    usleep(30_000)
                    if round == 3 { rename(logFile, logFile + ".1") }
                    kill(pid, round % 2 == 0 ? SIGHUP : SIGUSR1)
                }
                return
            }
            guard let client = try? RawClient(path: socketPath) else { return failures.increment() }
            for n in 0..<perWriter {
                if (try? client.command(["SET", "w\(index):\(n)", "http://10.0.\(index).1:\(n)"]))
                    != .simpleString("OK")
                {
                    failures.increment()
                }
            }
        }
        XCTAssertEqual(failures.value, 0, "every write was acknowledged")
        XCTAssertTrue(server.process.isRunning, "SIGHUP and SIGUSR1 do not stop the server")
        try waitFor { (try? String(contentsOfFile: logFile, encoding: .utf8))?.contains("reopened") ?? false }
        XCTAssertEqual(server.stop(), 0)
        let rotated = try String(contentsOfFile: logFile + ".1", encoding: .utf8)
        XCTAssertTrue(rotated.contains("cachesrvd ready"), "lines before the rotation stayed in the moved file")
        XCTAssertTrue(try String(contentsOfFile: logFile, encoding: .utf8).contains("cachesrvd stopped"))

        let restarted = try ServerProcess(directory: directory)
        defer {
            restarted.stop()
            restarted.removeDirectory()
        }
        XCTAssertEqual(try restarted.client().command(["DBSIZE"]), .integer(Int64(writers * perWriter)))
    }

    func testConfigFileWithTheCommandLineWinningAndReload() throws {
        let directory = ServerProcess.makeTemporaryDirectory()
        let config = directory + "/cachesrvd.conf"
        try """
        # a comment
        tiers l1
        l1-max-entries 123      # trailing comment
        default-ttl 77
        source-ttl feedA=10
        source-ttl feedB=20
        log-level warning
        no-health-invalidation yes
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let server = try ServerProcess(arguments: ["--config", config, "--default-ttl", "99"], directory: directory)
        defer {
            server.stop()
            server.removeDirectory()
        }
        let client = try server.client()
        func setting(_ name: String) throws -> String? {
            guard case .array(let pair?) = try client.command(["CONFIG", "GET", name]), pair.count == 2 else {
                return nil
            }
            return pair[1].text
        }
        XCTAssertEqual(try setting("l1-max-entries"), "123")
        XCTAssertEqual(try setting("default-ttl"), "99", "the command line wins")
        XCTAssertEqual(try setting("tiers"), "l1")
        XCTAssertFalse(server.log.contains("cachesrvd ready"), "log-level warning from the file")

        // A reload applies the log level and says which settings wait for a restart.
        try """
        tiers l1
        l1-max-entries 456
        log-level info
        """.write(toFile: config, atomically: true, encoding: .utf8)
        kill(server.process.processIdentifier, SIGHUP)
        try waitFor { server.log.contains("SIGHUP: reloaded") }
        XCTAssertTrue(server.log.contains("take effect at the next start: l1-max-entries"), server.log)

        // A broken file is refused at reload, and the server keeps its settings and runs on.
        try "l1-max-entries lots\n".write(toFile: config, atomically: true, encoding: .utf8)
        kill(server.process.processIdentifier, SIGHUP)
        try waitFor { server.log.contains("reload failed") }
        XCTAssertEqual(try client.command(["PING"]), .simpleString("PONG"))
    }

    func testABadConfigFileStopsStartWithItsName() throws {
        let directory = ServerProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/bad.conf"
        try "tiers l1\nno-such-setting 1\n".write(toFile: config, atomically: true, encoding: .utf8)
        let result = try runProgram(
            ServerProcess.binary("cachesrvd"),
            ["--config", config, "--socket", directory + "/s.sock", "--data-dir", directory + "/data"]
        )
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains(config), result.stderr)
        XCTAssertTrue(result.stderr.contains("no-such-setting"), result.stderr)
    }

    func testSocketActivationAndReadinessNotification() throws {
        let activate = "/usr/bin/systemd-socket-activate"
        guard FileManager.default.isExecutableFile(atPath: activate) else {
            throw XCTSkip("systemd-socket-activate is not installed (Debian package systemd)")
        }
        let directory = ServerProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socketPath = directory + "/activated.sock"
        let notify = try NotifyListener(path: directory + "/notify.sock")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: activate)
        process.arguments = [
            "-l", socketPath, "-E", "NOTIFY_SOCKET=\(notify.path)", "-E", "WATCHDOG_USEC=200000",
            ServerProcess.binary("cachesrvd"), "--data-dir", directory + "/data", "--tiers", "l1",
            "--socket", directory + "/unused.sock",
        ]
        let log = directory + "/server.log"
        XCTAssertTrue(FileManager.default.createFile(atPath: log, contents: nil))
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        defer {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        // systemd-socket-activate listens first and starts the server on the first connection.
        try waitFor { FileManager.default.fileExists(atPath: socketPath) }
        let client = try RawClient(path: socketPath)
        XCTAssertEqual(try client.command(["PING"]), .simpleString("PONG"))
        let ready = try notify.next()
        XCTAssertTrue(ready.contains("READY=1"), ready)
        XCTAssertTrue(ready.contains("MAINPID=\(process.processIdentifier)"), ready)
        XCTAssertEqual(try notify.next(), "WATCHDOG=1", "pings at half of WATCHDOG_USEC")
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: directory + "/unused.sock"),
            "the inherited socket is used"
        )

        kill(process.processIdentifier, SIGTERM)
        var message = try notify.next()
        while message == "WATCHDOG=1" { message = try notify.next() }
        XCTAssertTrue(message.hasPrefix("STOPPING=1"), message)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: socketPath), "the manager's socket file is left alone")
    }
}

/// The service manager's end of `NOTIFY_SOCKET`: a datagram socket that receives sd_notify messages.
final class NotifyListener {
    let path: String
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard status == 0 else { throw RawClientError.io("bind \(path): \(errno)") }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// The next message (waits up to 30 s).
    func next() throws -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { throw RawClientError.io("no notification: \(errno)") }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }
}

extension DaemonEndToEndTests {
    /// The example configuration shipped for systemd starts a server (with the socket and data overridden).
    func testShippedConfigurationStarts() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let config = repository.appendingPathComponent("deploy/cachesrvd.conf").path
        let server = try ServerProcess(arguments: ["--config", config])
        defer {
            server.stop()
            server.removeDirectory()
        }
        let reply = try server.client().command(["CONFIG", "GET", "l1-max-memory"])
        XCTAssertEqual(reply, .array([.bulk("l1-max-memory"), .bulk("1073741824")]))
        XCTAssertEqual(
            try server.client().command(["CONFIG", "GET", "unixsocket"]),
            .array([.bulk("unixsocket"), .bulk(server.socketPath)]),
            "the command line wins"
        )
    }
}

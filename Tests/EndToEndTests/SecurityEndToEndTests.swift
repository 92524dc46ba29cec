import CacheProtocol
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Another user can neither take the socket over nor receive a client's secrets; peers outside the allow-lists are
/// refused; requirepass works as in Redis. Tests that run a process as another user need root (they skip otherwise).
final class SecurityEndToEndTests: XCTestCase {
    /// A uid with no other process on the machine, and one more for "another user".
    static let otherUID = "54321"
    static let attackerUID: uid_t = 54322

    /// Runs a program as `uid` with setpriv (root only).
    private func asUser(_ uid: String, _ command: [String]) -> [String] {
        ["/usr/bin/setpriv", "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups"] + command
    }

    private func requireRoot() throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
            throw XCTSkip("needs root and setpriv to act as another user")
        }
    }

    /// `cachectl raw PING` run as `otherUID` against a root server.
    private func pingAsOtherUser(_ server: ServerProcess) throws -> ProgramResult {
        let command = asUser(
            Self.otherUID,
            [ServerProcess.binary("cachectl"), "--socket", server.socketPath, "--server-uid", "0", "raw", "PING"]
        )
        return try runProgram(command[0], Array(command.dropFirst()))
    }

    /// A temporary directory others may enter and write (for sockets of other users).
    private func sharedDirectory() -> String {
        let directory = ServerProcess.makeTemporaryDirectory()
        chmod(directory, 0o1777)
        return directory
    }

    func testPeersOutsideTheAllowListAreRefusedAndLogged() throws {
        try requireRoot()
        let directory = sharedDirectory()
        let server = try ServerProcess(arguments: ["--tiers", "l1", "--socket-mode", "666"], directory: directory)
        defer {
            server.stop()
            server.removeDirectory()
        }
        let refused = try pingAsOtherUser(server)
        XCTAssertEqual(refused.status, 2, refused.stdout + refused.stderr)
        XCTAssertTrue(refused.stderr.contains("connection refused"), refused.stderr)
        XCTAssertTrue(server.log.contains("refused a peer"), server.log)
        XCTAssertTrue(server.log.contains("uid \(Self.otherUID)"), server.log)
        XCTAssertEqual(try server.client().command(["PING"]), .simpleString("PONG"), "our own user still connects")
    }

    func testAllowUIDAdmitsAnotherUser() throws {
        try requireRoot()
        let directory = sharedDirectory()
        let server = try ServerProcess(
            arguments: ["--tiers", "l1", "--socket-mode", "666", "--allow-uid", Self.otherUID],
            directory: directory
        )
        defer {
            server.stop()
            server.removeDirectory()
        }
        let admitted = try pingAsOtherUser(server)
        XCTAssertEqual(admitted.status, 0, admitted.stderr)
        XCTAssertEqual(admitted.stdout, "PONG\n")
    }

    func testAnotherUsersSocketIsNeverReplaced() throws {
        try requireRoot()
        let directory = ServerProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/s.sock"
        // A socket file of another user that nobody listens on: not provably stale, never ours to unlink.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8))
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        close(fd)
        XCTAssertEqual(chown(path, Self.attackerUID, gid_t(Self.attackerUID)), 0)
        let result = try runProgram(
            ServerProcess.binary("cachesrvd"),
            ["--socket", path, "--data-dir", directory + "/data", "--tiers", "l1"]
        )
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("socket of uid \(Self.attackerUID), not ours"), result.stderr)
        var info = stat()
        XCTAssertEqual(lstat(path, &info), 0, "the other user's socket is still there")
        XCTAssertEqual(info.st_uid, Self.attackerUID)
    }

    func testCachectlSendsNothingToAServerOfAnotherUser() throws {
        try requireRoot()
        let directory = sharedDirectory()
        // The "attacker" runs a server on the path a root client will use.
        let impostor = try ServerProcess(
            arguments: ["--tiers", "l1", "--socket-mode", "666"],
            directory: directory,
            launcher: asUser(String(Self.attackerUID), [])
        )
        defer {
            impostor.stop()
            impostor.removeDirectory()
        }
        let result = try runCachectl(
            ["put", "http://10.0.0.1:8080", "--username", "alice", "--password", "s3cret"],
            socket: impostor.socketPath
        )
        XCTAssertEqual(result.status, 77, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("belongs to uid \(Self.attackerUID)"), result.stderr)
        XCTAssertFalse(result.stderr.contains("s3cret"))
        XCTAssertEqual(try impostor.client().command(["DBSIZE"]), .integer(0), "the impostor received nothing")
        XCTAssertEqual(
            try impostor.client().command(["INFO", "stats"]).containsText("total_commands_processed:"),
            true
        )
    }

    func testDefaultSocketIsInAPrivateDirectoryAndASquattedOneIsRefused() throws {
        try requireRoot()
        let uid = Self.otherUID
        let privateDirectory = "/tmp/cachesrvd-\(uid)"
        try? FileManager.default.removeItem(atPath: privateDirectory)
        defer { try? FileManager.default.removeItem(atPath: privateDirectory) }
        let data = sharedDirectory()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let environment = ["HOME": data, "PATH": "/usr/bin:/bin"]  // no XDG_RUNTIME_DIR, no CACHESRVD_SOCKET
        let serve = asUser(uid, [ServerProcess.binary("cachesrvd"), "--data-dir", data + "/d", "--tiers", "l1"])

        // Another user made the directory first: the server refuses it rather than serve where others can reach.
        XCTAssertEqual(mkdir(privateDirectory, 0o777), 0)
        chmod(privateDirectory, 0o777)
        XCTAssertEqual(chown(privateDirectory, Self.attackerUID, gid_t(Self.attackerUID)), 0)
        let refused = try runProgram(serve[0], Array(serve.dropFirst()), environment: environment)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("refusing to use \(privateDirectory)"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("owned by uid \(Self.attackerUID)"), refused.stderr)
        try FileManager.default.removeItem(atPath: privateDirectory)

        // Without a squatter, the server creates it owner-only and listens inside.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: serve[0])
        process.arguments = Array(serve.dropFirst())
        process.environment = environment
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        let socketPath = privateDirectory + "/cachesrvd.sock"
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: socketPath), Date() < deadline, process.isRunning {
            usleep(20_000)
        }
        var info = stat()
        XCTAssertEqual(lstat(privateDirectory, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o700)
        XCTAssertEqual(info.st_uid, uid_t(uid))
        XCTAssertEqual(lstat(socketPath, &info), 0)
        XCTAssertEqual(info.st_uid, uid_t(uid))
    }

    func testRequirepass() throws {
        let directory = ServerProcess.makeTemporaryDirectory()
        let passwordFile = directory + "/password"
        XCTAssertTrue(FileManager.default.createFile(atPath: passwordFile, contents: Data("s3cret\n".utf8)))
        chmod(passwordFile, 0o644)
        let loose = try runProgram(
            ServerProcess.binary("cachesrvd"),
            ["--socket", directory + "/s.sock", "--data-dir", directory + "/data", "--requirepass-file", passwordFile]
        )
        XCTAssertNotEqual(loose.status, 0, "a password others can read is refused")
        XCTAssertTrue(loose.stderr.contains("chmod 600"), loose.stderr)
        chmod(passwordFile, 0o600)

        let server = try ServerProcess(
            arguments: ["--tiers", "l1", "--requirepass-file", passwordFile],
            directory: directory
        )
        defer {
            server.stop()
            server.removeDirectory()
        }
        let client = try server.client()
        XCTAssertEqual(try client.command(["GET", "k"]), .error("NOAUTH Authentication required."))
        // Redis's limits for clients that have not authenticated: 10 arguments, 16 KiB bulks.
        let big = try server.client()
        XCTAssertEqual(
            try big.command(["DEL"] + (0..<10).map { "k\($0)" }),
            .error("ERR Protocol error: unauthenticated multibulk length")
        )
        let long = try server.client()
        XCTAssertEqual(
            try long.command(["ECHO", String(repeating: "x", count: 16385)]),
            .error("ERR Protocol error: unauthenticated bulk length")
        )
        XCTAssertEqual(try client.command(["NOSUCH"]).errorPrefix, "ERR", "unknown commands are unknown first")
        XCTAssertEqual(
            try client.command(["HELLO", "2"]).errorPrefix,
            "NOAUTH",
            "HELLO without AUTH does not authenticate"
        )
        let wrong: RESPValue = .error("WRONGPASS invalid username-password pair or user is disabled.")
        XCTAssertEqual(try client.command(["AUTH", "nope"]), wrong)
        XCTAssertEqual(try client.command(["AUTH", "alice", "s3cret"]), wrong, "only the default user exists")
        XCTAssertEqual(try client.command(["AUTH", "a", "b", "c"]), .error("ERR syntax error"))
        XCTAssertEqual(try client.command(["AUTH", "s3cret"]), .simpleString("OK"))
        XCTAssertEqual(try client.command(["GET", "k"]), .null)

        let second = try server.client()
        XCTAssertEqual(try second.command(["HELLO", "2", "AUTH", "default", "nope"]), wrong)
        guard case .array = try second.command(["HELLO", "2", "AUTH", "default", "s3cret", "SETNAME", "rotator"]) else {
            return XCTFail("HELLO AUTH with the password answers the hello map")
        }
        XCTAssertEqual(try second.command(["CLIENT", "GETNAME"]), .bulk("rotator"))
        XCTAssertFalse(server.log.contains("s3cret"), "the password never reaches the log")
        let errors = try second.command(["INFO", "errorstats"]).text ?? ""
        XCTAssertTrue(errors.contains("errorstat_NOAUTH:count="), "access attempts show in INFO: \(errors)")
        XCTAssertTrue(errors.contains("errorstat_WRONGPASS:count="), errors)

        // SIGHUP re-reads the file: a new password for new connections, admitted ones stay admitted.
        try Data("n3w\n".utf8).write(to: URL(fileURLWithPath: passwordFile))
        kill(server.process.processIdentifier, SIGHUP)
        try waitFor { server.log.contains("SIGHUP: reloaded") }
        let third = try server.client()
        XCTAssertEqual(try third.command(["AUTH", "s3cret"]), wrong)
        XCTAssertEqual(try third.command(["AUTH", "n3w"]), .simpleString("OK"))
        XCTAssertEqual(try client.command(["PING"]), .simpleString("PONG"))

    }

    func testAReloadWithoutThePasswordFreesWaitingClients() throws {
        let directory = ServerProcess.makeTemporaryDirectory()
        let passwordFile = directory + "/password"
        XCTAssertTrue(FileManager.default.createFile(atPath: passwordFile, contents: Data("pw".utf8)))
        chmod(passwordFile, 0o600)
        let config = directory + "/cachesrvd.conf"
        try "tiers l1\nrequirepass-file \(passwordFile)\n".write(toFile: config, atomically: true, encoding: .utf8)
        let server = try ServerProcess(arguments: ["--config", config], directory: directory)
        defer {
            server.stop()
            server.removeDirectory()
        }
        let waiting = try server.client()
        XCTAssertEqual(try waiting.command(["GET", "k"]).errorPrefix, "NOAUTH")
        try "tiers l1\n".write(toFile: config, atomically: true, encoding: .utf8)
        kill(server.process.processIdentifier, SIGHUP)
        try waitFor { server.log.contains("SIGHUP: reloaded") }
        XCTAssertEqual(try waiting.command(["GET", "k"]), .null, "as in Redis: no password, no NOAUTH")
    }

    func testWithoutRequirepassAuthIsRedisDefaultUser() throws {
        let server = try ServerProcess(arguments: ["--tiers", "l1"])
        defer {
            server.stop()
            server.removeDirectory()
        }
        let client = try server.client()
        XCTAssertEqual(try client.command(["AUTH", "x"]).errorPrefix, "ERR")
        XCTAssertEqual(try client.command(["AUTH", "default", "anything"]), .simpleString("OK"))
        XCTAssertEqual(
            try client.command(["AUTH", "anyuser", "anypass"]),
            .error("WRONGPASS invalid username-password pair or user is disabled.")
        )
        XCTAssertEqual(
            try client.command(["HELLO", "2", "AUTH", "anyuser", "anypass"]),
            .error("WRONGPASS invalid username-password pair or user is disabled.")
        )
    }
}

/// Polls `condition` until it holds (no fixed sleeps), for up to 30 seconds.
func waitFor(_ condition: () throws -> Bool, file: StaticString = #filePath, line: UInt = #line) throws {
    let deadline = Date().addingTimeInterval(30)
    while Date() < deadline {
        if try condition() { return }
        usleep(20_000)
    }
    XCTFail("condition not reached in 30 s", file: file, line: line)
}

extension RESPValue {
    /// The first word of an error reply.
    var errorPrefix: String? {
        guard case .error(let message) = self else { return nil }
        return String(message.prefix { $0 != " " })
    }

    func containsText(_ text: String) -> Bool {
        self.text?.contains(text) ?? false
    }
}

import CacheProtocol
import Foundation
import NIOCore
import XCTest

/// MONITOR, CLIENT, CONFIG and COMMAND against the real server, between several clients, memory only and with the
/// disk tiers where the tiers matter.
final class ConnectionCommandsEndToEndTests: XCTestCase {
    // Set in class setUp and cleared in class tearDown, which XCTest runs serially around the tests.
    nonisolated(unsafe) private static var memoryServer: ServerProcess!
    nonisolated(unsafe) private static var diskServer: ServerProcess!

    override class func setUp() {
        super.setUp()
        memoryServer = try! ServerProcess(arguments: ["--tiers", "l1"])
        diskServer = try! ServerProcess(arguments: ["--l1-max-entries", "4"])
    }

    override class func tearDown() {
        XCTAssertEqual(memoryServer.stop(), 0)
        XCTAssertEqual(diskServer.stop(), 0)
        memoryServer.removeDirectory()
        diskServer.removeDirectory()
        super.tearDown()
    }

    private func onEveryServer(_ body: (ServerProcess, String) throws -> Void) throws {
        for (name, server) in [("memory", Self.memoryServer!), ("disk", Self.diskServer!)] {
            try body(server, name)
        }
    }

    /// Reads `client`'s next reply until `condition` holds for INFO's `section` or 10 s passed (a server learns
    /// of a closed connection a little later than the client closed it).
    private func waitForInfo(
        _ client: RawClient,
        _ section: String,
        toContain line: String,
        file: StaticString = #filePath,
        line number: UInt = #line
    ) throws {
        let deadline = Date().addingTimeInterval(10)
        var text = ""
        while Date() < deadline {
            text = try XCTUnwrap(client.command(["INFO", section]).text)
            if text.split(separator: "\r\n").contains(Substring(line)) { return }
            usleep(10_000)
        }
        XCTFail("INFO \(section) never showed \(line): \(text)", file: file, line: number)
    }

    // MARK: - MONITOR

    /// The part of a MONITOR line after its time and client, checking both are Redis's.
    private func monitored(
        _ reply: RESPValue,
        socket: String,
        file: StaticString = #filePath,
        line: UInt = #line
    )
        -> String?
    {
        guard case .simpleString(let text) = reply else {
            XCTFail("not a monitor line: \(reply)", file: file, line: line)
            return nil
        }
        let parts = text.split(separator: " ", maxSplits: 1)
        let time = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        let now = Date().timeIntervalSince1970
        guard time.count == 2, let seconds = Double(time[0]), time[1].count == 6, time[1].allSatisfy(\.isNumber),
            abs(seconds - now) < 3600, parts.count == 2, parts[1].hasPrefix("[0 unix:\(socket)] ")
        else {
            XCTFail("not Redis's monitor line: \(text)", file: file, line: line)
            return nil
        }
        return String(parts[1].dropFirst("[0 unix:\(socket)] ".count))
    }

    func testMonitorShowsOtherClientsCommandsInRedisFormat() throws {
        try onEveryServer { server, name in
            var monitor: RawClient? = try server.client()
            let other = try server.client()
            XCTAssertEqual(try monitor?.command(["MONITOR"]), .ok)

            func next() throws -> String? {
                monitored(try XCTUnwrap(monitor).readReply(), socket: server.socketPath)
            }
            XCTAssertEqual(try other.command(["SET", "k", "v"]), .ok)
            XCTAssertEqual(try next(), #""SET" "k" "v""#, name)
            XCTAssertEqual(try other.command(["GET", "k"]), .bulk("v"))
            XCTAssertEqual(try next(), #""GET" "k""#, name)

            let binary: [UInt8] = [0x00, 0xFF, 0x41, 0x22, 0x0A, 0x5C, 0x0D, 0x09, 0x7F]
            XCTAssertEqual(try other.command(bytes: [Array("SET".utf8), Array("bin".utf8), binary]), .ok)
            XCTAssertEqual(try next(), #""SET" "bin" "\x00\xffA\"\n\\\r\t\x7f""#, name)

            _ = try other.command(["AUTH", "default", "s3cret-password"])
            XCTAssertEqual(try next(), #""AUTH" "(redacted)" "(redacted)""#, name)
            _ = try other.command(["AUTH", "s3cret-password"])
            XCTAssertEqual(try next(), #""AUTH" "(redacted)""#, name)
            XCTAssertFalse(try other.command(["HELLO", "3", "AUTH", "default", "s3cret", "SETNAME", "me"]).isError)
            XCTAssertEqual(
                try next(),
                #""HELLO" "3" "AUTH" "(redacted)" "(redacted)" "SETNAME" "me""#,
                name
            )
            XCTAssertEqual(try other.command(["HSET", "p", "password", "s3cret"]), .integer(1))
            XCTAssertEqual(try next(), #""HSET" "p" "password" "(redacted)""#, name)

            // Administration is not shown: the next line is the ECHO's.
            XCTAssertFalse(try other.command(["CONFIG", "GET", "maxclients"]).isError)
            XCTAssertEqual(try other.command(["ECHO", "marker"]), .bulk("marker"))
            XCTAssertEqual(try next(), #""ECHO" "marker""#, name)

            // Closing the monitor frees it.
            let info = try server.client()
            try waitForInfo(info, "clients", toContain: "monitors:1")
            monitor = nil
            try waitForInfo(info, "clients", toContain: "monitors:0")
            XCTAssertEqual(try other.command(["PING"]), .simpleString("PONG"))
        }
    }

    func testMonitorIsRefusedInsideMulti() throws {
        let client = try Self.memoryServer.client()
        XCTAssertEqual(try client.command(["MULTI"]), .ok)
        XCTAssertEqual(try client.command(["MONITOR"]), .error("ERR Command not allowed inside a transaction"))
        XCTAssertEqual(
            try client.command(["EXEC"]),
            .error("EXECABORT Transaction discarded because of previous errors.")
        )
    }

    // MARK: - CLIENT

    private func clientID(_ client: RawClient) throws -> Int64 {
        guard case .integer(let id) = try client.command(["CLIENT", "ID"]) else {
            throw RawClientError.io("CLIENT ID")
        }
        return id
    }

    /// A CLIENT LIST / CLIENT INFO line as ordered `field=value` pairs.
    private func fields(_ line: some StringProtocol) -> [(String, String)] {
        line.split(separator: " ").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
    }

    private func info(_ client: RawClient) throws -> [String: String] {
        let text = try XCTUnwrap(client.command(["CLIENT", "INFO"]).text)
        return Dictionary(fields(text.trimmingCharacters(in: .newlines)), uniquingKeysWith: { first, _ in first })
    }

    func testClientKillByIDClosesThatConnection() throws {
        let victim = try Self.memoryServer.client()
        let killer = try Self.memoryServer.client()
        let id = try clientID(victim)
        XCTAssertEqual(try killer.command(["CLIENT", "KILL", "ID", String(id)]), .integer(1))
        XCTAssertEqual(try victim.readUntilClosed(), "", "closed without a reply")
        XCTAssertEqual(try killer.command(["CLIENT", "KILL", "ID", String(id)]), .integer(0), "already gone")
        XCTAssertEqual(try killer.command(["PING"]), .simpleString("PONG"))
        let listed = try XCTUnwrap(killer.command(["CLIENT", "LIST", "ID", String(id)]).text)
        XCTAssertEqual(listed, "")
    }

    func testClientKillSkipsTheCallerUnlessSkipmeNo() throws {
        let client = try Self.memoryServer.client()
        let id = String(try clientID(client))
        XCTAssertEqual(try client.command(["CLIENT", "KILL", "ID", id]), .integer(0), "SKIPME yes by default")
        XCTAssertEqual(try client.command(["CLIENT", "KILL", "ID", id, "SKIPME", "yes"]), .integer(0))
        XCTAssertEqual(try client.command(["PING"]), .simpleString("PONG"))
        XCTAssertEqual(try client.command(["CLIENT", "KILL", "ID", id, "SKIPME", "maybe"]), .error("ERR syntax error"))
        XCTAssertEqual(try client.command(["CLIENT", "KILL", "ID", id, "SKIPME", "no"]), .integer(1))
        XCTAssertEqual(try client.readUntilClosed(), "", "closed after its reply")
    }

    func testClientListHasRedis7FieldsAndRespAfterHello3() throws {
        let server = Self.memoryServer!
        let client = try server.client()
        let other = try server.client()
        XCTAssertEqual(try other.command(["CLIENT", "SETNAME", "worker"]), .ok)
        let otherID = try clientID(other)
        let text = try XCTUnwrap(client.command(["CLIENT", "LIST"]).text)
        let lines = text.split(separator: "\n")
        XCTAssertGreaterThanOrEqual(lines.count, 2)
        let redis7 = [
            "id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "sub", "psub", "ssub", "multi", "qbuf",
            "qbuf-free", "argv-mem", "multi-mem", "rbs", "rbp", "obl", "oll", "omem", "tot-mem", "events", "cmd",
            "user", "redir", "resp",
        ]
        for line in lines {
            XCTAssertEqual(Array(fields(line).map(\.0).prefix(redis7.count)), redis7, String(line))
        }
        let otherLine = try XCTUnwrap(lines.first { $0.hasPrefix("id=\(otherID) ") })
        let listed = Dictionary(fields(otherLine), uniquingKeysWith: { first, _ in first })
        XCTAssertEqual(listed["name"], "worker")
        XCTAssertEqual(listed["addr"], server.socketPath + ":0")
        XCTAssertEqual(listed["cmd"], "client|id", "its last command")
        XCTAssertEqual(listed["multi"], "-1")
        XCTAssertEqual(listed["resp"], "2")

        XCTAssertFalse(try other.command(["HELLO", "3"]).isError)
        XCTAssertEqual(try info(other)["resp"], "3")
        XCTAssertEqual(try info(other)["cmd"], "client|info")
        let seen = try XCTUnwrap(client.command(["CLIENT", "LIST", "ID", String(otherID)]).text)
        XCTAssertEqual(
            Dictionary(fields(seen.trimmingCharacters(in: .newlines)), uniquingKeysWith: { a, _ in a })["resp"],
            "3"
        )
    }

    func testClientNoEvictAndNoTouchAreShownInFlags() throws {
        let client = try Self.memoryServer.client()
        XCTAssertEqual(try info(client)["flags"]?.contains("e"), false)
        XCTAssertEqual(try client.command(["CLIENT", "NO-EVICT", "on"]), .ok)
        XCTAssertEqual(try info(client)["flags"]?.contains("e"), true)
        XCTAssertEqual(try client.command(["CLIENT", "NO-EVICT", "OFF"]), .ok)
        XCTAssertEqual(try info(client)["flags"]?.contains("e"), false)
        XCTAssertEqual(try client.command(["CLIENT", "NO-EVICT", "maybe"]), .error("ERR syntax error"))
        XCTAssertEqual(
            try client.command(["CLIENT", "NO-EVICT"]),
            .error("ERR wrong number of arguments for 'client|no-evict' command")
        )
        XCTAssertEqual(try client.command(["CLIENT", "NO-TOUCH", "on"]), .ok)
        XCTAssertEqual(try info(client)["flags"]?.contains("T"), true)
        XCTAssertEqual(try client.command(["CLIENT", "NO-TOUCH", "off"]), .ok)
        XCTAssertEqual(try info(client)["flags"]?.contains("T"), false)
    }
}

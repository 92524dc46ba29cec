import Foundation
import XCTest

/// The real cachectl binary against the real server: the round trip a script makes, and the exit codes.
final class CachectlEndToEndTests: XCTestCase {
    func testRoundTripPutGetHealthStatsWarmExport() throws {
        let server = try ServerProcess()
        defer {
            XCTAssertEqual(server.stop(), 0)
            server.removeDirectory()
        }
        let socket = server.socketPath
        func ctl(_ arguments: String...) throws -> ProgramResult { try runCachectl(arguments, socket: socket) }

        XCTAssertEqual(try ctl("ping").stdout, "PONG\n")
        let put = try ctl("put", "http://1.2.3.4:8080", "--username", "alice", "--password", "pw1", "--source", "feedA")
        XCTAssertEqual(put.status, 0, put.stderr)
        XCTAssertEqual(put.stdout, "fe229370330820fe\n", "proxywhirl's key derivation")
        XCTAssertEqual(try ctl("get", "fe229370330820fe").stdout, "http://1.2.3.4:8080\n")
        let all = try ctl("get", "fe229370330820fe", "--all", "--json")
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(all.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["username"] as? String, "alice")
        XCTAssertEqual(object["source"] as? String, "feedA")
        XCTAssertEqual(try ctl("health", "fe229370330820fe", "fail", "--error", "timeout").stdout, "unhealthy\n")
        XCTAssertEqual(try ctl("health", "fe229370330820fe", "ok", "--response-ms", "80").stdout, "healthy\n")
        let history = try ctl("history", "fe229370330820fe")
        XCTAssertEqual(history.stdout.split(separator: "\n").count, 2)
        XCTAssertTrue(history.stdout.contains("timeout"))
        let stats = try ctl("stats", "--json")
        let figures = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(figures["l1_size"] as? Int, 1)

        // Warm 10,000 rows of CSV, as proxywhirl reads them.
        var csv = "proxy_url,username,password,source\n"
        for index in 0..<10_000 {
            csv += "http://10.\(index / 65_536).\(index / 256 % 256).\(index % 256):3128,"
            csv += index % 2 == 0 ? "user\(index),\"pa,ss\(index)\",listA\n" : ",,listB\n"
        }
        csv += ",,,no-url\n"
        let csvPath = server.directory + "/proxies.csv"
        try csv.write(toFile: csvPath, atomically: true, encoding: .utf8)
        let warm = try ctl("warm", csvPath)
        XCTAssertEqual(warm.status, 0, warm.stderr)
        XCTAssertEqual(warm.stdout, "loaded 10000, skipped 1, failed 0\n")
        XCTAssertEqual(try ctl("size").stdout, "10001\n")

        // Export without and with credentials.
        let plainPath = server.directory + "/plain.jsonl"
        XCTAssertEqual(try ctl("export", plainPath).status, 0)
        let plain = try String(contentsOfFile: plainPath, encoding: .utf8)
        XCTAssertEqual(plain.split(separator: "\n").count, 10_001)
        XCTAssertFalse(plain.contains("pa,ss"), "credentials only with --include-credentials")
        let fullPath = server.directory + "/full.jsonl"
        XCTAssertEqual(try ctl("export", fullPath, "--include-credentials").status, 0)
        let full = try String(contentsOfFile: fullPath, encoding: .utf8)
        XCTAssertTrue(full.contains("\"password\":\"pa,ss42\""))

        // The export warms back in, credentials included.
        XCTAssertEqual(try ctl("clear").status, 0)
        XCTAssertEqual(try ctl("size").stdout, "0\n")
        let rewarm = try ctl("warm", fullPath)
        XCTAssertEqual(rewarm.stdout, "loaded 10001, skipped 0, failed 0\n", rewarm.stderr)
        XCTAssertEqual(try ctl("get", "fe229370330820fe", "--all").stdout.contains("password pw1"), true)
    }

    /// Keys and values of any bytes: given on the command line (bash's `$'\xfe'`), printed raw, exported as
    /// `{"base64": ...}` and read back by warm.
    func testBinaryKeysAndValuesPassThroughUnchanged() throws {
        let server = try ServerProcess()
        defer {
            XCTAssertEqual(server.stop(), 0)
            server.removeDirectory()
        }
        let cachectl = ServerProcess.binary("cachectl")
        let directory = server.directory
        func shell(_ script: String) throws -> (status: Int32, stdout: [UInt8]) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = ["-c", "export CACHESRVD_SOCKET='\(server.socketPath)'; cd '\(directory)'; " + script]
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            let bytes = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, Array(bytes))
        }
        XCTAssertEqual(try shell("'\(cachectl)' put --key $'k\\xfe' $'http://h\\xff:1'").status, 0)
        let client = try server.client()
        XCTAssertEqual(
            try client.command(bytes: [Array("GET".utf8), [0x6B, 0xFE]]),
            .bulkString(Array("http://h".utf8) + [0xFF] + Array(":1".utf8))
        )
        XCTAssertEqual(
            try shell("'\(cachectl)' get $'k\\xfe'").stdout,
            Array("http://h".utf8) + [0xFF] + Array(":1\n".utf8)
        )
        XCTAssertEqual(try shell("'\(cachectl)' keys").stdout, [0x6B, 0xFE, 0x0A])
        XCTAssertEqual(try shell("'\(cachectl)' export out.jsonl").status, 0)
        let exported = try String(contentsOfFile: directory + "/out.jsonl", encoding: .utf8)
        XCTAssertTrue(
            exported.hasPrefix(#"{"key":{"base64":"a/4="},"proxy_url":{"base64":"aHR0cDovL2j/OjE="}"#),
            exported
        )
        XCTAssertEqual(try client.command(["FLUSHALL"]), .ok)
        XCTAssertEqual(try shell("'\(cachectl)' warm out.jsonl").status, 0)
        XCTAssertEqual(
            try client.command(bytes: [Array("GET".utf8), [0x6B, 0xFE]]),
            .bulkString(Array("http://h".utf8) + [0xFF] + Array(":1".utf8))
        )
    }

    func testWarmCountsALineThatIsNotJSONAsFailed() throws {
        let server = try ServerProcess(arguments: ["--tiers", "l1"])
        defer {
            XCTAssertEqual(server.stop(), 0)
            server.removeDirectory()
        }
        let path = server.directory + "/rows.jsonl"
        let lines = #"{"proxy_url":"http://1.1.1.1:80"}"# + "\n\n{oops\n" + #"{"source":"x"}"# + "\n"
        try lines.write(toFile: path, atomically: true, encoding: .utf8)
        let warm = try runCachectl(["warm", path], socket: server.socketPath)
        XCTAssertEqual(warm.stdout, "loaded 1, skipped 1, failed 1\n")
        XCTAssertEqual(warm.status, 2, "a failed row")
        XCTAssertTrue(warm.stderr.contains("line 3 is not valid JSON: counted as failed"), warm.stderr)
        XCTAssertEqual(try runCachectl(["size"], socket: server.socketPath).stdout, "1\n", "the good row is loaded")
    }

    func testExitCodes() throws {
        let server = try ServerProcess(arguments: ["--tiers", "l1"])
        defer {
            XCTAssertEqual(server.stop(), 0)
            server.removeDirectory()
        }
        let socket = server.socketPath
        XCTAssertEqual(try runCachectl(["get", "missing"], socket: socket).status, 1, "not found")
        XCTAssertEqual(try runCachectl(["ttl", "missing"], socket: socket).status, 1, "not found")
        let error = try runCachectl(["raw", "HSET", "k", "access_count", "many"], socket: socket)
        XCTAssertEqual(error.status, 2, "server error")
        XCTAssertTrue(error.stderr.contains("ERR"), error.stderr)
        XCTAssertEqual(try runCachectl(["health", "k", "maybe"], socket: socket).status, 64, "usage")
        let absent = try runCachectl(["ping"], socket: server.directory + "/nothing.sock")
        XCTAssertEqual(absent.status, 69, "cannot connect")
        XCTAssertTrue(absent.stderr.contains("nothing.sock"), absent.stderr)
        let raw = try runCachectl(["raw", "SET", "k", "http://k:1"], socket: socket)
        XCTAssertEqual(raw.stdout, "OK\n")
        XCTAssertEqual(try runCachectl(["del", "k", "x"], socket: socket).stdout, "1\n")
    }
}

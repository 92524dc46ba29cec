import Foundation
import XCTest

/// Secrets outside the credential fields, with the real binaries: a password inside `proxy_url` and URL
/// passwords in health texts never reach the data directory, an export without credentials or the log;
/// an open key file keeps the server from starting.
final class SecretsEndToEndTests: XCTestCase {
    private let secret = "Pw-SECRET-91b2"

    /// Every byte of every file under `directory`.
    private func bytes(under directory: String) -> Data {
        var data = Data()
        let enumerator = FileManager.default.enumerator(atPath: directory)
        while let name = enumerator?.nextObject() as? String {
            data += FileManager.default.contents(atPath: directory + "/" + name) ?? Data()
        }
        return data
    }

    func testAURLPasswordStaysOffDiskAndOutOfExports() throws {
        for backend in ["sqlite", "jsonl"] {
            let server = try ServerProcess(arguments: ["--l2-backend", backend, "--l1-max-entries", "1"])
            defer { server.removeDirectory() }
            let url = "http://alice:\(secret)@10.9.0.1:3128"
            let client = try server.client()
            XCTAssertEqual(try client.command(["PUT", "k", url, "password", "field-pw"]), .ok)
            // A second key pushes k out of L1 (size 1): the next GET reads it back from disk.
            XCTAssertEqual(try client.command(["PUT", "other", "http://10.9.0.2:3128"]), .ok)
            XCTAssertEqual(try client.command(["GET", "k"]), .bulk(url), "\(backend): the bytes stored")
            let health = try client.command([
                "HEALTH", "k", "fail", "120", "CONNECT http://bob:\(secret)@10.9.0.1:3128 refused",
                "https://carol:\(secret)@check.example/ip",
            ])
            XCTAssertEqual(health, .simpleString("unhealthy"))
            XCTAssertEqual(
                try client.command(["HGET", "k", "last_health_error"]),
                .bulk("CONNECT http://bob:***@10.9.0.1:3128 refused")
            )
            guard case .array(let history?) = try client.command(["HISTORY", "k"]),
                case .array(let row?)? = history.first
            else { return XCTFail("\(backend): no history") }
            XCTAssertEqual(row[3], .bulk("CONNECT http://bob:***@10.9.0.1:3128 refused"))
            XCTAssertEqual(row[4], .bulk("https://carol:***@check.example/ip"))

            let plainPath = server.directory + "/plain.jsonl"
            let plain = try runCachectl(["export", plainPath], socket: server.socketPath)
            XCTAssertEqual(plain.status, 0, plain.stderr)
            let exported = try String(contentsOfFile: plainPath, encoding: .utf8)
            XCTAssertTrue(exported.contains("\"proxy_url\":\"http://alice:***@10.9.0.1:3128\""), exported)
            XCTAssertFalse(exported.contains(secret), "\(backend): export without credentials")
            let fullPath = server.directory + "/full.jsonl"
            XCTAssertEqual(
                try runCachectl(["export", fullPath, "--include-credentials"], socket: server.socketPath).status,
                0
            )
            XCTAssertTrue(try String(contentsOfFile: fullPath, encoding: .utf8).contains(url), "asked for credentials")

            XCTAssertEqual(server.stop(), 0)
            let onDisk = bytes(under: server.dataDirectory)
            XCTAssertFalse(onDisk.isEmpty)
            XCTAssertNil(onDisk.range(of: Data(secret.utf8)), "\(backend): no file of the data directory holds it")
            XCTAssertNotNil(onDisk.range(of: Data("alice:***@10.9.0.1".utf8)), "\(backend): the masked URL is")
            XCTAssertFalse(server.log.contains(secret), "\(backend): the log")

            // A restart reads the exact URL back from the disk tiers.
            let again = try ServerProcess(arguments: ["--l2-backend", backend], directory: server.directory)
            defer { _ = again.stop() }
            XCTAssertEqual(try again.client().command(["GET", "k"]), .bulk(url), "\(backend): after a restart")
        }
    }

    func testAKeyFileOthersCanReadKeepsTheServerFromStarting() throws {
        let directory = ServerProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let keyFile = directory + "/server.key"
        let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        try key.write(toFile: keyFile, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(keyFile, 0o640), 0)
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "CACHESRVD_ENCRYPTION_KEY")
        // `timeout` bounds a server that would wrongly start.
        let refused = try runProgram(
            "/usr/bin/timeout",
            [
                "20", ServerProcess.binary("cachesrvd"), "--socket", directory + "/s.sock", "--data-dir",
                directory + "/data", "--key-file", keyFile,
            ],
            environment: environment
        )
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertNotEqual(refused.status, 124, "it started instead of refusing")
        let output = refused.stdout + refused.stderr
        XCTAssertTrue(output.contains("mode 0640 lets its group access it"), output)
        XCTAssertTrue(output.contains("chmod 600 \(keyFile)"), output)
        XCTAssertFalse(output.contains(key))

        XCTAssertEqual(chmod(keyFile, 0o600), 0)
        let server = try ServerProcess(arguments: ["--key-file", keyFile], directory: directory)
        XCTAssertEqual(try server.client().command(["PING"]), .simpleString("PONG"))
        XCTAssertEqual(server.stop(), 0)
    }
}

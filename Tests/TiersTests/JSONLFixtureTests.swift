import Foundation
import Logging
import XCTest

@testable import Tiers

/// A temporary directory and entry helpers shared by the JSONL and import tests.
class JSONLTestCase: XCTestCase {
    var directory: String!
    let logger = Logger(label: "jsonl-test")
    let cipher = CredentialCipher(current: .generate())

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("jsonl-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func makeStore(_ fsync: FsyncPolicy = .always, cipher: CredentialCipher? = nil) throws -> JSONLStore {
        try JSONLStore(directory: directory, cipher: cipher ?? self.cipher, fsync: fsync, logger: logger)
    }

    func entry(
        _ key: String,
        now: Double = 1_764_039_600.123456,
        ttl: Int? = 3600,
        username: String? = "user-\(UUID().uuidString.prefix(4))",
        password: String? = "pass"
    ) -> CacheEntry {
        CacheEntry(
            key: key,
            proxyURL: "http://10.0.0.1:8080/\(key)",
            username: username,
            password: password,
            source: "test",
            now: now,
            ttlSeconds: ttl
        )
    }

    /// The non-empty lines of a shard file.
    func lines(ofShard number: Int) throws -> [String] {
        let path = String(format: "%@/shard_%02d.jsonl", directory, number)
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    func shardOf(_ key: String) -> Int {
        JSONLShard.locate(key).shard
    }

    /// Runs python3 with `script`; skips the test when python3 is missing.
    func runPython(_ script: String, arguments: [String] = []) throws -> String {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
            .map { "\($0)/python3" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let path else { throw XCTSkip("python3 is not installed") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["-c", script] + arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            let message = String(decoding: stderr, as: UTF8.self)
            if message.contains("No module named 'cryptography'") {
                throw XCTSkip("python package 'cryptography' is not installed")
            }
            XCTFail("python3 failed: \(message)")
        }
        return String(decoding: stdout, as: UTF8.self)
    }
}

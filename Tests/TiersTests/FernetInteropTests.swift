import Foundation
import XCTest

@testable import Tiers

/// Runs `scripts/fernet_interop.py` (Python's `cryptography.fernet`) against our Fernet, both ways.
final class FernetInteropTests: XCTestCase {
    private static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/fernet_interop.py").path

    func testPythonDecryptsOurTokens() throws {
        try skipUnlessPythonCryptography()
        let key = FernetKey.generate()
        let cipher = CredentialCipher(current: key)
        for secret in ["proxy-user", "p@ss:wörd/✓", ""] {
            let result = try Self.run(["decrypt", key.base64URL, cipher.encrypt(secret)])
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertEqual(result.stdout, secret)
        }
    }

    func testWeDecryptPythonTokens() throws {
        try skipUnlessPythonCryptography()
        let generated = try Self.run(["genkey"])
        XCTAssertEqual(generated.status, 0, generated.stderr)
        let key = try FernetKey(base64URL: generated.stdout)
        let cipher = CredentialCipher(current: .generate(), previous: [key])
        for secret in ["proxy-pass", "ünïcode ✓ secret", ""] {
            let result = try Self.run(["encrypt", key.base64URL, secret])
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertEqual(try cipher.decrypt(result.stdout), secret)
        }
    }

    func testPythonRejectsATamperedToken() throws {
        try skipUnlessPythonCryptography()
        let key = FernetKey.generate()
        var raw = try XCTUnwrap(Base64URL.decode(CredentialCipher(current: key).encrypt("secret")))
        raw[30] ^= 0x40
        let result = try Self.run(["decrypt", key.base64URL, Base64URL.encode(raw)])
        XCTAssertEqual(result.status, 1)
    }

    private func skipUnlessPythonCryptography() throws {
        guard let python = Self.python3 else { throw XCTSkip("python3 is not installed") }
        let probe = try Self.run([], executable: python, arguments: ["-c", "import cryptography.fernet"])
        if probe.status != 0 {
            throw XCTSkip("python package 'cryptography' is not installed")
        }
    }

    private static let python3: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/python3"
            if FileManager.default.isExecutableFile(atPath: candidate) {
                return candidate
            }
        }
        return nil
    }()

    private static func run(
        _ scriptArguments: [String],
        executable: String? = nil,
        arguments: [String]? = nil
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable ?? python3 ?? "/usr/bin/python3")
        process.arguments = arguments ?? ([script] + scriptArguments)
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (
            process.terminationStatus,
            String(decoding: stdout, as: UTF8.self).trimmingCharacters(in: .newlines),
            String(decoding: stderr, as: UTF8.self)
        )
    }
}

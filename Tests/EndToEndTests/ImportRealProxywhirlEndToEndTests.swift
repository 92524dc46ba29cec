import Foundation
import XCTest

/// `cachesrvd import-proxywhirl` of a cache made by the real proxywhirl 0.3.3 (`scripts/proxywhirl_switched_cache.py`)
/// after its `l2_backend` was switched from jsonl to sqlite: every field survives, the health fields too.
final class ImportRealProxywhirlEndToEndTests: XCTestCase {
    /// The environment variable naming a python3 that has proxywhirl 0.3.3, when it is not the one on PATH.
    static let pythonVariable = "CACHESRVD_TEST_PROXYWHIRL_PYTHON"

    func testBothL2BackendsMergeFieldByField() throws {
        let python = try Self.requireProxywhirl()
        let base = ServerProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/proxywhirl_switched_cache.py").path
        let made = try runProgram(python, [script, base, key], environment: nil, in: base)
        XCTAssertEqual(made.status, 0, made.stderr)
        let expected = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(made.stdout.utf8)) as? [String: [String: String]]
        )
        XCTAssertEqual(expected.count, 6)
        XCTAssertTrue(FileManager.default.fileExists(atPath: base + "/.cache/proxies/l2_cache.db"), "both backends")

        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "CACHESRVD_ENCRYPTION_KEY")
        environment["PROXYWHIRL_CACHE_ENCRYPTION_KEY"] = key
        let imported = try runProgram(
            ServerProcess.binary("cachesrvd"),
            ["import-proxywhirl", "--socket", base + "/s.sock", "--data-dir", base + "/data"],
            environment: environment,
            in: base
        )
        XCTAssertEqual(imported.status, 0, imported.stderr)
        XCTAssertEqual(imported.stdout, "imported 6, skipped 0\n")

        let server = try ServerProcess(directory: base)
        defer { _ = server.stop() }
        let client = try server.client()
        for (entryKey, fields) in expected.sorted(by: { $0.key < $1.key }) {
            guard case .array(let items?) = try client.command(["HGETALL", entryKey]) else {
                XCTFail("\(entryKey) was not imported")
                continue
            }
            var got = [String: String]()
            for index in stride(from: 0, to: items.count - 1, by: 2) {
                got[items[index].text ?? ""] = items[index + 1].text
            }
            for (field, value) in fields.sorted(by: { $0.key < $1.key }) {
                switch field {
                case "last_health_check", "next_check_time":
                    XCTAssertEqual(
                        got[field].flatMap(Double.init)?.rounded(.down),
                        Double(value),
                        "\(entryKey) \(field)"
                    )
                case "access_count":
                    XCTAssertEqual(got[field], String(Int(value)! + 1), "\(entryKey): imported, plus this read's hit")
                default:
                    XCTAssertEqual(got[field], value, "\(entryKey) \(field)")
                }
            }
        }
    }

    /// A python3 that imports proxywhirl 0.3.3: `$CACHESRVD_TEST_PROXYWHIRL_PYTHON`, else the first on PATH.
    static func requireProxywhirl() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        var candidates = (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map { "\($0)/python3" }
        if let explicit = environment[pythonVariable] { candidates.insert(explicit, at: 0) }
        let probe = "import importlib.metadata as m, sys; sys.exit(m.version('proxywhirl') != '0.3.3')"
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) {
            if try runProgram(candidate, ["-c", probe], environment: nil, in: nil).status == 0 { return candidate }
        }
        throw XCTSkip(
            "proxywhirl 0.3.3 is not installed: pip install proxywhirl==0.3.3, or set \(pythonVariable) to a python3 that has it"
        )
    }
}

import Foundation
import XCTest

/// The real proxywhirl 0.3.3 reads the disk tiers a cachesrvd wrote (`scripts/proxywhirl_read_cachesrvd.py`): its own
/// `SQLiteCacheTier.get` on L3 and `DiskCacheTier.get` on the SQLite L2, which map `SELECT *` by position, decrypt
/// the credentials with cachesrvd's generated key file, and see every field cachesrvd holds for them.
final class ProxywhirlReadsCachesrvdEndToEndTests: XCTestCase {
    func testProxywhirlReadsEntriesFromOurL3AndL2() throws {
        let python = try ImportRealProxywhirlEndToEndTests.requireProxywhirl()
        // Write-through, as proxywhirl keeps its L2: every entry is in both files (a victim L2 holds only what L1
        // evicted).
        let server = try ServerProcess(arguments: ["--l2-mode", "write-through"])
        defer { server.removeDirectory() }
        let client = try server.client()
        let put = [
            "PUT", "p1", "http://10.9.0.1:3128", "username", "alice", "password", "s3cret pw é", "source", "feedA",
            "ttl_seconds", "7200",
        ]
        XCTAssertEqual(try client.command(put), .ok)
        XCTAssertEqual(
            try client.command(["HEALTH", "p1", "fail", "1200", "connect timeout", "https://check.example"]),
            .simpleString("unhealthy")
        )
        // Columns proxywhirl lacks (custom fields, the sealed URL) come after its own and do not disturb it.
        XCTAssertFalse(try client.command(["HSET", "p1", "country", "de", "recovery_attempt", "2"]).isError)
        XCTAssertEqual(try client.command(["PUT", "p2", "http://bob:url-secret@10.9.0.2:3128"]), .ok)
        let ours = try fields(of: "p1", client)
        XCTAssertEqual(server.stop(), 0, server.log)

        let key = try String(contentsOfFile: server.dataDirectory + "/encryption.key", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/proxywhirl_read_cachesrvd.py").path
        let read = try runProgram(python, [script, server.dataDirectory, key, "p1", "p2", "absent"])
        XCTAssertEqual(read.status, 0, read.stderr)
        let tiers = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(read.stdout.utf8)) as? [String: [String: Any]],
            read.stdout
        )

        for tier in ["l3", "l2"] {
            let entries = try XCTUnwrap(tiers[tier], tier)
            let p1 = try XCTUnwrap(entries["p1"] as? [String: Any], "\(tier): \(read.stdout)")
            XCTAssertEqual(p1["key"] as? String, "p1", tier)
            XCTAssertEqual(p1["proxy_url"] as? String, "http://10.9.0.1:3128", tier)
            XCTAssertEqual(p1["username"] as? String, "alice", "\(tier): decrypted with our key file")
            XCTAssertEqual(p1["password"] as? String, "s3cret pw é", tier)
            XCTAssertEqual(p1["source"] as? String, "feedA", tier)
            XCTAssertEqual(p1["ttl_seconds"] as? Int, 7200, tier)
            XCTAssertEqual(p1["health_status"] as? String, "unhealthy", tier)
            XCTAssertEqual(p1["failure_count"] as? Int, 1, tier)
            XCTAssertEqual(p1["evicted_from_l1"] as? Bool, false, tier)
            for time in ["fetch_time", "last_accessed", "expires_at"] {
                let theirs = try XCTUnwrap(p1[time] as? Double, "\(tier) \(time)")
                let expected = try XCTUnwrap(ours[time].flatMap(Double.init), "HGET \(time)")
                XCTAssertEqual(theirs, expected, accuracy: 0.001, "\(tier) \(time)")
            }
            let p2 = try XCTUnwrap(entries["p2"] as? [String: Any], "\(tier): \(read.stdout)")
            XCTAssertEqual(p2["proxy_url"] as? String, "http://bob:***@10.9.0.2:3128", "\(tier): the password sealed")
            XCTAssertTrue(entries["absent"] is NSNull, tier)
        }

        // Only L3 has the health-monitoring columns in proxywhirl's schema.
        let p1 = try XCTUnwrap(tiers["l3"]?["p1"] as? [String: Any])
        XCTAssertEqual(p1["last_health_error"] as? String, "connect timeout")
        XCTAssertEqual(p1["consecutive_health_failures"] as? Int, 1)
        XCTAssertEqual(p1["total_health_checks"] as? Int, 1)
        XCTAssertEqual(p1["total_health_check_failures"] as? Int, 1)
        XCTAssertEqual(p1["recovery_attempt"] as? Int, 2)
        let checked = try XCTUnwrap(p1["last_health_check"] as? Double)
        XCTAssertEqual(checked, try XCTUnwrap(ours["last_health_check"].flatMap(Double.init)), accuracy: 0.001)
    }

    /// HGETALL of `key` as a field -> value map.
    private func fields(of key: String, _ client: RawClient) throws -> [String: String] {
        guard case .array(let items?) = try client.command(["HGETALL", key]) else {
            XCTFail("HGETALL \(key) is not an array")
            return [:]
        }
        var result: [String: String] = [:]
        for index in stride(from: 0, to: items.count - 1, by: 2) {
            result[items[index].text ?? ""] = items[index + 1].text
        }
        return result
    }
}

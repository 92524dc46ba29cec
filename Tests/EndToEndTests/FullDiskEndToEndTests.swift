import CacheProtocol
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A disk that fills up under `--fsync always`: the data directory on a small tmpfs (root only; skipped where
/// mounting is not allowed).
final class FullDiskEndToEndTests: XCTestCase {
    private func mountTmpfs(_ path: String, size: String, remount: Bool = false) throws -> Bool {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", (remount ? "remount," : "") + "size=\(size)", "tmpfs", path]
        mount.standardError = FileHandle.nullDevice
        try mount.run()
        mount.waitUntilExit()
        return mount.terminationStatus == 0
    }

    private func unmount(_ path: String) {
        let umount = Process()
        umount.executableURL = URL(fileURLWithPath: "/bin/umount")
        umount.arguments = [path]
        try? umount.run()
        umount.waitUntilExit()
    }

    func testFullDiskNeverAcknowledgesALostWriteAndKeepsServing() throws {
        let directory = ServerProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let data = directory + "/data"
        guard getuid() == 0, try mountTmpfs(data, size: "1m") else {
            throw XCTSkip("needs root and tmpfs mounts")
        }
        defer { unmount(data) }
        let server = try ServerProcess(
            arguments: ["--fsync", "always", "--l1-max-entries", "100000"],
            directory: directory
        )
        let padding = String(repeating: "p", count: 4000)
        var acknowledged: [String] = []
        var refused = false
        var client = try server.client()
        for index in 0..<2_000 {
            let key = "full\(index)"
            let reply: RESPValue
            do {
                reply = try client.command(["PUT", key, "http://10.0.0.1:\(index)/\(padding)"])
            } catch RawClientError.closed {
                refused = true
                break
            }
            if reply == .ok {
                acknowledged.append(key)
            } else {
                guard case .error(let message) = reply else {
                    XCTFail("neither OK nor an error: \(reply)")
                    break
                }
                XCTAssertTrue(message.hasPrefix("IOERR") && message.contains("could not be persisted"), message)
                refused = true
                break
            }
        }
        XCTAssertTrue(refused, "a 1 MB disk took 8 MB of writes")
        XCTAssertGreaterThan(acknowledged.count, 10)

        // More failed writes disable the disk tiers (--tier-failure-threshold 3); the server keeps serving reads
        // from memory and INFO says the tiers are degraded.
        for attempt in 0..<3 {
            client = try server.client()
            let reply = try client.command(["PUT", "more\(attempt)", "http://10.0.0.2:1/\(padding)"])
            XCTAssertNotEqual(reply, .ok)
        }
        client = try server.client()
        XCTAssertEqual(try client.command(["GET", acknowledged[0]]).text?.hasPrefix("http://10.0.0.1:0/"), true)
        let info = try XCTUnwrap(client.command(["INFO", "cache"]).text)
        XCTAssertTrue(info.contains("l2_degraded:1\r\n"), info)
        XCTAssertTrue(info.contains("l3_degraded:1\r\n"), info)
        let persistence = try XCTUnwrap(client.command(["INFO", "persistence"]).text)
        XCTAssertTrue(persistence.contains("l3_status:degraded"), persistence)
        server.crash()

        // Give the disk room again and restart: every acknowledged write is on the disk.
        XCTAssertTrue(try mountTmpfs(data, size: "16m", remount: true))
        let restarted = try ServerProcess(arguments: ["--fsync", "always"], directory: directory)
        defer { restarted.stop() }
        let reader = try restarted.client()
        var missing: [String] = []
        for key in acknowledged {
            if try reader.command(["EXISTS", key]) != .integer(1) { missing.append(key) }
        }
        XCTAssertEqual(missing, [], "acknowledged but not persisted")
    }
}

import CacheProtocol
import Foundation
import PostgresTestSupport
import XCTest

/// A measurement, not a test (skipped unless `CACHESRVD_MEASURE_STALENESS=1`): how long after a SET is acknowledged
/// by sidecar A does sidecar B, which holds the key's old value in its L1, first answer the new value. Printed as
/// median, p99 and max per `--fsync` policy; docs/design.md quotes it.
final class PostgresFleetStalenessMeasurement: XCTestCase {
    func testMeasureTheStalenessWindowBetweenTwoSidecars() throws {
        guard ProcessInfo.processInfo.environment["CACHESRVD_MEASURE_STALENESS"] == "1" else {
            throw XCTSkip("a measurement: set CACHESRVD_MEASURE_STALENESS=1 to run it")
        }
        let cluster = try ThrowawayPostgres.startOrSkip()
        defer { cluster.stop() }
        let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        let rounds = Int(ProcessInfo.processInfo.environment["CACHESRVD_MEASURE_ROUNDS"] ?? "") ?? 300
        // `--fleet-apply-delay` (default 0.005 s) can be changed with CACHESRVD_MEASURE_FLEET_DELAY.
        let delay = ProcessInfo.processInfo.environment["CACHESRVD_MEASURE_FLEET_DELAY"].map {
            ["--fleet-apply-delay", $0]
        }
        for fsync in ["always", "everysec"] {
            let url = cluster.url(database: try cluster.createDatabase())
            let arguments = ["--tiers", "l1,l2,l3", "--fsync", fsync, "--l3-url", url] + (delay ?? [])
            let first = try ServerProcess(arguments: arguments, environment: ["CACHESRVD_ENCRYPTION_KEY": key])
            let second = try ServerProcess(arguments: arguments, environment: ["CACHESRVD_ENCRYPTION_KEY": key])
            defer {
                first.stop()
                second.stop()
                first.removeDirectory()
                second.removeDirectory()
            }
            let a = try first.client()
            let b = try second.client()
            var delays: [Double] = []
            for round in 0...rounds {
                let value = "v\(round)"
                XCTAssertEqual(try a.command(["SET", "k", value]), .ok)
                let acknowledged = DispatchTime.now().uptimeNanoseconds
                var seen = try b.command(["GET", "k"])
                while seen != .bulk(value) {
                    if DispatchTime.now().uptimeNanoseconds - acknowledged > 10_000_000_000 {
                        return XCTFail("B never saw \(value)")
                    }
                    seen = try b.command(["GET", "k"])
                }
                // Round 0 only puts k into B's L1.
                if round > 0 { delays.append(Double(DispatchTime.now().uptimeNanoseconds - acknowledged) / 1e6) }
            }
            delays.sort()
            let median = delays[delays.count / 2]
            let p99 = delays[min(delays.count - 1, Int(Double(delays.count) * 0.99))]
            print(
                "staleness --fsync \(fsync) \(delay?.joined(separator: " ") ?? ""): \(delays.count) writes, median \(String(format: "%.2f", median)) ms, "
                    + "p99 \(String(format: "%.2f", p99)) ms, max \(String(format: "%.2f", delays.last ?? 0)) ms"
            )
        }
    }
}

import XCTest

@testable import CacheServer

/// The latency monitor: threshold, latest and max, one sample per second, bounded history, reset.
final class LatencyMonitorTests: XCTestCase {
    func testOffByDefaultThresholdAndAboveIt() {
        XCTAssertFalse(LatencyMonitor(threshold: 0).wants(milliseconds: 10_000))
        let monitor = LatencyMonitor(threshold: 5)
        XCTAssertFalse(monitor.wants(milliseconds: 4))
        XCTAssertTrue(monitor.wants(milliseconds: 5))
        monitor.record("command", milliseconds: 4, timestamp: 100)
        XCTAssertEqual(monitor.latest, [])
    }

    func testLatestAndMaxPerEvent() {
        let monitor = LatencyMonitor(threshold: 1)
        monitor.record("command", milliseconds: 30, timestamp: 100)
        monitor.record("command", milliseconds: 7, timestamp: 101)
        monitor.record("fast-command", milliseconds: 2, timestamp: 102)
        XCTAssertEqual(
            monitor.latest,
            [
                LatencyMonitor.Latest(event: "command", timestamp: 101, latest: 7, max: 30),
                LatencyMonitor.Latest(event: "fast-command", timestamp: 102, latest: 2, max: 2),
            ]
        )
    }

    func testOneSamplePerSecondKeepsTheLargestAndHistoryIsBounded() {
        let monitor = LatencyMonitor(threshold: 1)
        monitor.record("command", milliseconds: 3, timestamp: 100)
        monitor.record("command", milliseconds: 9, timestamp: 100)
        monitor.record("command", milliseconds: 4, timestamp: 100)
        XCTAssertEqual(monitor.history("command"), [LatencyMonitor.Sample(timestamp: 100, milliseconds: 9)])
        for second in 1...200 {
            monitor.record("command", milliseconds: second, timestamp: 100 + second)
        }
        let history = monitor.history("command")
        XCTAssertEqual(history.count, LatencyMonitor.historyLength)
        XCTAssertEqual(history.first?.timestamp, 141)
        XCTAssertEqual(history.last, LatencyMonitor.Sample(timestamp: 300, milliseconds: 200))
        XCTAssertEqual(monitor.history("nope"), [])
    }

    func testResetNamedOrAll() {
        let monitor = LatencyMonitor(threshold: 1)
        monitor.record("a", milliseconds: 1, timestamp: 1)
        monitor.record("b", milliseconds: 1, timestamp: 1)
        monitor.record("c", milliseconds: 1, timestamp: 1)
        XCTAssertEqual(monitor.reset(["a", "a", "zzz"]), 1)
        XCTAssertEqual(monitor.latest.map(\.event), ["b", "c"])
        XCTAssertEqual(monitor.reset([]), 2)
        XCTAssertEqual(monitor.latest, [])
    }
}

import NIOConcurrencyHelpers
import Synchronization

/// Redis's latency monitor: for each event (`command`, `fast-command`, a disk tier's commit), the latest and
/// the largest latency at or above `latency-monitor-threshold` milliseconds, and a short history.
final class LatencyMonitor: Sendable {
    /// What LATENCY LATEST reports of one event.
    struct Latest: Equatable, Sendable {
        var event: String
        /// When the latest sample was taken, Unix seconds.
        var timestamp: Int
        /// The latest sample, milliseconds.
        var latest: Int
        /// The largest sample since the start or the last reset, milliseconds.
        var max: Int
    }

    /// One point of LATENCY HISTORY.
    struct Sample: Equatable, Sendable {
        var timestamp: Int
        var milliseconds: Int
    }

    /// The samples kept per event (Redis's 160); one per second, the largest of that second.
    static let historyLength = 160

    private struct Series {
        var history: [Sample] = []
        var max = 0
    }

    private let events = NIOLockedValueBox([String: Series]())
    private let thresholdSetting: Synchronization.Atomic<Int>

    init(threshold: Int) {
        self.thresholdSetting = Synchronization.Atomic(threshold)
    }

    /// The smallest latency recorded, milliseconds; 0 turns the monitor off (Redis's default;
    /// `latency-monitor-threshold`, CONFIG SET).
    var threshold: Int {
        get { thresholdSetting.load(ordering: .relaxed) }
        set { thresholdSetting.store(newValue, ordering: .relaxed) }
    }

    /// Whether a latency of `milliseconds` is recorded.
    func wants(milliseconds: Int) -> Bool {
        threshold > 0 && milliseconds >= threshold
    }

    /// Records a sample if it reaches the threshold.
    func record(_ event: String, milliseconds: Int, timestamp: Int) {
        guard wants(milliseconds: milliseconds) else { return }
        events.withLockedValue { events in
            var series = events[event] ?? Series()
            if let last = series.history.last, last.timestamp == timestamp {
                series.history[series.history.count - 1].milliseconds = Swift.max(last.milliseconds, milliseconds)
            } else {
                series.history.append(Sample(timestamp: timestamp, milliseconds: milliseconds))
                if series.history.count > Self.historyLength {
                    series.history.removeFirst(series.history.count - Self.historyLength)
                }
            }
            series.max = Swift.max(series.max, milliseconds)
            events[event] = series
        }
    }

    /// The latest sample of every event, by event name.
    var latest: [Latest] {
        events.withLockedValue { events in
            events.compactMap { name, series in
                series.history.last.map {
                    Latest(event: name, timestamp: $0.timestamp, latest: $0.milliseconds, max: series.max)
                }
            }
        }
        .sorted { $0.event < $1.event }
    }

    /// The samples of `event`, oldest first.
    func history(_ event: String) -> [Sample] {
        events.withLockedValue { $0[event]?.history ?? [] }
    }

    /// Forgets the named events (every event for an empty list); returns how many there were.
    func reset(_ names: [String]) -> Int {
        events.withLockedValue { events in
            if names.isEmpty {
                defer { events.removeAll() }
                return events.count
            }
            return Set(names).reduce(0) { count, name in count + (events.removeValue(forKey: name) == nil ? 0 : 1) }
        }
    }
}

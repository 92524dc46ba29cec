import Dispatch
import NIOConcurrencyHelpers

/// The number of entries in the shared `cache_entries`, for INFO's `l3_shared_entries`: the fleet's size, which
/// changes with every sidecar's writes, not only this one's.
///
/// Reading it never blocks and never counts: it answers the last count, and when that is older than `interval` it
/// starts one count on a queue of its own (a `count(*)` of a big table is not free, so at most one runs at a time, and
/// only while someone asks). Every other count of the table (the L3 writer's size refresh) is recorded too.
///
/// Sendable: `state` is behind its lock; the rest is immutable.
final class PostgresSharedSize: Sendable {
    private struct State {
        var value: Int?
        var countedAt: UInt64 = 0
        var refreshing = false
        var stopped = false
    }

    private let state = NIOLockedValueBox(State())
    private let queue = DispatchQueue(label: "cachesrvd.l3.shared-size")
    private let intervalNanoseconds: UInt64

    /// - Parameter interval: Seconds a count is answered before a new one is started.
    init(interval: Double) {
        intervalNanoseconds = UInt64(max(0, interval) * 1e9)
    }

    /// Records a count of the table made now.
    func record(_ count: Int) {
        let now = DispatchTime.now().uptimeNanoseconds
        state.withLockedValue { state in
            state.value = count
            state.countedAt = now
        }
    }

    /// The last count (nil before the first), starting `count` on the queue when it is older than the interval and
    /// none is running. `count` returns nil when it failed (the figure then stays as it was).
    func current(refreshingWith count: @escaping @Sendable () -> Int?) -> Int? {
        let now = DispatchTime.now().uptimeNanoseconds
        let (value, start) = state.withLockedValue { state -> (Int?, Bool) in
            let stale = state.value == nil || now &- state.countedAt >= intervalNanoseconds
            guard stale, !state.refreshing, !state.stopped else { return (state.value, false) }
            state.refreshing = true
            return (state.value, true)
        }
        if start {
            queue.async { [self] in
                let counted = count()
                if let counted { record(counted) }
                state.withLockedValue { $0.refreshing = false }
            }
        }
        return value
    }

    /// Starts no more counts and waits for one running.
    func stop() {
        state.withLockedValue { $0.stopped = true }
        queue.sync {}
    }
}

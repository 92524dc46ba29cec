import NIOConcurrencyHelpers
import Synchronization

/// Which connections watch which keys (WATCH), and which of them saw a watched key change since.
///
/// A write marks every connection watching one of its keys, whoever made it (the watcher itself included), as
/// Redis's `touchWatchedKey` does. While nobody watches anything a write costs one atomic load.
final class WatchRegistry: Sendable {
    private struct State {
        /// Watched key -> ids of the sessions watching it.
        var watchers: [String: Set<Int>] = [:]
        /// Sessions a change of one of their watched keys has made dirty.
        var dirty: Set<Int> = []
    }

    private let state = NIOLockedValueBox(State())
    private let watchedKeys = Synchronization.Atomic<Int>(0)
    /// Called before the first key is ever watched: turns on the tiers' change reports, which cost nothing until
    /// then.
    private let beforeFirstWatch: @Sendable () -> Void

    init(beforeFirstWatch: @escaping @Sendable () -> Void = {}) {
        self.beforeFirstWatch = beforeFirstWatch
    }

    /// Starts watching `keys` for session `id`; returns the keys it was not watching yet.
    @discardableResult
    func watch(_ keys: [String], session id: Int) -> [String] {
        beforeFirstWatch()
        return state.withLockedValue { state in
            var added: [String] = []
            for key in keys where state.watchers[key, default: []].insert(id).inserted {
                watchedKeys.add(1, ordering: .relaxed)
                added.append(key)
            }
            return added
        }
    }

    /// Takes back registrations of a WATCH that failed, leaving the session's dirty mark as it was.
    func forget(_ keys: [String], session id: Int) {
        state.withLockedValue { state in
            for key in keys where state.watchers[key]?.remove(id) != nil {
                watchedKeys.subtract(1, ordering: .relaxed)
                if state.watchers[key]?.isEmpty == true { state.watchers[key] = nil }
            }
        }
    }

    /// Stops watching `keys` for session `id` and clears its dirty mark.
    func unwatch(_ keys: [String], session id: Int) {
        state.withLockedValue { state in
            for key in keys {
                guard state.watchers[key]?.remove(id) != nil else { continue }
                watchedKeys.subtract(1, ordering: .relaxed)
                if state.watchers[key]?.isEmpty == true { state.watchers[key] = nil }
            }
            state.dirty.remove(id)
        }
    }

    /// A write changed `keys`: marks their watchers dirty.
    func touch(_ keys: some Sequence<String>) {
        guard watchedKeys.load(ordering: .relaxed) > 0 else { return }
        state.withLockedValue { state in
            for key in keys {
                if let ids = state.watchers[key] { state.dirty.formUnion(ids) }
            }
        }
    }

    /// Every watched key, for FLUSHALL (which touches the ones that exist).
    var allWatchedKeys: [String] {
        guard watchedKeys.load(ordering: .relaxed) > 0 else { return [] }
        return state.withLockedValue { Array($0.watchers.keys) }
    }

    /// Whether a watched key of session `id` changed since it was watched.
    func isDirty(session id: Int) -> Bool {
        state.withLockedValue { $0.dirty.contains(id) }
    }

    /// Keys watched right now, by anyone (INFO `watching_clients`-like figures and tests).
    var watchedKeyCount: Int { watchedKeys.load(ordering: .relaxed) }
}

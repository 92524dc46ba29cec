import Logging
import NIOConcurrencyHelpers

/// One disk tier as the cache sees it: its store, whether it is enabled, its figures and the keys whose writes
/// it lost.
///
/// Every store call goes through `attempt`, which counts failures: `failureThreshold` in a row disable the
/// tier (logged at warning); a disabled tier is probed with `count()` at most every `probeInterval` seconds
/// and re-enabled when that works. A corrupt store is moved aside and started empty (logged at error).
///
/// Lost keys: when a write batch fails or is dropped while the tier is disabled, the tier may hold a stale
/// version of those keys (or a key deleted since). Readers treat a lost key as absent from this tier, and the
/// writer repairs lost keys once the tier works again (see `TieredCache.repairWrite(for:on:)`).
final class TierHealth: Sendable {
    struct State {
        var consecutiveFailures = 0
        var disabled = false
        var closed = false
        var recovering = false
        var lastProbe = -Double.infinity
        var figures: TierStatistics
        var lostKeys: Set<String> = []
        /// More keys were lost than `lostKeyLimit`: the tier may hold stale entries not listed.
        var lostOverflow = false
    }

    /// The most lost keys remembered one by one.
    static let lostKeyLimit = 100_000

    let tier: TierID
    let store: any PersistentStore
    let failureThreshold: Int
    let probeInterval: Double
    let clock: any CacheClock
    let logger: Logger
    private let state: NIOLockedValueBox<State>

    init(
        tier: TierID,
        store: any PersistentStore,
        failureThreshold: Int,
        probeInterval: Double,
        clock: any CacheClock,
        logger: Logger
    ) {
        self.tier = tier
        self.store = store
        self.failureThreshold = max(1, failureThreshold)
        self.probeInterval = probeInterval
        self.clock = clock
        var logger = logger
        logger[metadataKey: "cache.tier"] = "\(tier)"
        self.logger = logger
        self.state = NIOLockedValueBox(
            State(figures: TierStatistics(tier: tier, configured: true, backend: store.description))
        )
    }

    var isEnabled: Bool {
        state.withLockedValue { !$0.disabled && !$0.closed }
    }

    /// A copy of the figures (pending writes and commits are the writer's, filled in by the cache).
    var figures: TierStatistics {
        state.withLockedValue { state in
            var figures = state.figures
            figures.degraded = state.disabled
            return figures
        }
    }

    /// Changes the figures.
    func count(_ change: (inout TierStatistics) -> Void) {
        state.withLockedValue { change(&$0.figures) }
    }

    /// Runs a store operation if the tier is enabled; counts its failure against the tier and returns nil if
    /// it fails.
    func attempt<T>(_ operation: () throws(StoreError) -> T) -> T? {
        guard isEnabled else { return nil }
        do {
            let value = try operation()
            state.withLockedValue { $0.consecutiveFailures = 0 }
            return value
        } catch {
            handle(error)
            return nil
        }
    }

    /// Whether the tier is enabled, after probing it if it is disabled and a probe is due.
    func probeIfDue() -> Bool {
        let now = clock.now()
        let due = state.withLockedValue { state -> Bool in
            guard state.disabled, !state.closed, now - state.lastProbe >= probeInterval else { return false }
            state.lastProbe = now
            return true
        }
        guard due else { return isEnabled }
        do {
            _ = try store.count()
        } catch {
            logger.debug("Disk tier probe failed", metadata: ["cache.error": "\(error)"])
            if error.kind == .corrupt { recoverFromCorruption(error) }
            return false
        }
        state.withLockedValue { state in
            state.disabled = false
            state.consecutiveFailures = 0
            state.figures.reenabledCount += 1
        }
        logger.info("Disk tier works again: re-enabled", metadata: ["cache.store": "\(store.description)"])
        return true
    }

    /// Marks the tier closed (after shutdown): it is no longer used and its errors are not counted.
    func markClosed() {
        state.withLockedValue { $0.closed = true }
    }

    // MARK: Lost keys

    func recordLost<S: Sequence<String>>(_ keys: S) {
        state.withLockedValue { state in
            for key in keys {
                if state.lostKeys.count >= Self.lostKeyLimit {
                    state.lostOverflow = true
                    return
                }
                state.lostKeys.insert(key)
            }
        }
    }

    func isLost(_ key: String) -> Bool {
        state.withLockedValue { !$0.lostKeys.isEmpty && $0.lostKeys.contains(key) }
    }

    var hasLostKeys: Bool {
        state.withLockedValue { !$0.lostKeys.isEmpty || $0.lostOverflow }
    }

    func clearLost<S: Sequence<String>>(_ keys: S) {
        state.withLockedValue { state in
            guard !state.lostKeys.isEmpty else { return }
            for key in keys { state.lostKeys.remove(key) }
        }
    }

    /// Up to `limit` lost keys, and whether the list overflowed (the overflow flag is cleared).
    func lostKeys(limit: Int) -> (keys: [String], overflowed: Bool) {
        state.withLockedValue { state in
            let overflowed = state.lostOverflow
            state.lostOverflow = false
            return (Array(state.lostKeys.prefix(limit)), overflowed)
        }
    }

    /// Forgets every lost key (the tier was emptied).
    func forgetLostKeys() {
        state.withLockedValue { state in
            state.lostKeys.removeAll()
            state.lostOverflow = false
        }
    }

    // MARK: Failures

    func handle(_ error: StoreError) {
        switch error.kind {
        case .decryption:
            // A credential made with a key we no longer have: that entry is unreadable, the tier is fine.
            logger.warning("Cannot decrypt a cached credential", metadata: ["cache.error": "\(error.message)"])
        case .closed where state.withLockedValue({ $0.closed }):
            return
        case .corrupt:
            recoverFromCorruption(error)
        default:
            countFailure(error)
        }
    }

    private func countFailure(_ error: StoreError) {
        let disabledNow = state.withLockedValue { state -> Bool in
            state.consecutiveFailures += 1
            guard !state.disabled, state.consecutiveFailures >= failureThreshold else { return false }
            state.disabled = true
            state.lastProbe = clock.now()
            state.figures.disabledCount += 1
            return true
        }
        if disabledNow {
            logger.warning(
                "Disk tier disabled after repeated failures; serving from the other tiers",
                metadata: ["cache.error": "\(error)", "cache.failures": "\(failureThreshold)"]
            )
        } else {
            logger.warning("Disk tier operation failed", metadata: ["cache.error": "\(error)"])
        }
    }

    /// Moves a corrupt store aside once (not again while a recovery runs).
    private func recoverFromCorruption(_ error: StoreError) {
        let first = state.withLockedValue { state -> Bool in
            guard !state.recovering else { return false }
            state.recovering = true
            return true
        }
        guard first else {
            countFailure(error)
            return
        }
        logger.error(
            "DISK TIER CORRUPT: moving the damaged file aside and starting the tier empty",
            metadata: ["cache.store": "\(store.description)", "cache.error": "\(error)"]
        )
        do {
            let movedTo = try store.recoverFromCorruption()
            state.withLockedValue { state in
                state.recovering = false
                state.consecutiveFailures = 0
                state.figures.recoveredCorruptFiles += 1
                state.figures.evictionsCorruption += 1
                state.lostKeys.removeAll()
                state.lostOverflow = false
            }
            logger.error(
                "Corrupt disk tier moved aside; the tier starts empty",
                metadata: ["cache.store": "\(store.description)", "cache.path": "\(movedTo)"]
            )
        } catch let recoveryError {
            state.withLockedValue { $0.recovering = false }
            countFailure(recoveryError)
        }
    }
}

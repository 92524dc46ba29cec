import Logging
import NIOConcurrencyHelpers

/// The fault state of one disk tier's store (part of its `DiskTier`): whether it is enabled, its figures and the
/// writes it lost.
///
/// Every store call goes through `attempt`, which counts failures: `failureThreshold` in a row disable the
/// tier (logged at warning); a disabled tier is probed with `count()` at most every `probeInterval` seconds
/// and re-enabled when that works. A corrupt store is moved aside and started empty (logged at error).
///
/// Lost writes: when a write batch fails or is dropped while the tier is disabled, the tier misses those puts
/// and deletes. The last lost write of each key is remembered: readers of the tier see it instead of the
/// store's copy, and the writer replays it once the tier works again (see
/// `TieredCache.repairWrite(replaying:from:)`); a later write of the key that commits makes it moot. A cache tier
/// (L2 in front of L3) remembers a delete instead of the lost put: dropping a key from a cache is always right,
/// and it keeps the memory small.
///
/// Stale: a cache tier that lost more writes than `lostWriteLimit`, or that FLUSHALL could not empty, may hold
/// entries that must not be served. Readers skip it until its writer has emptied it.
final class TierHealth: Sendable {
    struct State {
        var consecutiveFailures = 0
        var disabled = false
        var closed = false
        var recovering = false
        var lastProbe = -Double.infinity
        var figures: TierStatistics
        /// The last lost put or delete of each key.
        var lostWrites: [String: StoreWrite] = [:]
        /// More keys were lost than `lostWriteLimit`: the tier may hold stale entries (or miss entries) not listed.
        var lostOverflow = false
        /// A cache tier that must be emptied before it is read again.
        var stale = false
        /// Health-history records in batches the tier did not commit (never replayed: lost for good).
        var lostHistoryRecords = 0
        /// The tier that holds every key lost a write no repair brings back (a health record, a key past
        /// `lostWriteLimit`, rows a corrupt file did not give back): only the journal's replay at the next start
        /// restores it, so the journal must keep it.
        var lostUnrepairably = false
    }

    /// The most keys whose lost write is remembered.
    static let lostWriteLimit = 100_000

    let tier: TierID
    let store: any PersistentStore
    /// The tier is a cache of a lower tier (L2 with L3 configured): emptying it loses nothing.
    let isCache: Bool
    let failureThreshold: Int
    let probeInterval: Double
    let clock: any CacheClock
    let logger: Logger
    private let state: NIOLockedValueBox<State>

    init(
        tier: TierID,
        store: any PersistentStore,
        isCache: Bool,
        failureThreshold: Int,
        probeInterval: Double,
        clock: any CacheClock,
        logger: Logger
    ) {
        self.tier = tier
        self.store = store
        self.isCache = isCache
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
        try? attemptReporting(operation)?.get()
    }

    /// `attempt`, giving the error of a failed operation too; nil when the tier is disabled and nothing ran.
    func attemptReporting<T>(_ operation: () throws(StoreError) -> T) -> Result<T, StoreError>? {
        guard isEnabled else { return nil }
        do {
            let value = try operation()
            state.withLockedValue { $0.consecutiveFailures = 0 }
            return .success(value)
        } catch {
            handle(error)
            return .failure(error)
        }
    }

    /// The journal sequence the store holds (0 when it keeps no record), if the tier is enabled (a disabled one is
    /// probed when due) and the store answers; nil otherwise.
    func journalSequenceIfReachable() -> UInt64? {
        guard isEnabled || probeIfDue(),
            let recorded = attempt({ () throws(StoreError) in try store.appliedJournalSequence() })
        else { return nil }
        return recorded ?? 0
    }

    /// Whether the tier is disabled and due for a probe (`probeIfDue` would probe it now). Probes nothing.
    var isProbeDue: Bool {
        let now = clock.now()
        return state.withLockedValue { $0.disabled && !$0.closed && now - $0.lastProbe >= probeInterval }
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
        let lostHistory = state.withLockedValue { state -> Int in
            state.disabled = false
            state.consecutiveFailures = 0
            state.figures.reenabledCount += 1
            // Health checks lost during the outage are not replayed: say so now, once, rather than at every later
            // shutdown for as long as the process runs.
            defer { state.lostHistoryRecords = 0 }
            return state.lostHistoryRecords
        }
        logger.info("Disk tier works again: re-enabled", metadata: ["cache.store": "\(store.description)"])
        if lostHistory > 0 {
            logger.error(
                "health checks recorded during the outage were not stored",
                metadata: ["cache.store": "\(store.description)", "cache.lost_history_records": "\(lostHistory)"]
            )
        }
        return true
    }

    /// Marks the tier closed (after shutdown): it is no longer used and its errors are not counted.
    func markClosed() {
        state.withLockedValue { $0.closed = true }
    }

    // MARK: Lost writes

    /// Remembers the puts and deletes of a batch the tier did not commit (the last one of each key wins).
    func recordLost(_ writes: [StoreWrite]) {
        state.withLockedValue { state in
            for write in writes {
                guard let key = write.replaceableKey else {
                    state.lostHistoryRecords += 1
                    if !isCache { state.lostUnrepairably = true }
                    continue
                }
                if state.lostWrites[key] == nil, state.lostWrites.count >= Self.lostWriteLimit {
                    // A key already listed is always updated: replaying an older write would be wrong.
                    state.lostOverflow = true
                    if isCache { state.stale = true } else { state.lostUnrepairably = true }
                    continue
                }
                state.lostWrites[key] = isCache ? .delete(key: key) : write
            }
        }
    }

    /// The last write of `key` the tier lost, if it has not been repaired or overwritten since.
    func lostWrite(_ key: String) -> StoreWrite? {
        state.withLockedValue { $0.lostWrites.isEmpty ? nil : $0.lostWrites[key] }
    }

    /// The keys whose last write the tier lost, whether more were lost than listed, and the health-history
    /// records it lost: what a shutdown reports as not persisted.
    var lostSummary: (keys: Set<String>, overflowed: Bool, historyRecords: Int) {
        state.withLockedValue { (Set($0.lostWrites.keys), $0.lostOverflow, $0.lostHistoryRecords) }
    }

    /// Whether there are lost writes to replay (or an overflow to report).
    var hasLostWrites: Bool {
        state.withLockedValue { !$0.lostWrites.isEmpty || $0.lostOverflow }
    }

    /// Whether the tier lost a write that only the journal's replay at the next start restores (see
    /// `State.lostUnrepairably`); it stays set for the life of the process.
    var hasLostUnrepairably: Bool {
        state.withLockedValue { $0.lostUnrepairably }
    }

    /// Forgets the lost writes of `keys` (written since, or repaired).
    func clearLost<S: Sequence<String>>(_ keys: S) {
        state.withLockedValue { state in
            guard !state.lostWrites.isEmpty else { return }
            for key in keys { state.lostWrites[key] = nil }
        }
    }

    /// Up to `limit` lost writes, and whether the list overflowed (the overflow flag is cleared).
    func lostWrites(limit: Int) -> (writes: [StoreWrite], overflowed: Bool) {
        state.withLockedValue { state in
            let overflowed = state.lostOverflow
            state.lostOverflow = false
            return (Array(state.lostWrites.values.prefix(limit)), overflowed)
        }
    }

    /// Whether readers must skip the tier: a cache tier that may hold stale entries, until its writer empties it.
    var isStale: Bool {
        state.withLockedValue { $0.stale }
    }

    /// Marks a cache tier stale (FLUSHALL emptied the tier below but not this one).
    func markStale() {
        state.withLockedValue { $0.stale = true }
    }

    /// Forgets every lost write and the stale mark (the tier was emptied).
    func markEmptied() {
        state.withLockedValue { state in
            state.lostWrites.removeAll()
            state.lostOverflow = false
            state.stale = false
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
            "DISK TIER CORRUPT: moving the damaged file aside and keeping the rows that can be read",
            metadata: ["cache.store": "\(store.description)", "cache.error": "\(error)"]
        )
        do {
            let report = try store.recoverFromCorruptionSalvaging()
            state.withLockedValue { state in
                state.recovering = false
                state.consecutiveFailures = 0
                state.figures.recordSalvage(report)
                // Rows that could not be read may be journaled writes the journal still holds: keep it for the
                // next start's replay.
                if !isCache { state.lostUnrepairably = true }
                // The lost writes of the tier that holds every key are still missing from the new store: keep them
                // to replay. A cache tier's (deletes) are moot when it starts empty, but not when old rows were
                // salvaged into it: they may be the very copies those deletes must remove.
                if isCache && report.salvagedEntries == 0 {
                    state.lostWrites.removeAll()
                    state.lostOverflow = false
                    state.stale = false
                }
            }
            logger.error(
                "Corrupt disk tier moved aside; the tier keeps the rows that could be read",
                metadata: [
                    "cache.store": "\(store.description)", "cache.path": "\(report.movedTo)",
                    "cache.salvaged_entries": "\(report.salvagedEntries)",
                    "cache.lost_entries": "\(report.lostEntries)",
                ]
            )
        } catch let recoveryError {
            state.withLockedValue { $0.recovering = false }
            countFailure(recoveryError)
        }
    }
}

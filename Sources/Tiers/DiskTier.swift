import Logging

/// One configured disk tier (L2 or L3) as the tiered cache uses it: its store, the store's fault state
/// (`TierHealth`), and its writer thread (`TierWriter`), whose overlay shows queued writes to readers.
///
/// Every operation the cache does on a disk tier is one method here, named after what it does (`read`, `enqueue`,
/// `whenCommitted`, `figures`, the whole-tier work in `DiskTier+Whole.swift`, the journal's in
/// `DiskTier+Journal.swift`), so the cache never reaches into the writer, the health or the store itself. Every
/// store call goes through the health's fault handling; reads look at the writer's overlay and the tier's lost
/// writes before the store.
///
/// A final class rather than a struct of its parts: the cache copies a tier on every write it queues (under a shard
/// lock), and a class is one reference to retain there instead of one per part; the writer thread and a catch-up
/// hold it by reference too. `Sendable`: every stored property is an immutable reference to a `Sendable` object.
///
/// The overlay stays inside the writer: it is guarded by the writer's queue lock and changed in the same critical
/// section as the queue, so a write costs one lock.
final class DiskTier: Sendable {
    /// Which tier this is.
    let id: TierID
    /// The store as a store shared with other sidecars (the PostgreSQL L3), for the coherence protocol; nil for a
    /// store of one's own.
    let sharedStore: (any SharedPersistentStore)?
    // The parts, for DiskTier's own extensions only: the cache goes through DiskTier's methods.
    let store: any PersistentStore
    let health: TierHealth
    let writer: TierWriter

    /// Creates the tier over `store`; its writer thread starts with `start(repair:)`.
    ///
    /// - Parameters:
    ///   - tier: L2 or L3.
    ///   - store: The tier's store.
    ///   - maxEntries: The tier's bound (`--l2-max-entries`, `--l3-max-entries`); nil: none.
    ///   - isCache: Whether the tier is a cache of a lower tier (L2 with L3 configured): emptying it loses nothing.
    ///   - journaled: Whether a journal is in front of the disk tiers.
    ///   - configuration: The cache's settings (batch size, fsync policy, apply windows, fault thresholds).
    ///   - clock: The cache's clock.
    ///   - logger: The cache's logger (the tier's log lines carry `cache.tier`).
    init(
        tier: TierID,
        store: any PersistentStore,
        maxEntries: Int?,
        isCache: Bool,
        journaled: Bool,
        configuration: TieredCache.Configuration,
        clock: any CacheClock,
        logger: Logger
    ) {
        let shared = store as? any SharedPersistentStore
        self.id = tier
        self.store = store
        self.sharedStore = shared
        self.health = TierHealth(
            tier: tier,
            store: store,
            isCache: isCache,
            failureThreshold: configuration.tierFailureThreshold,
            probeInterval: configuration.tierProbeInterval,
            clock: clock,
            logger: logger
        )
        self.writer = TierWriter(
            health: health,
            maxEntries: maxEntries,
            policy: configuration.evictionPolicy,
            // Behind a journal the writers take larger batches: nobody waits for them.
            batchSize: journaled ? max(configuration.writeBatchSize, 16384) : configuration.writeBatchSize,
            // With a journal the stores are synced about once a second whatever the policy: the journal is what
            // clients wait for, and it keeps each segment until every store holds it synced.
            fsync: journaled ? .everysec : configuration.fsync,
            window: journaled
                ? (shared != nil ? configuration.sharedL3ApplyWindow : configuration.journalApplyWindow) : 0,
            // Behind a journal, a shared L3 that went away gets every write later, in order (a file of one's own that
            // fails keeps the lost-write repair: its faults are the disk's, and last for good).
            holdsFailedBatches: journaled && shared != nil
        )
    }

    /// Starts the writer thread. `repair` gives the write that brings a key up to date on this tier, given the last
    /// write of it the tier lost.
    func start(repair: @escaping @Sendable (StoreWrite) -> StoreWrite) {
        writer.start(repair: repair)
    }

    /// Whether the tier is a cache of a lower tier (L2 in front of L3): emptying it loses nothing.
    var isCache: Bool { health.isCache }

    /// Whether the store can be read without waiting (`PersistentStore.readWithoutWaiting`).
    var readsWithoutWaiting: Bool { store.readsWithoutWaiting }

    // MARK: Reads

    /// Whether the tier can be used now, probing it first if it is disabled and a probe is due. Not while its writer
    /// holds writes the store would not take: whole-tier work queued behind them would wait for the store.
    func isUsable() -> Bool {
        if writer.isHolding { return false }
        if health.isEnabled { return true }
        guard health.probeIfDue() else { return false }
        writer.wake()
        return true
    }

    /// Whether the tier can be read now (`isUsable()`, and not stale: a stale cache tier is skipped until emptied).
    func isReadable() -> Bool {
        isUsable() && !health.isStale
    }

    /// Reads `key` from the tier (call `isReadable()` first): the writer's overlay first, then the write the tier lost,
    /// then the store through the fault handling (a failing store reads as a miss). With `counting`, counts the hit
    /// or miss.
    func read(_ key: String, now: Double, counting: Bool) -> DiskLookup {
        let lookup = look(key, now: now) { () -> CacheEntry? in
            health.attempt { () throws(StoreError) in try store.get(key) } ?? nil
        }
        if counting { count(lookup) }
        return lookup
    }

    /// Whether an event loop can read the tier now without waiting (`readWithoutWaiting`): true when it is
    /// readable, false when a read skips it (disabled, stale, or its writer holding writes), nil when reading it
    /// needs a blocking thread (it is due for a probe).
    func isReadableWithoutWaiting() -> Bool? {
        if writer.isHolding || health.isStale { return false }
        if health.isEnabled { return true }
        return health.isProbeDue ? nil : false
    }

    /// `read` for an event loop, counting nothing (`count` the result once every tier read answered): nil when the
    /// store cannot answer without waiting (`PersistentStore.readWithoutWaiting`), or failed.
    func readWithoutWaiting(_ key: String, now: Double) -> DiskLookup? {
        var waits = false
        let lookup = look(key, now: now) { () -> CacheEntry? in
            switch store.readWithoutWaiting(key) {
            case .answered(let entry):
                return entry
            case .wouldWait:
                waits = true
                return nil
            }
        }
        return waits ? nil : lookup
    }

    /// What the tier holds for `key`: the writer's overlay, else the write the tier lost, else `fromStore()`.
    private func look(_ key: String, now: Double, fromStore: () -> CacheEntry?) -> DiskLookup {
        let found: CacheEntry?
        if let pending = writer.pending(key) {
            found = pending
        } else if let lost = health.lostWrite(key) {
            found = lost.putEntry
        } else {
            found = fromStore()
        }
        guard let found else { return .absent }
        return answer(found, now: now, counting: false)
    }

    /// Counts a read's hit or miss (an expired entry counts as neither: its TTL eviction is counted).
    func count(_ lookup: DiskLookup) {
        switch lookup {
        case .absent: health.count { $0.misses += 1 }
        case .found: health.count { $0.hits += 1 }
        case .expired: break
        }
    }

    /// The entry the writer holds queued for `key`, when that alone answers a read: nil when nothing is queued, a
    /// delete is (the store below may still be asked), or the tier is disabled or stale. Takes no blocking path.
    func queuedEntry(_ key: String) -> CacheEntry? {
        guard health.isEnabled, !health.isStale, case .some(.some(let entry)) = writer.pending(key) else { return nil }
        return entry
    }

    /// What a read that found `entry` in this tier answers: expired, or found (a hit, counted with `counting`).
    func answer(_ entry: CacheEntry, now: Double, counting: Bool) -> DiskLookup {
        let lookup: DiskLookup = entry.isExpired(at: now) ? .expired(id) : .found(entry, id)
        if counting { count(lookup) }
        return lookup
    }

    /// Whether the tier lacks a write of `key` that it will get: queued and not committed, or lost and waiting for
    /// its repair.
    func hasUncommittedWrite(_ key: String) -> Bool {
        writer.pending(key) != nil || health.lostWrite(key) != nil
    }

    // MARK: Writes

    /// Queues a write; readers of the tier see it at once (the overlay). A journaled write gives its journal sequence
    /// (call it inside the journal's critical section, see `Journal.append`). Dropped after `stop()`.
    func enqueue(_ write: StoreWrite, journalSequence: UInt64? = nil) {
        writer.enqueue(write, journalSequence: journalSequence)
    }

    /// Notes a journaled record this tier has nothing to do for (call it inside the journal's critical section).
    func noteJournalSequence(_ sequence: UInt64) {
        writer.noteJournalSequence(sequence)
    }

    // MARK: Durability

    /// The sequence number of the last write queued.
    var lastEnqueuedSequence: UInt64 { writer.lastEnqueuedSequence }

    /// Writes queued or being committed.
    var pendingCount: Int { writer.pendingCount }

    /// Calls `callback` once every write up to `sequence` is committed or lost (at once if it already is), with `true`
    /// when they were committed (see `TierWriter.whenCommitted`).
    func whenCommitted(through sequence: UInt64, _ callback: @escaping @Sendable (Bool) -> Void) {
        writer.whenCommitted(through: sequence, callback)
    }

    /// Waits until everything queued so far is committed (or lost). Not for event loops.
    func flush() {
        writer.flush()
    }

    /// Whether the writer keeps a batch the store failed to commit and tries it again (the shared L3 behind a
    /// journal), instead of recording lost writes.
    var holdsFailedBatches: Bool { writer.holdsFailedBatches }

    /// Whether the writer holds a batch the store could not take now (the shared L3 cannot be reached).
    var isHolding: Bool { writer.isHolding }

    /// Whether the tier answers now: enabled, and its writer holds no batch the store could not take.
    var isAvailable: Bool { health.isEnabled && !writer.isHolding }

    // MARK: Figures

    /// The tier's figures for INFO and STATS, with the writes waiting for its writer.
    var figures: TierStatistics {
        var figures = health.figures
        figures.pendingWrites = writer.pendingCount
        return figures
    }

    /// Counts an expired entry found in this tier and removed everywhere.
    func countTTLEviction() {
        health.count { $0.evictionsTTL += 1 }
    }

    /// Counts a health eviction if the tier is enabled (written through, it held the entry).
    func countHealthEviction() {
        guard health.isEnabled else { return }
        health.count { $0.evictionsHealth += 1 }
    }

    /// Counts a corrupt file moved aside when the store was opened (see `TieredCache.recordRecoveredCorruption`) and
    /// logs it at error level.
    func recordRecoveredCorruption(movedTo path: String, salvage: SalvageReport?) {
        let report = salvage ?? SalvageReport(movedTo: path)
        health.count { $0.recordSalvage(report) }
        health.logger.error(
            "Disk tier was corrupt when opened: damaged file moved aside, the readable rows kept",
            metadata: [
                "cache.store": "\(store.description)", "cache.path": "\(path)",
                "cache.salvaged_entries": "\(report.salvagedEntries)", "cache.lost_entries": "\(report.lostEntries)",
            ]
        )
    }

    /// Counts `count` damaged entries the store skipped when it opened as corruption evictions, and logs them.
    func recordCorruptEntriesSkipped(_ count: Int) {
        health.count { $0.evictionsCorruption += count }
        health.logger.warning(
            "Disk tier skipped damaged entries when it opened",
            metadata: ["cache.store": "\(store.description)", "cache.entries": "\(count)"]
        )
    }

    // MARK: Staleness and shutdown

    /// Marks the tier stale: readers skip it until its writer has emptied it.
    func markStale() {
        health.markStale()
    }

    /// For a cache tier: readers skip it from now on, and its writer empties it at once (another sidecar changed the
    /// shared L3 in ways not listed). A tier that holds every key is left alone.
    func discardIfCache() {
        guard health.isCache else { return }
        health.markStale()
        writer.wake()
    }

    /// Tells a writer that holds failed batches to stop waiting for its store (the shutdown's first step): the held
    /// batch and what is queued behind it are tried once more and then lost on this tier, the journal keeping them
    /// for the next start. Does nothing for a writer that does not hold batches.
    func abandonHeldWrites() {
        guard writer.holdsFailedBatches else { return }
        writer.abandonHeldWrites()
    }

    /// The keys whose last write the tier lost, whether more were lost than listed, and the health-history records
    /// it lost.
    var lostSummary: (keys: Set<String>, overflowed: Bool, historyRecords: Int) { health.lostSummary }

    /// Commits what is queued, syncs and stops the writer thread. Later writes are dropped.
    func stop() {
        writer.stop()
    }

    /// Closes the store (after `stop()`): the tier is no longer used and its errors are not counted.
    func close() {
        health.markClosed()
        store.close()
    }
}

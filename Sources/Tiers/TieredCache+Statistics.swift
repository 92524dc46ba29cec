import Logging
import NIOConcurrencyHelpers

// Figures, durability and shutdown.

extension TieredCache {
    /// Current figures. Never blocks on a disk: disk sizes are the ones the writers last saw.
    public func statistics() -> CacheStatistics {
        let figures = l1.figures
        let counters = self.counters.withLockedValue { $0 }
        var memory = TierStatistics(
            tier: .l1,
            configured: true,
            backend: "memory \(configuration.evictionPolicy) (\(l1.shards.count) shards)"
        )
        memory.hits = figures.hits
        memory.misses = figures.misses
        memory.size = l1.count
        memory.evictionsLRU = figures.evictions
        memory.evictionsTTL = counters.l1EvictionsTTL
        memory.evictionsHealth = counters.l1EvictionsHealth
        var tiers = [memory]
        for tier in [TierID.l2, .l3] {
            if let disk = diskTier(tier) {
                tiers.append(disk.figures)
            } else {
                tiers.append(TierStatistics(tier: tier, configured: false, backend: "none"))
            }
        }
        return CacheStatistics(tiers: tiers, promotions: counters.promotions, demotions: counters.demotions)
    }

    /// Counts a corrupt file that was moved aside when the tier's store was opened (before the cache existed),
    /// as a recovery of the tier: `recoveredCorruptFiles` +1, `salvagedEntries` and `evictionsCorruption` by what
    /// was kept and lost (see `TierStatistics.recordSalvage`). Logs at error level.
    ///
    /// - Parameters:
    ///   - tier: The tier whose store was recovered (ignored if not configured).
    ///   - path: Where the damaged file was moved.
    ///   - salvage: What was kept of it (`nil`: nothing, as for a store that cannot salvage).
    public func recordRecoveredCorruption(tier: TierID, movedTo path: String, salvage: SalvageReport? = nil) {
        diskTier(tier)?.recordRecoveredCorruption(movedTo: path, salvage: salvage)
    }

    /// Counts entries a store found damaged and skipped when it opened (corrupt JSONL lines) as corruption
    /// evictions of that tier.
    public func recordCorruptEntriesSkipped(tier: TierID, count: Int) {
        guard count > 0 else { return }
        diskTier(tier)?.recordCorruptEntriesSkipped(count)
    }

    // MARK: Durability

    /// How long journal records may wait to be written before clients' replies wait for them (`everysec`,
    /// `no`): a process crash then loses at most about this much of acknowledged writes.
    static let journalLagBound = 0.5

    /// The writes enqueued so far, or nil if there is nothing to wait for (no disk tiers, or
    /// `fsync` is not `always`).
    public func durabilityPoint() -> DurabilityPoint? {
        guard configuration.fsync == .always, !disks.isEmpty else { return nil }
        if let journal {
            // A shared L3 is where the other sidecars read: a write is acknowledged once PostgreSQL committed it.
            var sequences: [TierID: UInt64] = [:]
            if let l3Tier, l3Tier.holdsFailedBatches {
                sequences[.l3] = l3Tier.lastEnqueuedSequence
            }
            return DurabilityPoint(sequences: sequences, journal: (journal.lastAppendedSequence, true))
        }
        var sequences: [TierID: UInt64] = [:]
        for disk in disks {
            sequences[disk.id] = disk.lastEnqueuedSequence
        }
        return DurabilityPoint(sequences: sequences)
    }

    /// The writes enqueued so far when a disk writer has more than `limit` writes pending, else nil: the server
    /// then holds a client's replies until that point is committed, so writers that outpace the disk slow down
    /// instead of growing the queue without bound.
    public func backlogPoint(limit: Int) -> DurabilityPoint? {
        if let journal, let stalled = journal.stalledPoint(olderThan: Self.journalLagBound) {
            return DurabilityPoint(sequences: [:], journal: (stalled, false))
        }
        guard disks.contains(where: { $0.pendingCount > limit }) else { return nil }
        var sequences: [TierID: UInt64] = [:]
        for disk in disks {
            sequences[disk.id] = disk.lastEnqueuedSequence
        }
        return DurabilityPoint(sequences: sequences)
    }

    /// Calls `callback` (on a writer thread) once every write up to `point` is committed and synced, or has failed
    /// and been counted against its tier: with `true` when the durable tier committed them all (L3, or L2 when
    /// L3 is not configured: L2 is a bounded cache that may evict them later), `false` when it lost some (the
    /// disk is full, read-only, corrupt or the tier is disabled). Conservative: it may say `false` for writes that
    /// did reach the disk.
    ///
    /// If that is already so, `callback` runs at once on the caller's thread.
    public func whenDurable(_ point: DurabilityPoint, _ callback: @escaping @Sendable (Bool) -> Void) {
        if let wanted = point.journal, let journal {
            // Synced in the journal, and committed by a shared L3 when the point names it, in either order.
            let l3 = l3Tier.flatMap { tier in point.sequences[.l3].map { (tier, $0) } }
            let report = Self.join(parts: l3 == nil ? 1 : 2, callback)
            journal.whenDone(through: wanted.sequence, synced: wanted.synced) { report(true, $0) }
            if let (tier, sequence) = l3 {
                tier.whenCommitted(through: sequence) { report(true, $0) }
            }
            return
        }
        let targets = disks.compactMap { disk in point.sequences[disk.id].map { (disk, $0) } }
        guard !targets.isEmpty else {
            callback(true)
            return
        }
        let durableTier: TierID = targets.contains { $0.0.id == .l3 } ? .l3 : .l2
        let report = Self.join(parts: targets.count, callback)
        for (disk, sequence) in targets {
            let decides = disk.id == durableTier
            disk.whenCommitted(through: sequence) { report(decides, $0) }
        }
    }

    /// A report for each of `parts` waits (whether that part decides durability, and whether it was done): `callback`
    /// runs once all reported, with whether every deciding part was done.
    private static func join(
        parts: Int,
        _ callback: @escaping @Sendable (Bool) -> Void
    ) -> @Sendable (_ decides: Bool, _ done: Bool) -> Void {
        let state = NIOLockedValueBox((remaining: parts, durable: true))
        return { decides, done in
            let outcome = state.withLockedValue { state -> Bool? in
                state.remaining -= 1
                if decides { state.durable = state.durable && done }
                return state.remaining == 0 ? state.durable : nil
            }
            if let outcome { callback(outcome) }
        }
    }

    /// Blocks until every write queued so far is committed (or lost and counted). Not for event loops.
    public func flushWrites() {
        for disk in disks {
            disk.flush()
        }
    }

    /// Writes through every L1 entry that changed since it was last written through (a hit, a promotion from disk),
    /// so the access figures that hits kept in L1 reach the disk tiers. An entry only written (a bulk load) is not
    /// written again: a million of them made the shutdown rewrite a million rows.
    func persistResidentEntries() {
        guard !disks.isEmpty else { return }
        for shard in l1.shards {
            shard.locked { storage in
                // In key order, as the stores index them: in L1's (hash) order each upsert landed on a random page
                // of L3's B-tree, and a million took a minute.
                var changed: [(slot: Int32, entry: CacheEntry)] = []
                for slot in storage.index.values where storage.isNewerThanDisk(at: slot) {
                    changed.append((slot, storage.entry(at: slot)))
                }
                changed.sort { $0.entry.key.utf8.lexicographicallyPrecedes($1.entry.key.utf8) }
                for (slot, entry) in changed {
                    writeThrough(.put(entry), heldAt: slot, in: &storage)
                }
            }
        }
    }

    /// Drains the writers, writes L1's access figures through, syncs and closes the stores. Later writes are
    /// dropped.
    ///
    /// Writes a disk tier could not commit (a full, read-only or corrupt disk) are lost when the process ends:
    /// they are counted by tier and logged at critical level, and returned so that the server can exit non-zero.
    /// A later call does nothing and returns the same report (empty while the first call is still running).
    ///
    /// - Returns: what was not persisted, by tier.
    @discardableResult
    public func shutdown() -> ShutdownReport {
        let first = isShutDown.withLockedValue { isShutDown -> Bool in
            defer { isShutDown = true }
            return !isShutDown
        }
        guard first else { return shutdownOutcome.withLockedValue { $0 } ?? ShutdownReport() }
        // A shared L3 that cannot be reached is not waited for: its writes stay in the journal for the next start.
        for disk in disks {
            disk.abandonHeldWrites()
        }
        // Settle the clients' writes first, so that the writes lost before the final write-through of L1 (the
        // clients' data) are told apart from those lost by it (access figures only).
        flushWrites()
        let lostBefore = Dictionary(uniqueKeysWithValues: disks.map { ($0.id, $0.lostSummary) })
        journal?.waitUntilWritten()
        let journalLackedBefore = journal?.unwritten.keys ?? []
        persistResidentEntries()
        for disk in disks {
            disk.stop()
        }
        journal?.stop()
        let journalKeepsLosses = journal.map { $0.removeSegmentsIfApplied() == false && $0.isIntact } ?? false
        // A failing journal lost only what it could not write: a tier's lost write is lost for good when the
        // journal lacks that key's newest write too.
        let journalLacks = journal.flatMap { $0.isIntact ? nil : $0.unwritten }
        var report = ShutdownReport()
        for disk in disks {
            disk.close()
            let lost = disk.lostSummary
            let before = lostBefore[disk.id]
            let clientKeys = lost.keys.intersection(before?.keys ?? [])
            var loss = ShutdownReport.TierLoss(
                tier: disk.id,
                keys: clientKeys.count,
                // An overflow caused by the final write-through alone lost access figures, not clients' writes.
                overflowed: before?.overflowed ?? false,
                historyRecords: lost.historyRecords,
                accessFiguresOnly: lost.keys.count - clientKeys.count
            )
            if let journalLacks {
                // A key whose clients' write the journal holds lost only access figures in the final write-through.
                let lacked = journalLacks.keys.intersection(journalLackedBefore)
                loss.keys = loss.overflowed ? lacked.count : clientKeys.intersection(lacked).count
                loss.historyRecords = min(loss.historyRecords, journalLacks.healthRecords)
                loss.accessFiguresOnly = lost.keys.subtracting(clientKeys).intersection(journalLacks.keys).count
            }
            if journalKeepsLosses, loss.lostData {
                // Every write is in the journal, which keeps the segments the tier lacks: the next start
                // replays them into it.
                logger.warning(
                    "Disk tier missed writes that the journal keeps; the next start replays them (\(loss.summary))",
                    metadata: ["cache.tier": "\(disk.id)"]
                )
                continue
            }
            if loss.lostData || loss.accessFiguresOnly > 0 {
                report.losses.append(loss)
            }
        }
        logShutdown(report)
        shutdownOutcome.withLockedValue { $0 = report }
        return report
    }

    private func logShutdown(_ report: ShutdownReport) {
        guard !disks.isEmpty else { return }
        for loss in report.losses {
            let metadata: Logger.Metadata = [
                "cache.tier": "\(loss.tier)", "cache.lost_keys": "\(loss.keys)",
                "cache.lost_overflowed": "\(loss.overflowed)", "cache.lost_history_records": "\(loss.historyRecords)",
                "cache.lost_access_figures": "\(loss.accessFiguresOnly)",
            ]
            if loss.lostData {
                logger.critical(
                    "WRITES LOST AT SHUTDOWN: acknowledged writes were never persisted (\(loss.summary))",
                    metadata: metadata
                )
            } else {
                logger.warning("Access figures not persisted at shutdown (\(loss.summary))", metadata: metadata)
            }
        }
        if report.losses.isEmpty {
            logger.info("Disk tiers committed, synced and closed")
        } else {
            logger.error("Disk tiers closed with writes not persisted (see above)")
        }
    }
}

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
                var statistics = disk.health.figures
                statistics.pendingWrites = disk.writer.pendingCount
                tiers.append(statistics)
            } else {
                tiers.append(TierStatistics(tier: tier, configured: false, backend: "none"))
            }
        }
        return CacheStatistics(tiers: tiers, promotions: counters.promotions, demotions: counters.demotions)
    }

    /// Counts a corrupt file that was moved aside when the tier's store was opened (before the cache existed),
    /// as a recovery of the tier: `recoveredCorruptFiles` and `evictionsCorruption` +1. Logs at error level.
    ///
    /// - Parameters:
    ///   - tier: The tier whose store was recovered (ignored if not configured).
    ///   - path: Where the damaged file was moved.
    public func recordRecoveredCorruption(tier: TierID, movedTo path: String) {
        guard let disk = diskTier(tier) else { return }
        disk.health.count { figures in
            figures.recoveredCorruptFiles += 1
            figures.evictionsCorruption += 1
        }
        disk.health.logger.error(
            "Disk tier was corrupt when opened: damaged file moved aside, the tier started empty",
            metadata: ["cache.store": "\(disk.store.description)", "cache.path": "\(path)"]
        )
    }

    /// Counts entries a store found damaged and skipped when it opened (corrupt JSONL lines) as corruption
    /// evictions of that tier.
    public func recordCorruptEntriesSkipped(tier: TierID, count: Int) {
        guard count > 0, let disk = diskTier(tier) else { return }
        disk.health.count { $0.evictionsCorruption += count }
        disk.health.logger.warning(
            "Disk tier skipped damaged entries when it opened",
            metadata: ["cache.store": "\(disk.store.description)", "cache.entries": "\(count)"]
        )
    }

    // MARK: Durability

    /// The writes enqueued so far, or nil if there is nothing to wait for (no disk tiers, or
    /// `fsync` is not `always`).
    public func durabilityPoint() -> DurabilityPoint? {
        guard configuration.fsync == .always, !disks.isEmpty else { return nil }
        var sequences: [TierID: UInt64] = [:]
        for disk in disks {
            sequences[disk.id] = disk.writer.lastEnqueuedSequence
        }
        return DurabilityPoint(sequences: sequences)
    }

    /// The writes enqueued so far when a disk writer has more than `limit` writes pending, else nil: the server
    /// then holds a client's replies until that point is committed, so writers that outpace the disk slow down
    /// instead of growing the queue without bound.
    public func backlogPoint(limit: Int) -> DurabilityPoint? {
        guard disks.contains(where: { $0.writer.pendingCount > limit }) else { return nil }
        var sequences: [TierID: UInt64] = [:]
        for disk in disks {
            sequences[disk.id] = disk.writer.lastEnqueuedSequence
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
        let targets = disks.compactMap { disk in point.sequences[disk.id].map { (disk.id, disk.writer, $0) } }
        guard !targets.isEmpty else {
            callback(true)
            return
        }
        let durableTier: TierID = targets.contains { $0.0 == .l3 } ? .l3 : .l2
        let state = NIOLockedValueBox((remaining: targets.count, durable: false))
        for (tier, writer, sequence) in targets {
            writer.whenCommitted(through: sequence) { committed in
                let outcome = state.withLockedValue { state -> Bool? in
                    state.remaining -= 1
                    if tier == durableTier { state.durable = committed }
                    return state.remaining == 0 ? state.durable : nil
                }
                if let outcome { callback(outcome) }
            }
        }
    }

    /// Blocks until every write queued so far is committed (or lost and counted). Not for event loops.
    public func flushWrites() {
        for disk in disks {
            disk.writer.flush()
        }
    }

    /// Writes every L1 entry through, so the access figures that hits kept in L1 reach the disk tiers.
    func persistResidentEntries() {
        guard !disks.isEmpty else { return }
        for shard in l1.shards {
            shard.locked { storage in
                for slot in storage.index.values {
                    writeThrough(.put(storage.entry(at: slot)))
                }
            }
        }
    }

    /// Writes L1's access figures through, drains the writers, syncs and closes the stores. Later writes are
    /// dropped.
    public func shutdown() {
        let first = isShutDown.withLockedValue { isShutDown -> Bool in
            defer { isShutDown = true }
            return !isShutDown
        }
        guard first else { return }
        persistResidentEntries()
        for disk in disks {
            disk.writer.stop()
        }
        for disk in disks {
            disk.health.markClosed()
            disk.store.close()
        }
        if !disks.isEmpty {
            logger.info("Disk tiers committed, synced and closed")
        }
    }
}

// Whole-cache operations (always `.mayBlock` when disk tiers exist).
//
// Counts and key lists come from the authoritative tier: L3 if configured, else L2 (unless stale), else L1.
// Before reading a disk tier they wait for its writer to commit what was queued, so they see every earlier write.
// Disk tiers may still list entries that expired but were not swept yet (as Redis's DBSIZE does).

extension TieredCache {
    /// The number of live keys (the largest tier that holds every key: L3, else L2, else L1).
    public func count() throws(TieredCacheError) -> Int {
        for disk in disks.reversed() where disk.isReadable() {
            if let count = disk.committedCount() { return count }
        }
        return l1.count
    }

    /// The number of entries in one tier (0 for an unconfigured tier).
    public func size(of tier: TierID) throws(TieredCacheError) -> Int {
        guard let disk = diskTier(tier) else { return tier == .l1 ? l1.count : 0 }
        guard disk.isUsable() else { throw .unavailable("\(tier) is disabled") }
        guard let count = disk.committedCount() else { throw .unavailable("\(tier) failed") }
        return count
    }

    /// Every live key (KEYS). Unordered.
    public func allKeys() throws(TieredCacheError) -> [String] {
        for disk in disks.reversed() where disk.isReadable() {
            if let keys = disk.committedKeys() { return keys }
        }
        let now = clock.now()
        var keys: [String] = []
        var cursor: UInt64 = 0
        repeat {
            let (next, entries) = l1.scanEntries(cursor: cursor, count: 1024)
            for entry in entries where !entry.isExpired(at: now) { keys.append(entry.key) }
            cursor = next
        } while cursor != 0
        return keys
    }

    /// One step of a cursor scan over every live key (SCAN): up to about `count` keys after
    /// `cursor` (0 starts); the next cursor is 0 when done. Keys present for the whole scan are
    /// returned at least once.
    ///
    /// With disk tiers the scan runs over the authoritative one (L3, else L2) and throws `unavailable` while
    /// it is disabled; with L1 alone, over L1's slots (see `MemoryTier.scanEntries`), skipping expired keys.
    public func scan(cursor: UInt64, count: Int) throws(TieredCacheError) -> (next: UInt64, keys: [String]) {
        let limit = max(1, count)
        guard let authority = disks.last else {
            let now = clock.now()
            let (next, entries) = l1.scanEntries(cursor: cursor, count: limit)
            return (next, entries.lazy.filter { !$0.isExpired(at: now) }.map(\.key))
        }
        guard authority.isUsable() else { throw .unavailable("\(authority.id) is disabled") }
        guard let page = authority.scanKeys(cursor: cursor, limit: limit) else {
            throw .unavailable("\(authority.id) failed")
        }
        return page
    }

    /// Removes expired entries from every tier (CLEANUP and the background sweep); returns how
    /// many distinct keys were removed.
    public func removeExpired() throws(TieredCacheError) -> Int {
        let now = clock.now()
        let expired = l1.removeExpired(now: now) { entry in writeThrough(.delete(key: entry.key)) }
        if !expired.isEmpty {
            counters.withLockedValue { $0.l1EvictionsTTL += expired.count }
        }
        var removed = Set(expired.lazy.map(\.key))
        for disk in disks where disk.isUsable() {
            // On the writer thread, after the writes queued before it (the deletes above included).
            if let keys = disk.removeExpired(now: now) { removed.formUnion(keys) }
        }
        return removed.count
    }

    /// Removes everything from every tier; returns how many distinct keys there were.
    ///
    /// That is the count of the largest tier, which holds every key as long as no write was lost.
    ///
    /// Throws `unavailable`, having removed nothing from disk, when a disk tier is disabled or the tier that holds
    /// every key (L3, else L2) fails to clear: replying OK would let its entries come back. L2 failing after L3
    /// was cleared is not an error: L2 is only a cache of L3, so it is marked stale (never read) until its writer
    /// empties it.
    ///
    /// While it runs, disk reads find nothing, so a concurrent read cannot bring an entry about to be removed
    /// back into L1 or L2. The disk tiers are cleared L3 first: a write made meanwhile ends up either nowhere or
    /// in L3, never in L2 alone. L1 is cleared before and after them.
    public func removeAll() throws(TieredCacheError) -> Int {
        for disk in disks where !disk.isUsable() {
            throw .unavailable(
                "disk tier \(disk.id) is disabled after failures; FLUSHALL would leave its entries; "
                    + "try again when INFO shows it recovered"
            )
        }
        flushesRunning.withLockedValue { $0 += 1 }
        var removed = l1.removeAll()
        var failed: TierID? = nil
        for disk in disks.reversed() {
            // On the writer thread, after the writes queued before it.
            if let count = disk.removeAll() {
                removed = max(removed, count)
            } else if disk.isCache {
                disk.markStale()
            } else {
                failed = disk.id
                break
            }
        }
        if failed == nil, let journal {
            // For a store that records no journal sequence (JSONL), which the start-up gives every record still in
            // the journal: a replay empties it here.
            journal.append(.flush) { sequence in
                for disk in disks { disk.noteJournalSequence(sequence) }
            }
        }
        flushesRunning.withLockedValue { $0 -= 1 }
        // Entries written while the disk tiers were cleared: what stays is what the disk tiers hold now (the writes
        // queued after their clear), and disk reads from now on see them cleared.
        _ = l1.removeAll()
        if let failed {
            throw .unavailable(
                "disk tier \(failed) failed to remove its entries; FLUSHALL removed nothing from disk; try again"
            )
        }
        return removed
    }

    /// The newest `limit` health checks of `key`, newest first (from L3; [] without L3).
    public func history(_ key: String, limit: Int) throws(TieredCacheError) -> [HealthCheckRecord] {
        guard let l3Tier else { return [] }
        guard l3Tier.isUsable() else { throw .unavailable("l3 is disabled") }
        guard let records = l3Tier.history(key, limit: limit) else { throw .unavailable("l3 failed") }
        return records
    }
}

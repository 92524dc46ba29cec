// Whole-tier work of a disk tier: counts, key lists, sweeps, FLUSHALL, L3's history and its fleet-wide health counts.
// Each waits for the writer first (or runs on its thread), so it sees every write queued before it; nil means the
// store failed (counted against the tier).

extension DiskTier {
    /// The tier's count once its writer has committed what was queued (nil if the store fails); also refreshes the
    /// tier's size figure.
    func committedCount() -> Int? {
        writer.flush()
        guard let count = health.attempt({ () throws(StoreError) in try store.count() }) else { return nil }
        health.count { $0.size = count }
        return count
    }

    /// Every key of the store once its writer has committed what was queued (nil if the store fails). Unordered.
    func committedKeys() -> [String]? {
        writer.flush()
        var keys = Set<String>()
        var cursor: UInt64 = 0
        repeat {
            guard let page = keyPage(cursor: cursor, limit: 1024) else { return nil }
            keys.formUnion(page.keys)
            cursor = page.next
        } while cursor != 0
        return Array(keys)
    }

    /// One step of a cursor scan over the store's keys (SCAN; nil if the store fails). A scan's first step (cursor 0)
    /// first waits for the writer to commit what was queued.
    func scanKeys(cursor: UInt64, limit: Int) -> (next: UInt64, keys: [String])? {
        if cursor == 0 { writer.flush() }
        return keyPage(cursor: cursor, limit: limit)
    }

    private func keyPage(cursor: UInt64, limit: Int) -> (next: UInt64, keys: [String])? {
        health.attempt { () throws(StoreError) in try store.scanKeys(cursor: cursor, limit: limit) }
    }

    /// Removes the store's entries expired at `now`, on the writer thread after the writes queued before (nil if the
    /// store fails); counts them as TTL evictions.
    func removeExpired(now: Double) -> [String]? {
        let keys = writer.perform { () -> [String]? in
            self.health.attempt { () throws(StoreError) in try self.store.removeExpired(now: now) }
        }
        guard let keys, !keys.isEmpty else { return keys }
        health.count { figures in
            figures.evictionsTTL += keys.count
            figures.size = max(0, figures.size - keys.count)
        }
        return keys
    }

    /// Empties the store on the writer thread, after the writes queued before (FLUSHALL), and records that every
    /// journaled write queued before is gone with it (a replay starts after them); returns how many entries it held,
    /// nil if either failed (then the flush failed: a replay would bring them back). Forgets the lost writes and the
    /// stale mark.
    func removeAll() -> Int? {
        let count = writer.perform { () -> Int? in
            let count = self.health.attempt { () throws(StoreError) in try self.store.removeAll() }
            guard count != nil else { return nil }
            let through = self.writer.currentJournalSequence
            let recorded: Void? = self.health.attempt { () throws(StoreError) in
                try self.store.apply([], journalThrough: through)
            }
            guard recorded != nil else { return nil }
            self.health.markEmptied()
            return count
        }
        if count != nil {
            health.count { $0.size = 0 }
        }
        return count
    }

    /// The newest `limit` health checks of `key`, newest first, once the writer committed what was queued (nil if
    /// the store fails).
    func history(_ key: String, limit: Int) -> [HealthCheckRecord]? {
        writer.flush()
        return health.attempt { () throws(StoreError) in try store.history(key, limit: limit) }
    }

    /// Counts a health failure of `key` in the shared store, atomically for the fleet, once the writer committed this
    /// sidecar's queued writes (see `SharedPersistentStore.recordHealthFailure`): the fleet's new count, nil when the
    /// store is not shared, fails or has no entry for `key`.
    func recordHealthFailure(_ key: String, time: Double, error: String?, threshold: Int?) -> Int? {
        guard let sharedStore else { return nil }
        writer.flush()
        let count = health.attempt { () throws(StoreError) in
            try sharedStore.recordHealthFailure(key, time: time, error: error, threshold: threshold)
        }
        return count ?? nil
    }
}

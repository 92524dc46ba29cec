// RANDOMKEY: one live key drawn at random.

extension TieredCache {
    /// Draws after which a miss (a key expired or removed since it was listed) ends the search with nil.
    static let randomKeyAttempts = 4

    /// A random live key, or nil when there is none (RANDOMKEY). Never loops forever: expired keys are skipped,
    /// not retried.
    ///
    /// With L1 alone: a shard is drawn in proportion to its entries, then the first live entry from a random
    /// slot on (over the next shards when that one holds none), without the disk or an allocation.
    ///
    /// With disk tiers, the keys are those of the authoritative tier (L3, else L2), which may list entries that
    /// expired since the last sweep: a position is drawn among its rows and the scan walked to it (so the call
    /// costs up to a scan of that tier; run it off the event loop), then the key is checked live. A key found
    /// expired starts a sweep of the expired entries (as Redis deletes those RANDOMKEY meets) and another draw.
    /// Throws `unavailable` while the authoritative tier is disabled.
    public func randomKey() throws(TieredCacheError) -> String? {
        guard !disks.isEmpty else { return randomResidentKey() }
        for attempt in 0..<Self.randomKeyAttempts {
            let count = try count()
            guard count > 0 else { return nil }
            guard let key = try key(atScanPosition: Int.random(in: 0..<count)) else { return nil }
            if try peek(key, mode: .mayBlock) != nil { return key }
            if attempt == 0 { _ = try removeExpired() }
        }
        return nil
    }

    /// The key at `position` of a full scan, or the last key when the scan holds fewer (removed meanwhile).
    private func key(atScanPosition position: Int) throws(TieredCacheError) -> String? {
        var cursor: UInt64 = 0
        var seen = 0
        var last: String? = nil
        repeat {
            let page = try scan(cursor: cursor, count: 1024)
            if position - seen < page.keys.count { return page.keys[position - seen] }
            seen += page.keys.count
            last = page.keys.last ?? last
            cursor = page.next
        } while cursor != 0
        return last
    }

    private func randomResidentKey() -> String? {
        let now = clock.now()
        let counts = l1.shards.map { shard in shard.locked { $0.count } }
        let total = counts.reduce(0, +)
        guard total > 0 else { return nil }
        var drawn = Int.random(in: 0..<total)
        var first = 0
        while drawn >= counts[first] {
            drawn -= counts[first]
            first += 1
        }
        for offset in 0..<counts.count {
            let shard = l1.shards[(first + offset) % counts.count]
            let key = shard.locked { storage -> String? in
                let slots = storage.slotCount
                guard slots > 0 else { return nil }
                let start = Int.random(in: 0..<slots)
                for step in 0..<slots {
                    if let entry = storage.entryIfPresent(at: (start + step) % slots), !entry.isExpired(at: now) {
                        return entry.key
                    }
                }
                return nil
            }
            if let key { return key }
        }
        return nil
    }
}

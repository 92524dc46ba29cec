// Whole-tier operations of L1: keys, cursor scans, expiry sweeps, clearing.

extension MemoryTier {
    /// Every key (unordered).
    public func keys() -> [String] {
        var keys: [String] = []
        for shard in shards {
            shard.locked { storage in keys.append(contentsOf: storage.keys) }
        }
        return keys
    }

    /// One step of a cursor scan: up to `count` entries from `cursor` on (0 starts), and the next cursor (0 when
    /// done).
    ///
    /// The cursor is a shard number (high 32 bits) and a slot in it (low 32 bits). An entry keeps its slot
    /// for as long as it is present, so a key present for the whole scan is returned exactly once; keys added
    /// or removed during the scan may or may not be.
    public func scanEntries(cursor: UInt64, count: Int) -> (next: UInt64, entries: [CacheEntry]) {
        var shardIndex = Int(cursor >> 32)
        var slot = Int(cursor & 0xFFFF_FFFF)
        var entries: [CacheEntry] = []
        let wanted = max(1, count)
        while shardIndex < shards.count {
            let done = shards[shardIndex].locked { storage -> Bool in
                while slot < storage.slotCount {
                    if let entry = storage.entryIfPresent(at: slot) {
                        entries.append(entry)
                    }
                    slot += 1
                    if entries.count >= wanted { return false }
                }
                return true
            }
            if !done {
                return (UInt64(shardIndex) << 32 | UInt64(slot), entries)
            }
            shardIndex += 1
            slot = 0
        }
        return (0, entries)
    }

    /// Like `scanEntries`, returning keys only.
    public func scan(cursor: UInt64, count: Int) -> (next: UInt64, keys: [String]) {
        let (next, entries) = scanEntries(cursor: cursor, count: count)
        return (next, entries.map(\.key))
    }

    /// Removes the entries expired at `now`; returns them.
    @discardableResult
    public func removeExpired(now: Double) -> [CacheEntry] {
        removeExpired(now: now) { _ in }
    }

    /// Removes the entries expired at `now`, calling `onRemove` for each with its shard's lock held.
    func removeExpired(now: Double, onRemove: (CacheEntry) -> Void) -> [CacheEntry] {
        var removed: [CacheEntry] = []
        for shard in shards {
            let before = removed.count
            let bytes = shard.locked { storage -> Int in
                var bytes = 0
                for slot in 0..<storage.slotCount {
                    guard let entry = storage.entryIfPresent(at: slot), entry.isExpired(at: now) else { continue }
                    storage.remove(at: Int32(slot))
                    bytes += entry.estimatedBytes
                    onRemove(entry)
                    removed.append(entry)
                }
                return bytes
            }
            if removed.count > before {
                adjust(by: Usage(entries: before - removed.count, bytes: -bytes), sparing: nil, onEvict: { _ in })
            }
        }
        return removed
    }

    /// Removes every entry; returns how many there were.
    @discardableResult
    public func removeAll() -> Int {
        var removed = 0
        for shard in shards {
            // Counted under the same lock as the removal, so no change slips in between.
            let usage = shard.locked { storage in
                let usage = Usage(entries: storage.count, bytes: storage.usedBytes)
                _ = storage.removeAll()
                return usage
            }
            removed += usage.entries
            if usage.entries > 0 {
                adjust(by: Usage(entries: -usage.entries, bytes: -usage.bytes), sparing: nil, onEvict: { _ in })
            }
        }
        return removed
    }
}

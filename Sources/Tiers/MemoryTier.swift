import NIOConcurrencyHelpers

/// L1: a bounded in-memory map of key to entry, safe to use from many threads at once.
///
/// Keys are spread over shards (16 by default), each with its own lock, so callers on different threads rarely
/// wait for each other; get, put and remove are O(1).
///
/// The bound is global and exact: a count of all entries (behind its own small lock, touched only when a key
/// is added or removed) never stays above `maxEntries` after a call returns. When a store goes over it, the
/// tier evicts until it is back within bound, choosing among the candidates of every shard (each shard's
/// least recently used, least frequently used or oldest entry) the one the policy ranks first, by monotonic
/// timestamps. With calls made one after another this is the exact policy over the whole tier, whatever the
/// shard count; with concurrent callers it is the exact policy up to the races of the moment. The entry just
/// stored is never the one evicted for it, so an lfu tier never throws away a new key at once. Per-shard
/// capacities were rejected: a key's shard would fill up (and evict) while the tier as a whole had room.
public final class MemoryTier: Sendable {
    /// What the tier counted since it was made.
    public struct Figures: Sendable, Equatable {
        public var hits: Int
        public var misses: Int
        /// Entries evicted to respect the bound (whatever the policy).
        public var evictions: Int

        public init(hits: Int, misses: Int, evictions: Int) {
            self.hits = hits
            self.misses = misses
            self.evictions = evictions
        }
    }

    /// The most entries the tier holds (at least 1).
    public let maxEntries: Int
    public let policy: EvictionPolicy
    let shards: [MemoryTierShard]
    private let shardMask: Int
    private let total: NIOLockedValueBox<Int>

    /// Creates an empty tier.
    ///
    /// - Parameters:
    ///   - maxEntries: The bound (values below 1 are taken as 1).
    ///   - policy: Which entry goes first when the tier is full.
    ///   - shardCount: How many locks the keys are spread over, rounded up to a power of two (1 to 256).
    public init(maxEntries: Int, policy: EvictionPolicy = .lru, shardCount: Int = 16) {
        self.maxEntries = max(1, maxEntries)
        self.policy = policy
        var count = 1
        while count < min(max(shardCount, 1), 256) { count *= 2 }
        self.shards = (0..<count).map { _ in MemoryTierShard(policy: policy) }
        self.shardMask = count - 1
        self.total = NIOLockedValueBox(0)
    }

    /// The number of entries.
    public var count: Int {
        total.withLockedValue { $0 }
    }

    /// Hits, misses and evictions so far.
    public var figures: Figures {
        var figures = Figures(hits: 0, misses: 0, evictions: 0)
        for shard in shards {
            shard.locked { storage in
                figures.hits += storage.hits
                figures.misses += storage.misses
                figures.evictions += storage.evictions
            }
        }
        return figures
    }

    /// A hit: bumps `access_count`, sets `last_accessed = now`, counts as a use and returns the entry.
    /// Expiry is not checked here (the tiered cache does it). Counts a hit or a miss.
    public func get(_ key: String, now: Double) -> CacheEntry? {
        shard(for: key).locked { storage in
            guard let slot = storage.slot(of: key) else {
                storage.misses += 1
                return nil
            }
            storage.hits += 1
            return storage.modify(at: slot) { entry in
                entry.accessCount += 1
                entry.lastAccessed = now
                return entry
            }
        }
    }

    /// The entry of `key`, if present, without counting a use or a hit.
    public func peek(_ key: String) -> CacheEntry? {
        shard(for: key).locked { storage in storage.slot(of: key).map { storage.entry(at: $0) } }
    }

    /// Stores an entry (a use of it); returns the entries evicted to make room, oldest first by policy.
    @discardableResult
    public func put(_ entry: CacheEntry) -> [CacheEntry] {
        var evicted: [CacheEntry] = []
        func store(_ storage: inout MemoryTierStorage) {
            if let slot = storage.slot(of: entry.key) {
                storage.replace(at: slot, with: entry)
            } else {
                storage.insert(entry)
            }
        }
        withShard(for: entry.key, onEvict: { evicted.append($0) }, store)
        return evicted
    }

    /// Removes a key; returns its entry if it was present.
    @discardableResult
    public func remove(_ key: String) -> CacheEntry? {
        let shard = shard(for: key)
        guard let removed = shard.locked({ storage in storage.slot(of: key).map { storage.remove(at: $0) } }) else {
            return nil
        }
        adjustCount(by: -1, sparing: nil, onEvict: { _ in })
        return removed
    }

    // MARK: Internals shared with the tiered cache

    func shardIndex(for key: String) -> Int {
        // FNV-1a: cheap, and independent of the process's hash seed.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return Int(truncatingIfNeeded: hash ^ (hash >> 32)) & shardMask
    }

    func shard(for key: String) -> MemoryTierShard {
        shards[shardIndex(for: key)]
    }

    /// Runs `body` on the storage of `key`'s shard with its lock held, then restores the bound.
    ///
    /// `onEvict` gets each entry evicted for the bound, called with the evicting shard's lock held (so that
    /// whatever it records about the entry is ordered before any later change of that key).
    func withShard<R, E: Error>(
        for key: String,
        onEvict: (CacheEntry) -> Void,
        _ body: (inout MemoryTierStorage) throws(E) -> R
    ) throws(E) -> R {
        let (result, delta) = shard(for: key).lockedCountingChange(body)
        if delta != 0 {
            adjustCount(by: delta, sparing: key, onEvict: onEvict)
        }
        return try result.get()
    }

    /// Records a change of the entry count and evicts while the tier is over its bound.
    func adjustCount(by delta: Int, sparing sparedKey: String?, onEvict: (CacheEntry) -> Void) {
        let over = total.withLockedValue { total -> Bool in
            total += delta
            return total > maxEntries
        }
        guard over else { return }
        while claimEviction() {
            if !evictOne(sparing: sparedKey, onEvict: onEvict) {
                total.withLockedValue { $0 += 1 }
                return
            }
        }
    }

    /// Takes one eviction on: lowers the count now so that concurrent callers do not evict for the same excess.
    private func claimEviction() -> Bool {
        total.withLockedValue { total in
            guard total > maxEntries else { return false }
            total -= 1
            return true
        }
    }

    /// Evicts the best candidate of all shards; false if there was none.
    private func evictOne(sparing sparedKey: String?, onEvict: (CacheEntry) -> Void) -> Bool {
        for _ in 0...shards.count {
            var best: (shard: Int, candidate: MemoryTierStorage.Candidate)? = nil
            for (index, shard) in shards.enumerated() {
                guard let candidate = shard.locked({ $0.candidate(sparing: sparedKey) }) else { continue }
                if let current = best?.candidate,
                    (current.frequency, current.stamp) <= (candidate.frequency, candidate.stamp)
                {
                    continue
                }
                best = (index, candidate)
            }
            guard let best else { return false }
            let evicted = shards[best.shard].locked { storage -> Bool in
                guard let candidate = storage.candidate(sparing: sparedKey) else { return false }
                let entry = storage.remove(at: candidate.slot)
                storage.evictions += 1
                onEvict(entry)
                return true
            }
            if evicted { return true }
        }
        return false
    }
}

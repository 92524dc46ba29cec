import NIOConcurrencyHelpers

/// L1: a bounded in-memory map of key to entry, safe to use from many threads at once.
///
/// Keys are spread over shards (16 by default), each with its own lock, so callers on different threads rarely
/// wait for each other; get, put and remove are O(1).
///
/// The bounds are global: `maxEntries` (entries) and `maxMemory` (the entries' estimated bytes,
/// `CacheEntry.estimatedBytes`, as Redis's maxmemory bounds its memory). The totals of all shards (behind their
/// own small lock, touched only when a change adds or removes an entry or changes an entry's size; a hit changes
/// neither) never stay above a bound after a call returns. When a store goes over one, the tier evicts until it
/// is back within both, choosing among the candidates of every shard (each shard's
/// least recently used, least frequently used or oldest entry) the one the policy ranks first, by monotonic
/// timestamps. With calls made one after another this is the exact policy over the whole tier, whatever the
/// shard count; with concurrent callers it is the exact policy up to the races of the moment. The entry just
/// stored is never the one evicted for it, so an lfu tier never throws away a new key at once (an entry larger
/// than `maxMemory` by itself is kept, alone). The entry bound is exact; the memory bound may evict one entry more
/// than needed for each other thread evicting at the same moment, since a claim on an eviction cannot know the
/// size of the entry it will evict. Per-shard capacities were rejected: a key's shard would fill up (and evict)
/// while the tier as a whole had room.
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

    /// Entries and their estimated bytes: the tier's totals, or a change of them.
    public struct Usage: Sendable, Equatable {
        public var entries: Int
        public var bytes: Int

        public init(entries: Int, bytes: Int) {
            self.entries = entries
            self.bytes = bytes
        }
    }

    /// The totals of all shards and the bounds on them.
    private struct State {
        var usage = Usage(entries: 0, bytes: 0)
        var maxEntries: Int?
        var maxMemory: Int?

        var isOver: Bool {
            if let maxEntries, usage.entries > maxEntries { return true }
            if let maxMemory, usage.bytes > maxMemory { return true }
            return false
        }
    }

    /// The most entries the tier holds (at least 1); nil: no bound by count.
    public let maxEntries: Int?
    public let policy: EvictionPolicy
    let shards: [MemoryTierShard]
    private let shardMask: Int
    private let total: NIOLockedValueBox<State>

    /// Creates an empty tier.
    ///
    /// - Parameters:
    ///   - maxEntries: The bound by count (values below 1 are taken as 1); nil for none.
    ///   - maxMemory: The bound by estimated bytes (values below 1 are taken as 1); nil for none.
    ///   - policy: Which entry goes first when the tier is full.
    ///   - shardCount: How many locks the keys are spread over, rounded up to a power of two (1 to 256).
    public init(maxEntries: Int?, maxMemory: Int? = nil, policy: EvictionPolicy = .lru, shardCount: Int = 16) {
        self.maxEntries = maxEntries.map { max(1, $0) }
        self.policy = policy
        var count = 1
        while count < min(max(shardCount, 1), 256) { count *= 2 }
        self.shards = (0..<count).map { _ in MemoryTierShard(policy: policy) }
        self.shardMask = count - 1
        self.total = NIOLockedValueBox(
            State(maxEntries: self.maxEntries, maxMemory: maxMemory.map { max(1, $0) })
        )
    }

    /// The number of entries.
    public var count: Int {
        total.withLockedValue { $0.usage.entries }
    }

    /// The entries' estimated bytes (`CacheEntry.estimatedBytes`, summed): what `maxMemory` bounds.
    public var usedBytes: Int {
        total.withLockedValue { $0.usage.bytes }
    }

    /// The most estimated bytes the entries take (at least 1); nil: no bound by memory.
    public var maxMemory: Int? {
        total.withLockedValue { $0.maxMemory }
    }

    /// Changes the memory bound (nil: none; values below 1 are taken as 1) and evicts until the tier is within it.
    ///
    /// - Parameter onEvict: Gets each entry evicted, with its shard's lock held.
    public func changeMaxMemory(to maxMemory: Int?, onEvict: (CacheEntry) -> Void) {
        total.withLockedValue { $0.maxMemory = maxMemory.map { max(1, $0) } }
        adjust(by: Usage(entries: 0, bytes: 0), sparing: nil, onEvict: onEvict)
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
            return storage.recordHit(of: key, at: slot, now: now)
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
        adjust(by: Usage(entries: -1, bytes: -removed.estimatedBytes), sparing: nil, onEvict: { _ in })
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
        if delta.entries != 0 || delta.bytes != 0 {
            adjust(by: delta, sparing: key, onEvict: onEvict)
        }
        return try result.get()
    }

    /// Records a change of the totals and evicts while the tier is over a bound.
    func adjust(by delta: Usage, sparing sparedKey: String?, onEvict: (CacheEntry) -> Void) {
        let over = total.withLockedValue { total -> Bool in
            total.usage.entries += delta.entries
            total.usage.bytes += delta.bytes
            return total.isOver
        }
        guard over else { return }
        while claimEviction() {
            guard let bytes = evictOne(sparing: sparedKey, onEvict: onEvict) else {
                total.withLockedValue { $0.usage.entries += 1 }
                return
            }
            total.withLockedValue { $0.usage.bytes -= bytes }
        }
    }

    /// Takes one eviction on: lowers the count now so that concurrent callers do not evict for the same excess
    /// of entries (the evicted entry's bytes are taken off once it is known).
    private func claimEviction() -> Bool {
        total.withLockedValue { total in
            guard total.isOver else { return false }
            total.usage.entries -= 1
            return true
        }
    }

    /// Evicts the best candidate of all shards; returns its estimated bytes, nil if there was none.
    private func evictOne(sparing sparedKey: String?, onEvict: (CacheEntry) -> Void) -> Int? {
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
            guard let best else { return nil }
            let evicted = shards[best.shard].locked { storage -> Int? in
                guard let candidate = storage.candidate(sparing: sparedKey) else { return nil }
                let entry = storage.remove(at: candidate.slot)
                storage.evictions += 1
                onEvict(entry)
                return entry.estimatedBytes
            }
            if let evicted { return evicted }
        }
        return nil
    }
}

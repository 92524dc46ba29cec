#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The entries of one memory-tier shard and their eviction order.
///
/// Not synchronised: a `MemoryTierShard` owns one and guards it with its lock. Entries live in slots of a
/// growable array (a slot keeps its entry until the entry is removed, which makes slot order a stable scan
/// order); `index` maps keys to slots (`MemoryTierIndex`, which reads the key from the slot's entry, so each key is
/// held once). `usedBytes` is the running total of the entries' estimated bytes (`CacheEntry.estimatedBytes`),
/// kept on every insert, replace, change and removal. The eviction order is intrusive, with slot numbers as links:
/// - lru and fifo: one list, oldest at `head`; lru moves an entry to the tail on every use, fifo only appends.
/// - lfu: a list per access count ("frequency bucket"), buckets chained in ascending count; within a
///   bucket the least recently used entry comes first. See `MemoryTierStorage+Frequency.swift`.
///
/// Every entry carries a stamp (monotonic nanoseconds of its last use, or of its insertion for fifo), so that
/// the candidates of different shards can be compared when the tier evicts.
struct MemoryTierStorage {
    static let none: Int32 = -1

    struct Node {
        var record: MemoryTierRecord
        var prev: Int32 = MemoryTierStorage.none
        var next: Int32 = MemoryTierStorage.none
        var bucket: Int32 = MemoryTierStorage.none
        var stamp: UInt64 = 0
    }

    /// The entry this shard would evict first, with what ranks it against other shards' candidates.
    struct Candidate {
        var slot: Int32
        var frequency: Int
        var stamp: UInt64
    }

    let policy: EvictionPolicy
    private(set) var index = MemoryTierIndex()
    /// The estimated bytes of the entries held (`CacheEntry.estimatedBytes`, summed).
    private(set) var usedBytes = 0
    var nodes: [Node] = []
    /// By slot: whether a victim L2 may hold a copy of the key (see `TieredCache.writeThrough`): true for a key L1
    /// has just taken, false once a write had L2 drop its copy. Beside the nodes, which have no spare byte.
    private var l2MayHoldCopy: [Bool] = []
    private var freeSlots: [Int32] = []
    /// The lru/fifo list.
    var head: Int32 = none
    var tail: Int32 = none
    /// The lfu buckets.
    var buckets: [FrequencyBucket] = []
    var freeBuckets: [Int32] = []
    var firstBucket: Int32 = none
    private var lastStamp: UInt64 = 0

    /// Bumped whenever a key leaves this shard or the disk copy of a non-resident key changes; a reader that
    /// loaded a key from disk without the lock promotes it only if the epoch did not move meanwhile.
    var epoch: UInt64 = 0
    var hits = 0
    var misses = 0
    var evictions = 0

    init(policy: EvictionPolicy) {
        self.policy = policy
    }

    var count: Int { index.count }

    /// How many slots exist (used or free): the end of a slot-order scan.
    var slotCount: Int { nodes.count }

    func slot(of key: String) -> Int32? {
        index.slot(tag: MemoryTierIndex.tag(of: key)) { nodes[Int($0)].record.holds(key) }
    }

    /// Every key held (unordered).
    var keys: [String] {
        index.values.map { nodes[Int($0)].record.key }
    }

    func entry(at slot: Int32) -> CacheEntry {
        nodes[Int(slot)].record.entry
    }

    /// Whether the disk tiers may hold an older copy of the entry in `slot` (see `MemoryTierRecord.isNewerThanDisk`).
    func isNewerThanDisk(at slot: Int32) -> Bool {
        nodes[Int(slot)].record.isNewerThanDisk
    }

    /// The disk tiers were given the entry in `slot` as it is.
    mutating func markWrittenThrough(at slot: Int32) {
        nodes[Int(slot)].record.markWrittenThrough()
    }

    /// Whether the entry in `slot` is expired at `now` (without making the entry).
    func isExpired(at slot: Int32, now: Double) -> Bool {
        nodes[Int(slot)].record.isExpired(at: now)
    }

    /// The entry in a slot, nil for a free slot.
    func entryIfPresent(at slot: Int) -> CacheEntry? {
        let record = nodes[slot].record
        return record.isFree ? nil : record.entry
    }

    /// Adds an entry whose key is not present; returns its slot.
    @discardableResult
    mutating func insert(_ entry: CacheEntry) -> Int32 {
        let slot: Int32
        if let free = freeSlots.popLast() {
            slot = free
            nodes[Int(slot)] = Node(record: MemoryTierRecord(entry))
            l2MayHoldCopy[Int(slot)] = true
        } else {
            slot = Int32(nodes.count)
            nodes.append(Node(record: MemoryTierRecord(entry)))
            l2MayHoldCopy.append(true)
        }
        index.insert(tag: MemoryTierIndex.tag(of: entry.key), slot: slot)
        usedBytes += entry.estimatedBytes
        nodes[Int(slot)].stamp = nextStamp()
        switch policy {
        case .lru, .fifo: linkAtTail(slot)
        case .lfu: placeByFrequency(slot)
        }
        return slot
    }

    /// Whether a victim L2 may hold a copy of the key in `slot`; from now on it does not (the caller queues L2's
    /// delete when this returns true).
    mutating func takeL2Copy(at slot: Int32) -> Bool {
        defer { l2MayHoldCopy[Int(slot)] = false }
        return l2MayHoldCopy[Int(slot)]
    }

    /// Replaces the entry in `slot` (same key) and counts it as a use.
    mutating func replace(at slot: Int32, with entry: CacheEntry) {
        usedBytes += entry.estimatedBytes - nodes[Int(slot)].record.estimatedBytes
        nodes[Int(slot)].record.store(entry)
        touch(slot)
    }

    /// Changes the entry in `slot` in place and counts it as a use.
    mutating func modify<R>(at slot: Int32, _ body: (inout CacheEntry) -> R) -> R {
        var entry = nodes[Int(slot)].record.entry
        let before = entry.estimatedBytes
        let result = body(&entry)
        usedBytes += entry.estimatedBytes - before
        nodes[Int(slot)].record.store(entry)
        touch(slot)
        return result
    }

    /// Counts a hit of `key`'s entry, in `slot`, at `now` (`access_count` + 1, `last_accessed = now`) and a use, and
    /// returns the entry (with `key` as its key): `modify` for the commonest change, without storing the entry back.
    mutating func recordHit(of key: String, at slot: Int32, now: Double) -> CacheEntry {
        nodes[Int(slot)].record.recordHit(at: now)
        touch(slot)
        return nodes[Int(slot)].record.entry(key: key)
    }

    /// Records a use of `slot`: lru moves it to the tail, lfu re-files it under its access count.
    mutating func touch(_ slot: Int32) {
        switch policy {
        case .fifo:
            return
        case .lru:
            nodes[Int(slot)].stamp = nextStamp()
            guard tail != slot else { return }
            unlink(slot)
            linkAtTail(slot)
        case .lfu:
            nodes[Int(slot)].stamp = nextStamp()
            placeByFrequency(slot)
        }
    }

    /// Removes the entry in `slot` and returns it.
    @discardableResult
    mutating func remove(at slot: Int32) -> CacheEntry {
        let entry = nodes[Int(slot)].record.entry
        switch policy {
        case .lru, .fifo: unlink(slot)
        case .lfu: removeFromBucket(slot)
        }
        nodes[Int(slot)] = Node(record: .free)
        index.remove(tag: MemoryTierIndex.tag(of: entry.key), slot: slot)
        usedBytes -= entry.estimatedBytes
        freeSlots.append(slot)
        epoch &+= 1
        return entry
    }

    /// Removes everything; returns how many entries there were. Slots are kept for reuse.
    mutating func removeAll() -> Int {
        let removed = index.count
        index.removeAll()
        usedBytes = 0
        nodes.removeAll(keepingCapacity: true)
        l2MayHoldCopy.removeAll(keepingCapacity: true)
        freeSlots.removeAll(keepingCapacity: true)
        buckets.removeAll(keepingCapacity: true)
        freeBuckets.removeAll(keepingCapacity: true)
        head = Self.none
        tail = Self.none
        firstBucket = Self.none
        epoch &+= 1
        return removed
    }

    /// The entry to evict first, skipping the entry of `sparedKey` (the one just stored).
    func candidate(sparing sparedKey: String?) -> Candidate? {
        var slot: Int32
        switch policy {
        case .lru, .fifo:
            slot = head
            if slot != Self.none, let sparedKey, nodes[Int(slot)].record.holds(sparedKey) {
                slot = nodes[Int(slot)].next
            }
        case .lfu:
            slot = firstFrequencyCandidate(sparing: sparedKey)
        }
        guard slot != Self.none else { return nil }
        // Field by field: a copy of the node retains and releases its record's storage (5% of a GET from disk,
        // where each L1 miss asks every shard for its candidate).
        let index = Int(slot)
        return Candidate(
            slot: slot,
            frequency: policy == .lfu ? nodes[index].record.uses : 0,
            stamp: nodes[index].stamp
        )
    }

    // MARK: The lru/fifo list

    private mutating func linkAtTail(_ slot: Int32) {
        nodes[Int(slot)].prev = tail
        nodes[Int(slot)].next = Self.none
        if tail != Self.none {
            nodes[Int(tail)].next = slot
        } else {
            head = slot
        }
        tail = slot
    }

    private mutating func unlink(_ slot: Int32) {
        let prev = nodes[Int(slot)].prev
        let next = nodes[Int(slot)].next
        if prev != Self.none { nodes[Int(prev)].next = next } else { head = next }
        if next != Self.none { nodes[Int(next)].prev = prev } else { tail = prev }
        nodes[Int(slot)].prev = Self.none
        nodes[Int(slot)].next = Self.none
    }

    // MARK: Stamps

    /// Monotonic nanoseconds, strictly increasing within the shard.
    private mutating func nextStamp() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        let now = UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
        lastStamp = max(now, lastStamp &+ 1)
        return lastStamp
    }
}

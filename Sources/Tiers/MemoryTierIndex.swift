/// The key index of one memory-tier shard: an open-addressing hash table from a key's hash to its slot.
///
/// A `[String: Int32]` holds a second copy of every key's 16-byte `String` beside the one in the entry, at a load
/// factor of 3/8 to 3/4: 21 to 43 bytes per entry. This table holds 8 bytes per bucket at the same load factor
/// (11 to 21 bytes per entry): the slot, and 32 bits of the key's hash as a tag that settles almost every probe
/// without reading the entry and places the bucket again when the table grows or a neighbour is removed. The key
/// itself is read from the entry in the slot (the caller's `matches`), so it is held once. Linear probing;
/// removal shifts the following buckets back (no tombstones), so lookups never slow down with churn.
///
/// Keys are hashed and compared as `String`s (`Hasher`, `==`), exactly as the dictionary did.
struct MemoryTierIndex {
    /// 0 for an empty bucket, else the key's tag in the high 32 bits and its slot + 1 in the low 32 bits.
    private var buckets: [UInt64] = []
    /// How many keys are indexed.
    private(set) var count = 0

    /// The tag of `key`: the low 32 bits of its hash (its home bucket is the tag modulo the table size).
    @inline(__always)
    static func tag(of key: String) -> UInt32 {
        UInt32(truncatingIfNeeded: key.hashValue)
    }

    /// The slot of the key with `tag` for which `matches(slot)` holds, nil when there is none.
    @inline(__always)
    func slot(tag: UInt32, where matches: (Int32) -> Bool) -> Int32? {
        guard !buckets.isEmpty else { return nil }
        let mask = buckets.count - 1
        var position = Int(tag) & mask
        while true {
            let bucket = buckets[position]
            if bucket == 0 { return nil }
            if UInt32(truncatingIfNeeded: bucket >> 32) == tag {
                let slot = Int32(truncatingIfNeeded: bucket & 0xFFFF_FFFF) - 1
                if matches(slot) { return slot }
            }
            position = (position + 1) & mask
        }
    }

    /// Indexes `slot` under `tag`; the key must not be indexed yet.
    mutating func insert(tag: UInt32, slot: Int32) {
        if (count + 1) * 4 > buckets.count * 3 {
            grow()
        }
        place(UInt64(tag) << 32 | UInt64(UInt32(slot) + 1))
        count += 1
    }

    /// Removes the bucket of `slot`, indexed under `tag`.
    mutating func remove(tag: UInt32, slot: Int32) {
        guard !buckets.isEmpty else { return }
        let mask = buckets.count - 1
        let wanted = UInt64(tag) << 32 | UInt64(UInt32(slot) + 1)
        var hole = Int(tag) & mask
        while buckets[hole] != wanted {
            if buckets[hole] == 0 { return }
            hole = (hole + 1) & mask
        }
        // Shift back every following bucket of the run whose home is not between the hole and itself.
        var position = hole
        while true {
            position = (position + 1) & mask
            let bucket = buckets[position]
            if bucket == 0 { break }
            let home = Int(UInt32(truncatingIfNeeded: bucket >> 32)) & mask
            let homeIsBetween =
                hole <= position ? (hole < home && home <= position) : (hole < home || home <= position)
            if !homeIsBetween {
                buckets[hole] = bucket
                hole = position
            }
        }
        buckets[hole] = 0
        count -= 1
    }

    /// Removes every key, keeping the table's size for reuse.
    mutating func removeAll() {
        for position in buckets.indices { buckets[position] = 0 }
        count = 0
    }

    /// The indexed slots (what the keys map to), in table order.
    var values: [Int32] {
        buckets.compactMap { $0 == 0 ? nil : Int32(truncatingIfNeeded: $0 & 0xFFFF_FFFF) - 1 }
    }

    /// The table's bytes, for the memory estimate.
    var tableBytes: Int { buckets.capacity * MemoryLayout<UInt64>.stride }

    /// Puts a bucket at the first free position from its home.
    private mutating func place(_ bucket: UInt64) {
        let mask = buckets.count - 1
        var position = Int(UInt32(truncatingIfNeeded: bucket >> 32)) & mask
        while buckets[position] != 0 {
            position = (position + 1) & mask
        }
        buckets[position] = bucket
    }

    /// Doubles the table (16 buckets at first) and places every bucket again.
    private mutating func grow() {
        let old = buckets
        buckets = Array(repeating: 0, count: max(16, old.count * 2))
        for bucket in old where bucket != 0 {
            place(bucket)
        }
    }
}

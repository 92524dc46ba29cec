// The lfu order: one list of entries per access count, the lists ("buckets") chained in ascending count.
//
// Eviction takes the head of the first bucket: O(1). A use that bumps the access count by one moves the entry
// to the next bucket: O(1). A count that jumps (an entry promoted from disk with a high count, HSET
// access_count) walks the bucket chain from the entry's old bucket: O(number of distinct counts passed).

/// One list of entries that share an access count.
struct FrequencyBucket {
    var frequency: Int
    var head: Int32
    var tail: Int32
    var prev: Int32
    var next: Int32
}

extension MemoryTierStorage {
    /// Files `slot` at the tail of the bucket of its entry's access count.
    mutating func placeByFrequency(_ slot: Int32) {
        let frequency = nodes[Int(slot)].record.uses
        let old = nodes[Int(slot)].bucket
        if old != Self.none {
            if buckets[Int(old)].frequency == frequency, buckets[Int(old)].tail == slot { return }
            unlinkFromBucket(slot, old)
        }
        let target = bucket(for: frequency, near: old != Self.none ? old : firstBucket)
        appendToBucket(slot, target)
        if old != Self.none, old != target, buckets[Int(old)].head == Self.none {
            freeBucket(old)
        }
    }

    /// Takes `slot` out of its bucket, dropping the bucket if it empties.
    mutating func removeFromBucket(_ slot: Int32) {
        let bucket = nodes[Int(slot)].bucket
        guard bucket != Self.none else { return }
        unlinkFromBucket(slot, bucket)
        if buckets[Int(bucket)].head == Self.none {
            freeBucket(bucket)
        }
    }

    /// The least recently used entry of the lowest count, skipping `sparedKey`'s entry.
    func firstFrequencyCandidate(sparing sparedKey: String?) -> Int32 {
        var bucket = firstBucket
        while bucket != Self.none {
            var slot = buckets[Int(bucket)].head
            while slot != Self.none {
                if sparedKey == nil || !nodes[Int(slot)].record.holds(sparedKey!) { return slot }
                slot = nodes[Int(slot)].next
            }
            bucket = buckets[Int(bucket)].next
        }
        return Self.none
    }

    /// The bucket of `frequency`, made if missing, found by walking from `start`.
    private mutating func bucket(for frequency: Int, near start: Int32) -> Int32 {
        guard start != Self.none else {
            let made = makeBucket(frequency, prev: Self.none, next: Self.none)
            firstBucket = made
            return made
        }
        var bucket = start
        if buckets[Int(bucket)].frequency <= frequency {
            while case let next = buckets[Int(bucket)].next, next != Self.none,
                buckets[Int(next)].frequency <= frequency
            {
                bucket = next
            }
            if buckets[Int(bucket)].frequency == frequency { return bucket }
            let made = makeBucket(frequency, prev: bucket, next: buckets[Int(bucket)].next)
            return made
        }
        while case let prev = buckets[Int(bucket)].prev, prev != Self.none, buckets[Int(prev)].frequency >= frequency {
            bucket = prev
        }
        if buckets[Int(bucket)].frequency == frequency { return bucket }
        return makeBucket(frequency, prev: buckets[Int(bucket)].prev, next: bucket)
    }

    /// Makes a bucket and links it between `prev` and `next`.
    private mutating func makeBucket(_ frequency: Int, prev: Int32, next: Int32) -> Int32 {
        let value = FrequencyBucket(frequency: frequency, head: Self.none, tail: Self.none, prev: prev, next: next)
        let bucket: Int32
        if let free = freeBuckets.popLast() {
            bucket = free
            buckets[Int(bucket)] = value
        } else {
            bucket = Int32(buckets.count)
            buckets.append(value)
        }
        if prev != Self.none { buckets[Int(prev)].next = bucket } else { firstBucket = bucket }
        if next != Self.none { buckets[Int(next)].prev = bucket }
        return bucket
    }

    private mutating func freeBucket(_ bucket: Int32) {
        let prev = buckets[Int(bucket)].prev
        let next = buckets[Int(bucket)].next
        if prev != Self.none { buckets[Int(prev)].next = next } else { firstBucket = next }
        if next != Self.none { buckets[Int(next)].prev = prev }
        freeBuckets.append(bucket)
    }

    private mutating func appendToBucket(_ slot: Int32, _ bucket: Int32) {
        let tail = buckets[Int(bucket)].tail
        nodes[Int(slot)].bucket = bucket
        nodes[Int(slot)].prev = tail
        nodes[Int(slot)].next = Self.none
        if tail != Self.none {
            nodes[Int(tail)].next = slot
        } else {
            buckets[Int(bucket)].head = slot
        }
        buckets[Int(bucket)].tail = slot
    }

    private mutating func unlinkFromBucket(_ slot: Int32, _ bucket: Int32) {
        let prev = nodes[Int(slot)].prev
        let next = nodes[Int(slot)].next
        if prev != Self.none { nodes[Int(prev)].next = next } else { buckets[Int(bucket)].head = next }
        if next != Self.none { nodes[Int(next)].prev = prev } else { buckets[Int(bucket)].tail = prev }
        nodes[Int(slot)].prev = Self.none
        nodes[Int(slot)].next = Self.none
        nodes[Int(slot)].bucket = Self.none
    }
}

// How the tiered cache reads the disk tiers and hands them writes.

/// What the disk tiers hold for a key, found below L1.
enum DiskLookup: Sendable {
    case absent
    case found(CacheEntry, TierID)
    case expired(TierID)

    /// Whether an unexpired entry was found.
    var isLive: Bool {
        if case .found = self { return true }
        return false
    }
}

/// The disk tiers a read on an event loop read, and what it found, to be counted once the call answers.
struct DiskReads {
    /// One bit per index in `TieredCache.disks`; each tier read but the last one missed.
    var tiers = 0
    /// The index of the last tier read.
    var last = 0
    /// What the last tier read answered.
    var lookup = DiskLookup.absent
}

extension TieredCache {
    /// Queues a write to every disk tier (call it under the key's L1 shard lock, once L1 has taken the write):
    /// `slot` is where L1 holds the key now, nil if it does not.
    ///
    /// A victim L2 (`L2Mode.victim`) holds only what L1 evicted: a write of a key L1 holds, and L2 has no copy of
    /// (L1's slot says so), skips L2; any other write makes L2 drop its copy, and L1's slot then says L2 has none.
    ///
    /// A put is of the entry `slot` holds: the slot is then marked as written through, and the shutdown does not
    /// write it again unless it changes (`persistResidentEntries`).
    ///
    /// Inlined, so that without disk tiers the caller never builds the write (a copy of the entry per SET).
    @inline(__always)
    func writeThrough(_ write: StoreWrite, heldAt slot: Int32?, in storage: inout MemoryTierStorage) {
        guard !disks.isEmpty else { return }
        if let slot, case .put = write { storage.markWrittenThrough(at: slot) }
        writeThrough(write, toL2: l2Write(for: write, heldAt: slot, in: &storage))
    }

    /// What L2 gets for `write` (see `writeThrough(_:heldAt:in:)`): the write itself, or for a victim L2 a delete
    /// when it may hold a copy, else nothing.
    func l2Write(for write: StoreWrite, heldAt slot: Int32?, in storage: inout MemoryTierStorage) -> StoreWrite? {
        guard l2IsVictimCache else { return write }
        let l2MayHoldKey = slot.map { storage.takeL2Copy(at: $0) } ?? true
        return l2MayHoldKey ? .delete(key: write.key) : nil
    }

    /// Queues a write to every disk tier (call it under the key's L1 shard lock), without knowing where L1 holds the
    /// key: a victim L2 drops its copy.
    @inline(__always)
    func writeThrough(_ write: StoreWrite) {
        guard !disks.isEmpty else { return }
        writeThrough(write, toL2: l2IsVictimCache ? .delete(key: write.key) : write)
    }

    /// Queues `write` to L3 and `l2Write` to L2 (nil: nothing, but L2 holds the journal record all the same).
    private func writeThrough(_ write: StoreWrite, toL2 l2Write: StoreWrite?) {
        guard let journal else {
            for disk in disks {
                if disk.id != .l2 {
                    disk.enqueue(write)
                } else if let l2Write {
                    disk.enqueue(l2Write)
                }
            }
            return
        }
        journal.append(.write(write)) { sequence in
            for disk in disks {
                if disk.id != .l2 {
                    disk.enqueue(write, journalSequence: sequence)
                } else if let l2Write {
                    disk.enqueue(l2Write, journalSequence: sequence)
                } else {
                    disk.noteJournalSequence(sequence)
                }
            }
        }
    }

    /// Hands an entry evicted from L1 to the first disk tier, L2 if there is one (called under the evicting shard's
    /// lock).
    ///
    /// Every tier below already holds the entry (written through): a demotion only carries the access figures
    /// that hits kept in L1 and `evicted_from_l1`, and puts the entry back into a bounded L2 that may have evicted
    /// it. So it goes to one tier, and not through the journal: it changes no data a client wrote, and after a
    /// crash L3 still holds the entry. Writing every demotion to L2 and L3 through the journal made each L1 miss
    /// cost three more disk writes.
    func demote(_ entry: CacheEntry) {
        guard let disk = disks.first else {
            // With L1 alone an eviction deletes the key: a change for WATCH, as Redis signals an evicted key.
            changed(entry.key)
            return
        }
        var demoted = entry
        demoted.evictedFromL1 = true
        disk.enqueue(.put(demoted))
        counters.withLockedValue { $0.demotions += 1 }
    }

    func diskTier(_ tier: TierID) -> DiskTier? {
        switch tier {
        case .l1: nil
        case .l2: l2Tier
        case .l3: l3Tier
        }
    }

    /// Whether a call in `mode` reads the disk tiers when L1 misses, rather than throwing `wouldBlock`: always with
    /// `.mayBlock`, with `.localReads` when every disk tier's store can be read without waiting.
    func readsDisk(_ mode: IOMode) -> Bool {
        switch mode {
        case .mayBlock: true
        case .localReads: disksReadWithoutWaiting
        case .memoryOnly: false
        }
    }

    /// Reads a key from L2 then L3 (their overlays first, then the writes they lost), without any lock. Failing
    /// and stale tiers read as misses, and so does everything while a FLUSHALL runs. With `counting`, counts
    /// hits and misses per tier.
    func lookupDisk(_ key: String, now: Double, counting: Bool) -> DiskLookup {
        // A read that started before the FLUSHALL finds its shard's epoch moved (L1 was cleared) and reads again.
        guard flushesRunning.withLockedValue({ $0 == 0 }) else { return .absent }
        for disk in disks where disk.isReadable() {
            let lookup = disk.read(key, now: now, counting: counting)
            if case .absent = lookup { continue }
            return lookup
        }
        return .absent
    }

    /// `lookupDisk` for a call in `mode` (call it where `readsDisk(mode)` holds). With `.localReads`, on an event
    /// loop, every tier is read without waiting: a tier that cannot answer so (due for a probe, its connections for
    /// event loops in use, a failure) throws `wouldBlock`, having changed nothing, and the caller reads again off the
    /// loop. Its hits and misses are not counted here but returned (with `counting`), for the caller to `count`
    /// once it answers; other modes count them as they read.
    func lookupDisk(
        _ key: String,
        now: Double,
        counting: Bool,
        mode: IOMode
    ) throws(TieredCacheError) -> (lookup: DiskLookup, reads: DiskReads?) {
        guard mode == .localReads else { return (lookupDisk(key, now: now, counting: counting), nil) }
        guard flushesRunning.withLockedValue({ $0 == 0 }) else { return (.absent, nil) }
        var reads = DiskReads()
        for (index, disk) in disks.enumerated() {
            guard let readable = disk.isReadableWithoutWaiting() else { throw .wouldBlock }
            guard readable else { continue }
            guard let found = disk.readWithoutWaiting(key, now: now) else { throw .wouldBlock }
            reads.tiers |= 1 << index
            reads.last = index
            reads.lookup = found
            if case .absent = found { continue }
            break
        }
        return (reads.lookup, counting ? reads : nil)
    }

    /// Counts the hits and misses of `reads` on their tiers.
    func count(_ reads: DiskReads) {
        for (index, disk) in disks.enumerated() where reads.tiers & (1 << index) != 0 {
            disk.count(index == reads.last ? reads.lookup : .absent)
        }
    }

    /// The entry the first disk tier's writer holds queued for `key`, when that alone answers a read (call it under
    /// the key's shard lock): a write not yet committed is in memory, so the read needs neither the disk nor a
    /// blocking thread. Recently demoted entries are found here while the apply window holds them. Nil when the
    /// disks must be read: nothing queued, a queued delete (L3 may still be asked), a FLUSHALL running, or a tier
    /// that is disabled or stale.
    func lookupQueued(_ key: String, now: Double) -> DiskLookup? {
        guard let disk = disks.first, let entry = disk.queuedEntry(key), flushesRunning.withLockedValue({ $0 == 0 })
        else { return nil }
        return disk.answer(entry, now: now, counting: true)
    }

    /// Applies a disk read under the key's shard lock (its epoch unchanged since the read): promotes a found
    /// entry into L1 (and, from L3, into L2), or removes an expired one everywhere. Returns the entry
    /// now resident, if any.
    func settle(
        _ lookup: DiskLookup,
        key: String,
        in storage: inout MemoryTierStorage,
        now: Double,
        bump: Bool
    ) -> CacheEntry? {
        switch lookup {
        case .absent:
            return nil
        case .expired(let tier):
            storage.epoch &+= 1
            writeThrough(.delete(key: key))
            countTTLEviction(on: tier)
            return nil
        case .found(var entry, let tier):
            entry.evictedFromL1 = false
            if bump {
                entry.accessCount += 1
                entry.lastAccessed = now
            }
            storage.insert(entry)
            // With a write-through L2 an L3 hit fills L2 too (a victim L2 gets the entry when L1 evicts it). The
            // disk copies keep their (older) access figures and evicted_from_l1 until the entry is next written or
            // demoted: rewriting every tier on each promotion doubled the disk work of a miss.
            let fillsL2 = tier == .l3 && l2Tier != nil && !l2IsVictimCache
            if fillsL2, let l2 = l2Tier {
                l2.enqueue(.put(entry))
            }
            let promotions = fillsL2 ? 2 : 1
            counters.withLockedValue { $0.promotions += promotions }
            return entry
        }
    }

    /// Removes an expired resident entry from every tier.
    func expireResident(_ slot: Int32, in storage: inout MemoryTierStorage) {
        let entry = storage.remove(at: slot)
        writeThrough(.delete(key: entry.key))
        countTTLEviction(on: .l1)
    }

    func countTTLEviction(on tier: TierID) {
        if let disk = diskTier(tier) {
            disk.countTTLEviction()
        } else {
            counters.withLockedValue { $0.l1EvictionsTTL += 1 }
        }
    }

    /// Counts a health eviction on L1 and on every enabled disk tier (written through, they held the entry).
    func countHealthEviction() {
        counters.withLockedValue { $0.l1EvictionsHealth += 1 }
        for disk in disks {
            disk.countHealthEviction()
        }
    }

    /// The write that brings a key up to date on a tier that lost `lost`, its last write of the key (called on
    /// that tier's writer thread): L1's entry when resident (made of every write of the key, so never older),
    /// else the lost write itself.
    ///
    /// Never "absent from the other tiers, so delete": L1 and L2 are bounded and evict, so their missing a key
    /// proves nothing.
    static func repairWrite(replaying lost: StoreWrite, from l1: MemoryTier) -> StoreWrite {
        if let entry = l1.peek(lost.key) { return .put(entry) }
        return lost
    }
}

// L1's figures and its memory bound, for INFO, CONFIG GET and CONFIG SET.

extension TieredCache {
    /// L1's entries and their estimated bytes (what `--l1-max-memory` bounds).
    public var l1Usage: MemoryTier.Usage {
        MemoryTier.Usage(entries: l1.count, bytes: l1.usedBytes)
    }

    /// L1's bound on its entries' estimated bytes; nil: none.
    public var l1MaxMemory: Int? {
        l1.maxMemory
    }

    /// Changes L1's memory bound (CONFIG SET maxmemory; nil: none) and evicts down to it at once, demoting what it
    /// evicts to the disk tiers as any eviction does.
    public func changeL1MaxMemory(to maxMemory: Int?) {
        l1.changeMaxMemory(to: maxMemory, onEvict: demote)
    }
}

/// What L2 holds when L3 is below it.
public enum L2Mode: String, Sendable, CaseIterable {
    /// What L1 evicts (a victim cache): a write of a key L1 holds goes to L3 alone, L2 drops its copy of a key
    /// that L1 takes back, and an L1 eviction fills L2. Half the disk writes of write-through.
    case victim
    /// Every write goes to L2 and L3, as proxywhirl does; an L3 hit also fills L2.
    case writeThrough = "write-through"
}

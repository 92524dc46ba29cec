/// The three tiers of the cache.
public enum TierID: String, Sendable, CaseIterable, Hashable, CustomStringConvertible {
    /// In memory, bounded, with an eviction policy.
    case l1
    /// On disk: SQLite (`l2_cache.db`) or 16 JSONL shards; bounded.
    case l2
    /// Durable SQLite database with the health history; unbounded by default.
    case l3

    public var description: String { rawValue }
}

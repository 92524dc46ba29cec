/// Which entry a full tier evicts first.
public enum EvictionPolicy: String, Sendable, CaseIterable {
    /// Least recently used (oldest `last_accessed`).
    case lru
    /// Least frequently used (smallest `access_count`, then oldest `last_accessed`).
    case lfu
    /// First in, first out (oldest insertion).
    case fifo
}

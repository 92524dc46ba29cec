/// One copy of an entry found in a proxywhirl cache (its L3, a JSONL shard or its SQLite L2), with the
/// fields that copy really holds: proxywhirl's `l2_cache` has no health-monitoring columns, and older
/// JSONL lines lack them too, so such a copy says nothing about those fields.
struct ProxywhirlCopy: Sendable {
    /// Where a copy comes from; on equal recency the higher one wins (L3, then JSONL, then SQLite L2).
    enum Origin: Int, Sendable, Comparable {
        case sqliteL2 = 0
        case jsonl = 1
        case l3 = 2

        static func < (lhs: Origin, rhs: Origin) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    var entry: CacheEntry
    /// The fields this copy holds (a column or a JSON key exists for them, even when NULL).
    var fields: Set<CacheEntry.Field>
    /// When the copy was last touched (later of `last_accessed` and L3's `updated_at`).
    var recency: Double
    var origin: Origin

    /// Merges the copies of one key field by field: for each field, the newest copy that holds it wins
    /// (on equal recency the higher origin). `nil` for no copies.
    static func merge(_ copies: [ProxywhirlCopy]) -> CacheEntry? {
        let ordered = copies.sorted { ($0.recency, $0.origin) < ($1.recency, $1.origin) }
        guard var merged = ordered.first?.entry else { return nil }
        for copy in ordered.dropFirst() {
            for field in copy.fields {
                merged[field] = copy.entry[field]
            }
        }
        return merged
    }
}

// The keys of store writes, as the writers' overlays and coalescing use them.

extension StoreWrite {
    /// The key of a put or delete (the writes the overlay tracks); nil for a health record.
    var replaceableKey: String? {
        switch self {
        case .put(let entry): entry.key
        case .delete(let key): key
        case .appendHealth: nil
        }
    }

    /// The key the write concerns.
    var key: String {
        switch self {
        case .put(let entry): entry.key
        case .delete(let key): key
        case .appendHealth(let key, _, _): key
        }
    }

    /// The entry a put stores; nil for a delete or a health record.
    var putEntry: CacheEntry? {
        if case .put(let entry) = self { return entry }
        return nil
    }
}

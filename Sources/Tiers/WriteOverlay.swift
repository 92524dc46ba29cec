/// The puts and deletes a tier's writer has queued and not yet committed, by key: what a reader of that tier
/// must see instead of the store (read-your-writes).
///
/// Not synchronised: the `TierWriter` guards it with its queue lock.
struct WriteOverlay {
    struct Pending {
        /// The sequence number of the newest write of the key.
        var sequence: UInt64
        /// The entry as it will be once committed; nil for a delete.
        var entry: CacheEntry?
        /// The queue position of that write while the writer has not taken it: a newer write of the key can
        /// replace it in place (nil once taken, once a health record of the key was queued behind it, and
        /// always for a delete, which must reach the store before a later put of the key).
        var position: UInt64?
    }

    private var pending: [String: Pending] = [:]

    var count: Int { pending.count }

    /// The pending state of `key`: nil if none, `.some(nil)` if a delete is pending.
    func lookup(_ key: String) -> CacheEntry?? {
        guard let item = pending[key] else { return nil }
        return .some(item.entry)
    }

    /// Records a queued put (`entry`) or delete (nil) of `key` with one lookup of the key, and returns the queue
    /// position of the write it replaces in place, if the key has one that may be replaced; else the write is
    /// appended at `end`. A put may itself be replaced later, at the position it takes; a delete may not.
    mutating func record(_ key: String, entry: CacheEntry?, sequence: UInt64, appendingAt end: UInt64) -> UInt64? {
        // The `default:` subscript hashes the key once for the read and the write.
        Self.replace(
            &pending[key, default: Pending(sequence: 0, entry: nil, position: nil)],
            with: entry,
            sequence: sequence,
            appendingAt: end
        )
    }

    /// Puts the newer write in `item`'s place; returns the position of the write it replaces in place, if any.
    private static func replace(
        _ item: inout Pending,
        with entry: CacheEntry?,
        sequence: UInt64,
        appendingAt end: UInt64
    ) -> UInt64? {
        let replaced = item.position
        item = Pending(sequence: sequence, entry: entry, position: entry == nil ? nil : replaced ?? end)
        return replaced
    }

    /// The write of `key` at `position` can no longer be replaced in place.
    mutating func seal(_ key: String, at position: UInt64? = nil) {
        // One hash lookup: the index finds the item, and it is changed in place there.
        guard let index = pending.index(forKey: key), let itemPosition = pending.values[index].position else { return }
        if position == nil || itemPosition == position {
            pending.values[index].position = nil
        }
    }

    /// The write of `key` with sequence `sequence` was committed (or lost): forget it unless superseded.
    mutating func settle(_ key: String, sequence: UInt64) {
        if let index = pending.index(forKey: key), pending.values[index].sequence <= sequence {
            pending.remove(at: index)
        }
    }
}

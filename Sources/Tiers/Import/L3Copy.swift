/// Copies one L3 store's entries, each with its whole health history, into another L3 store: what
/// `cachesrvd migrate-l3` does from a host's SQLite L3 into a fleet's PostgreSQL L3.
///
/// The keys are read in batches (`batchKeys`); each batch is one `apply` of the target, so one transaction: its
/// deletes (overwrites), then its puts (the target's multi-row upserts), then the histories, oldest record first, so
/// that the target's history keeps the order. An entry is decrypted by the source's cipher and encrypted again by the
/// target's; nothing here prints or logs an entry.
///
/// A key the target already holds is a conflict (`ConflictPolicy`); the history goes with the entry only when the
/// entry is written. Expired entries are not copied (a sweep would delete them) and are counted. The check for a
/// conflict and the batch's write are not one atomic step: a key another process writes into the target in between
/// is overwritten by the copy.
public enum L3Copy {
    /// What to do with a key the target already holds.
    public enum ConflictPolicy: String, Sendable, CaseIterable {
        /// Keep the target's entry and history; the source's copy is counted as skipped.
        case skip
        /// Replace the target's entry and its whole history with the source's.
        case overwrite
    }

    /// The default number of keys per batch (one transaction of the target each).
    public static let defaultBatchKeys = 500

    /// What a copy did.
    public struct Summary: Sendable, Equatable {
        /// Entries written into the target (overwritten ones included).
        public var copied = 0
        /// Of `copied`, entries that replaced one the target held (`.overwrite`).
        public var overwritten = 0
        /// Entries not copied because the target held the key (`.skip`).
        public var skipped = 0
        /// Entries not copied because they had expired.
        public var expired = 0
        /// Health records written into the target.
        public var historyRecords = 0

        public init() {}
    }

    /// Copies every live entry of `source` with its history into `target`.
    ///
    /// - Parameters:
    ///   - source: the store read (scanned by key, each entry read with `get` and `history`).
    ///   - target: the store written, one `apply` per batch.
    ///   - onConflict: what to do with a key `target` already holds.
    ///   - batchKeys: keys per batch (at least 1).
    ///   - now: the time against which entries are expired.
    /// - Returns: what was copied, skipped and expired.
    /// - Throws: the first `StoreError` of either store; the batches committed before it stay in `target`.
    public static func run(
        from source: any PersistentStore,
        into target: any PersistentStore,
        onConflict: ConflictPolicy,
        batchKeys: Int = defaultBatchKeys,
        now: Double
    ) throws(StoreError) -> Summary {
        var summary = Summary()
        var cursor: UInt64 = 0
        repeat {
            let page = try source.scanKeys(cursor: cursor, limit: max(batchKeys, 1))
            cursor = page.next
            var deletes: [StoreWrite] = []
            var puts: [StoreWrite] = []
            var histories: [StoreWrite] = []
            for key in page.keys {
                guard let entry = try source.get(key) else { continue }
                if entry.isExpired(at: now) {
                    summary.expired += 1
                    continue
                }
                if try target.get(key) != nil {
                    guard onConflict == .overwrite else {
                        summary.skipped += 1
                        continue
                    }
                    // The target's history goes with its entry (the delete cascades).
                    deletes.append(.delete(key: key))
                    summary.overwritten += 1
                }
                puts.append(.put(entry))
                let history = try source.history(key, limit: Int.max)
                for record in history.reversed() {
                    histories.append(.appendHealth(key: key, record: record, keep: Int.max))
                }
                summary.copied += 1
                summary.historyRecords += history.count
            }
            let writes = deletes + puts + histories
            if !writes.isEmpty {
                try target.apply(writes)
            }
        } while cursor != 0
        return summary
    }
}

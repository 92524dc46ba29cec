extension SQLiteStore {
    // MARK: Writes (the writer connection, called from the tier's writer thread)

    /// Applies the writes in order in one `BEGIN IMMEDIATE ... COMMIT`; nothing is kept if one fails. Puts are
    /// upserts (L3: keeping `created_at`), deletes cascade to the health history (L3), history appends are skipped
    /// when the key has no entry and trimmed to the newest `keep` (L2 keeps no history: they are skipped).
    public func apply(_ writes: [StoreWrite]) throws(StoreError) {
        try apply(writes, journalThrough: nil)
    }

    /// `apply(_:)`, recording in the same transaction (when not nil) that the store holds every journaled write up
    /// to the journal sequence `journalThrough`.
    public func apply(_ writes: [StoreWrite], journalThrough: UInt64?) throws(StoreError) {
        guard !writes.isEmpty || journalThrough != nil else { return }
        try pool.withWriter { db throws(StoreError) in
            try write(writes, journalThrough: journalThrough, in: db)
        }
    }

    /// The journal sequence recorded by the last `apply(_:journalThrough:)`, 0 when none was.
    public func appliedJournalSequence() throws(StoreError) -> UInt64? {
        // A read: the loop readers keep their snapshots.
        try pool.withWriter(.reading) { db throws(StoreError) in
            let statement = try db.statement(SQLiteSchema.journalSequenceQuery)
            guard try statement.step() else { return UInt64(0) }
            return UInt64(clamping: statement.int64(0))
        }
    }

    /// Applies the writes in one transaction on `db`, the writer connection (its lock held by the caller), and
    /// records `journalThrough` in it.
    func write(_ writes: [StoreWrite], journalThrough: UInt64? = nil, in db: SQLiteDatabase) throws(StoreError) {
        guard !writes.isEmpty || journalThrough != nil else { return }
        let cipher = self.cipher
        let now = SystemClock().now()
        try db.immediateTransaction { () throws(StoreError) in
            if let journalThrough {
                let statement = try db.statement(SQLiteSchema.journalSequenceUpdate)
                statement.bind(1, Int(clamping: journalThrough))
                try statement.run()
            }
            // Looked up once per batch (the cache is keyed by SQL text, which costs a hash each time).
            var upsert: SQLiteStatement?
            var update: SQLiteStatement?
            var delete: SQLiteStatement?
            // A put of a row that exists with the same source and health status is an update in place, which leaves
            // those indexes alone (an upsert sets every column, so SQLite rewrites every index entry): a rewrite of
            // an existing key cost about half as much. A batch whose puts mostly make new rows (a bulk load)
            // stops trying it after `Self.inPlaceTrials` puts.
            var tried = 0
            var updated = 0
            for write in writes {
                switch write {
                case .put(let entry):
                    if tried < Self.inPlaceTrials || updated * 2 >= tried {
                        let statement = try cached(&update, queries.updateInPlace, in: db)
                        bind(entry, to: statement, now: now, cipher: cipher)
                        try statement.run()
                        tried += 1
                        if db.changes > 0 {
                            updated += 1
                            continue
                        }
                    }
                    let statement = try cached(&upsert, queries.upsert, in: db)
                    bind(entry, to: statement, now: now, cipher: cipher)
                    try statement.run()
                case .delete(let key):
                    let statement = try cached(&delete, queries.delete, in: db)
                    statement.bind(1, key)
                    try statement.run()
                case .appendHealth(let key, let record, let keep):
                    try appendHealth(key: key, record: record, keep: keep, in: db)
                }
            }
        }
    }

    /// How many puts of a batch try `SQLiteQueries.updateInPlace` first before the batch stops trying it for want
    /// of rows that exist.
    static let inPlaceTrials = 64

    /// Binds a put's parameters: the entry's columns, then (L3) the time of the write.
    private func bind(_ entry: CacheEntry, to statement: SQLiteStatement, now: Double, cipher: CredentialCipher) {
        EntryRow.bind(entry, to: statement, cipher: cipher)
        if schema.hasTimestamps {
            statement.bind(EntryRow.columnCount + 1, now)
        }
    }

    /// `slot`'s statement (fetched from the connection's cache the first time), reset for another run.
    private func cached(
        _ slot: inout SQLiteStatement?,
        _ sql: String,
        in db: SQLiteDatabase
    ) throws(StoreError) -> SQLiteStatement {
        if let statement = slot {
            statement.reset()
            return statement
        }
        let statement = try db.statement(sql)
        slot = statement
        return statement
    }

    /// Inserts a history row if `key` has an entry (else nothing), then keeps its newest `keep` rows.
    private func appendHealth(
        key: String,
        record: HealthCheckRecord,
        keep: Int,
        in db: SQLiteDatabase
    ) throws(StoreError) {
        guard let append = queries.appendHealth, let trim = queries.trimHistory else { return }
        let insert = try db.statement(append)
        insert.bind(1, key)
        insert.bind(2, record.checkTime)
        insert.bind(3, record.status.rawValue)
        insert.bind(4, record.responseTimeMs)
        insert.bind(5, record.errorMessage)
        insert.bind(6, record.checkURL)
        try insert.run()
        guard db.changes > 0 else { return }
        let statement = try db.statement(trim)
        statement.bind(1, key)
        statement.bind(2, max(keep, 0))
        try statement.run()
    }

    /// Deletes entries with `expires_at <= now` (through the expires_at index) and returns their keys.
    public func removeExpired(now: Double) throws(StoreError) -> [String] {
        try deleteReturningKeys(queries.removeExpired) { $0.bind(1, now) }
    }

    /// Deletes entries beyond `maxEntries`, chosen by `policy`, in one statement; returns their keys.
    public func evict(toAtMost maxEntries: Int, policy: EvictionPolicy) throws(StoreError) -> [String] {
        try deleteReturningKeys(queries.evict(policy)) { $0.bind(1, max(maxEntries, 0)) }
    }

    /// Deletes everything (L3: its history too); returns how many entries there were.
    public func removeAll() throws(StoreError) -> Int {
        try pool.withWriter { db throws(StoreError) -> Int in
            try db.immediateTransaction { () throws(StoreError) -> Int in
                let count = try db.statement(queries.count)
                let total = try count.step() ? count.int(0) : 0
                count.reset()
                for sql in queries.removeAll {
                    try db.statement(sql).run()
                }
                return total
            }
        }
    }

    /// Runs a `DELETE ... RETURNING key` in a write transaction and collects the keys.
    private func deleteReturningKeys(
        _ sql: String,
        bind: (SQLiteStatement) -> Void
    ) throws(StoreError) -> [String] {
        try pool.withWriter { db throws(StoreError) -> [String] in
            try db.immediateTransaction { () throws(StoreError) -> [String] in
                let statement = try db.statement(sql)
                defer { statement.reset() }
                bind(statement)
                var keys: [String] = []
                while try statement.step() {
                    keys.append(statement.text(0))
                }
                return keys
            }
        }
    }
}

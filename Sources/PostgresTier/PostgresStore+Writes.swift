import NIOCore
import PostgresNIO
import Tiers

extension PostgresStore {
    // MARK: Writes (the writer connection, called from the tier's writer thread)

    /// Applies the writes in order in one transaction; nothing is kept if one fails. Puts are upserts keeping
    /// `created_at`, deletes cascade to the health history, history appends are skipped when the key has no entry
    /// and trimmed to the newest `keep`.
    public func apply(_ writes: [StoreWrite]) throws(StoreError) {
        try apply(writes, journalThrough: nil)
    }

    /// `apply(_:)`, recording in the same transaction (when not nil) that L3 holds every write of this sidecar's
    /// journal up to `journalThrough`.
    public func apply(_ writes: [StoreWrite], journalThrough: UInt64?) throws(StoreError) {
        guard !writes.isEmpty || journalThrough != nil else { return }
        let now = SystemClock().now()
        var announced = 0
        try withWriter { session throws(StoreError) in
            try session.transaction("cannot write to L3") { () throws(StoreError) in
                if let journalThrough {
                    var binds = PostgresBindings()
                    binds.append(configuration.sidecarID)
                    binds.append(Int64(clamping: journalThrough))
                    try session.query(queries.journalUpdate, binds, "cannot record the journal sequence in L3")
                }
                // Runs of puts go in multi-row upserts (a round trip each), in order with the other writes.
                var puts: [CacheEntry] = []
                var keys = Set<String>()
                func writePuts() throws(StoreError) {
                    try upsert(puts, now: now, in: session)
                    puts.removeAll(keepingCapacity: true)
                    keys.removeAll(keepingCapacity: true)
                }
                for write in writes {
                    guard case .put(let entry) = write else {
                        try writePuts()
                        try self.write(write, now: now, in: session)
                        continue
                    }
                    if puts.count == queries.upsertRowLimit || keys.contains(entry.key) { try writePuts() }
                    puts.append(entry)
                    keys.insert(entry.key)
                }
                try writePuts()
                announced = try notify(keys: writes.map(Self.changedKey), in: session)
            }
        }
        countSent(announced)
    }

    /// One more health failure of `key`, counted in PostgreSQL for the whole fleet (`UPDATE ... RETURNING`, so
    /// failures reported at once on several sidecars all count: nothing of them is overwritten by a put); at
    /// `threshold` the row is deleted (its history cascades) in the same transaction, and the other sidecars are told
    /// either way.
    public func recordHealthFailure(
        _ key: String,
        time: Double,
        error: String?,
        threshold: Int?
    ) throws(StoreError) -> Int? {
        var announced = 0
        let count = try withWriter { session throws(StoreError) -> Int? in
            try session.transaction("cannot count a health failure in L3") { () throws(StoreError) -> Int? in
                var binds = PostgresBindings()
                binds.append(PostgresValues.bytes(key))
                var update = binds
                update.append(time)
                update.append(error.map(PostgresValues.bytes))
                update.append(SystemClock().now())
                let rows = try session.query(queries.incrementFailures, update, "cannot count a health failure in L3")
                guard let cell = rows.first?.first else { return nil }
                let count = Int(try PostgresValues.integer(cell))
                if let threshold, count >= threshold {
                    try session.query(queries.delete, binds, "cannot delete an entry from L3")
                }
                announced = try notify(keys: [key], in: session)
                return count
            }
        }
        countSent(announced)
        return count
    }

    /// The key a write changes.
    static func changedKey(_ write: StoreWrite) -> String {
        switch write {
        case .put(let entry): entry.key
        case .delete(let key): key
        case .appendHealth(let key, _, _): key
        }
    }

    /// Announces the changed keys to the other sidecars inside the transaction that changes them: PostgreSQL
    /// delivers the notices when (and only if) it commits. Returns what to count once it has (`countSent`).
    ///
    /// - Parameter orEverything: whether keys that cannot be named (too many, or one too long) are announced as
    ///   "anything may have changed"; when false they are not announced at all.
    func notify(keys: [String], in session: PostgresSession, orEverything: Bool = true) throws(StoreError) -> Int {
        let payloads = PostgresInvalidation.payloads(
            sender: configuration.sidecarID,
            keys: keys,
            keyLimit: configuration.notifyKeyLimit
        )
        if !orEverything, payloads.first?.hasSuffix(" *") == true { return 0 }
        for payload in payloads {
            var binds = PostgresBindings()
            binds.append(PostgresInvalidation.channel)
            binds.append(payload)
            try session.query("SELECT pg_notify($1, $2)", binds, "cannot notify the other sidecars")
        }
        if payloads.isEmpty { return 0 }
        return payloads.first?.hasSuffix(" *") == true ? 1 : Set(keys).count
    }

    /// Counts keys announced by a committed transaction.
    func countSent(_ announced: Int) {
        if announced > 0 { sent.withLockedValue { $0 += announced } }
    }

    /// This sidecar's journal sequence recorded by the last `apply(_:journalThrough:)`, 0 when none was.
    public func appliedJournalSequence() throws(StoreError) -> UInt64? {
        var binds = PostgresBindings()
        binds.append(configuration.sidecarID)
        let rows = try withWriter { session throws(StoreError) in
            try session.query(queries.journalQuery, binds, "cannot read the journal sequence from L3")
        }
        guard let cell = rows.first?.first else { return 0 }
        return UInt64(clamping: try PostgresValues.integer(cell))
    }

    /// Upserts `entries` (distinct keys, at most `upsertRowLimit`) in one statement; nothing when there are none.
    private func upsert(_ entries: [CacheEntry], now: Double, in session: PostgresSession) throws(StoreError) {
        guard !entries.isEmpty else { return }
        var binds = PostgresBindings(capacity: entries.count * StoredEntryRow.columnNames.count + 1)
        for entry in entries {
            let values = StoredEntryRow.values(of: entry, cipher: cipher)
            for (value, type) in zip(values, PostgresSchema.entryRowTypes) {
                PostgresValues.append(value, as: type, to: &binds)
            }
        }
        binds.append(now)
        try session.query(queries.upsert(rows: entries.count), binds, "cannot write entries to L3")
    }

    private func write(_ write: StoreWrite, now: Double, in session: PostgresSession) throws(StoreError) {
        switch write {
        case .put(let entry):
            try upsert([entry], now: now, in: session)
        case .delete(let key):
            var binds = PostgresBindings()
            binds.append(PostgresValues.bytes(key))
            try session.query(queries.delete, binds, "cannot delete an entry from L3")
        case .appendHealth(let key, let record, let keep):
            var binds = PostgresBindings()
            binds.append(PostgresValues.bytes(key))
            binds.append(record.checkTime)
            binds.append(record.status.rawValue)
            binds.append(record.responseTimeMs)
            binds.append(record.errorMessage.map(PostgresValues.bytes))
            binds.append(record.checkURL.map(PostgresValues.bytes))
            let inserted = try session.query(queries.appendHealth, binds, "cannot append to L3's health history")
            guard !inserted.isEmpty else { return }
            var trim = PostgresBindings()
            trim.append(PostgresValues.bytes(key))
            trim.append(Int64(max(keep, 0)))
            try session.query(queries.trimHistory, trim, "cannot trim L3's health history")
        }
    }

    /// Deletes entries with `expires_at <= now` and returns their keys, once per fleet at a time: the transaction
    /// first tries the sweep's advisory lock (`PostgresSchema.sweepLockKey`) and, when another sidecar holds it (it
    /// is sweeping the same rows now), deletes nothing, returns no key and counts a skipped sweep (`sweepsSkipped`).
    ///
    /// The deleted keys are announced to the other sidecars in the same transaction, so copies they hold stop being
    /// served even where their clock is behind this one's. A sweep deleting more keys than `notifyKeyLimit` (or a key
    /// too long for a notice) announces none: "everything" would drop every copy in the fleet, and the copies carry
    /// the same `expires_at`, so each sidecar expires them by itself.
    public func removeExpired(now: Double) throws(StoreError) -> [String] {
        var binds = PostgresBindings()
        binds.append(now)
        var announced = 0
        let keys = try withWriter { session throws(StoreError) -> [String]? in
            try session.transaction("cannot remove L3's expired entries") { () throws(StoreError) -> [String]? in
                var lock = PostgresBindings()
                lock.append(PostgresSchema.sweepLockKey)
                let locked = try session.query(queries.trySweepLock, lock, "cannot lock L3's sweep of expired entries")
                guard let cell = locked.first?.first, try PostgresValues.boolean(cell) else { return nil }
                let rows = try session.query(queries.removeExpired, binds, "cannot remove L3's expired entries")
                let keys = rows.map { row in row.first.flatMap(PostgresValues.string) ?? "" }
                announced = try notify(keys: keys, in: session, orEverything: false)
                return keys
            }
        }
        guard let keys else {
            skippedSweeps.withLockedValue { $0 += 1 }
            return []
        }
        countSent(announced)
        return keys
    }

    /// Deletes entries beyond `maxEntries`, chosen by `policy`, in one statement; returns their keys.
    public func evict(toAtMost maxEntries: Int, policy: EvictionPolicy) throws(StoreError) -> [String] {
        var binds = PostgresBindings()
        binds.append(Int64(max(maxEntries, 0)))
        return try deleteReturningKeys(queries.evict(policy), binds, "cannot evict from L3")
    }

    /// Deletes everything and its history; returns how many entries there were.
    public func removeAll() throws(StoreError) -> Int {
        let removed = try withWriter { session throws(StoreError) -> Int in
            try session.transaction("cannot empty L3") { () throws(StoreError) -> Int in
                let rows = try session.query(queries.count, PostgresBindings(), "cannot count L3's entries")
                let total = try rows.first?.first.map { cell throws(StoreError) in try PostgresValues.integer(cell) }
                for sql in queries.removeAll {
                    try session.query(sql, PostgresBindings(), "cannot empty L3")
                }
                try notifyEverything(in: session)
                return Int(total ?? 0)
            }
        }
        countSent(1)
        return removed
    }

    /// Tells the other sidecars that anything may have changed (FLUSHALL).
    func notifyEverything(in session: PostgresSession) throws(StoreError) {
        var binds = PostgresBindings()
        binds.append(PostgresInvalidation.channel)
        binds.append("v1 \(configuration.sidecarID) *")
        try session.query("SELECT pg_notify($1, $2)", binds, "cannot notify the other sidecars")
    }

    private func deleteReturningKeys(
        _ sql: String,
        _ binds: PostgresBindings,
        _ what: String
    ) throws(StoreError) -> [String] {
        let rows = try withWriter { session throws(StoreError) in
            try session.query(sql, binds, what)
        }
        return rows.map { row in row.first.flatMap(PostgresValues.string) ?? "" }
    }
}

import Logging

/// The L3 durable tier on SQLite: proxywhirl's `cache_entries` (with `created_at`/`updated_at` and
/// every health-monitoring column) and `health_history`, whose foreign key really cascades
/// (`PRAGMA foreign_keys=ON` on every connection).
///
/// A proxywhirl-made L3 file is upgraded in place when opened. Upserts keep `created_at` and the
/// rowid. WAL mode, one writer connection (the tier's writer thread) and a few reader connections;
/// credentials are stored only as Fernet tokens.
public final class SQLiteL3Store: PersistentStore, SalvagingStore {
    private let store: SQLiteEntryStore

    /// Opens (creating or upgrading) the database at `path`; creates its directory (mode 0700) if missing.
    ///
    /// - Parameters:
    ///   - path: the database file (the server's default is `<data-dir>/cachesrvd.db`).
    ///   - cipher: encrypts credentials (its previous keys still decrypt).
    ///   - fsync: when commits reach stable storage.
    ///   - logger: for open, migration and recovery events (never secrets).
    /// - Throws: `.corrupt` when the file is not a database (see `openRecoveringCorruption`),
    ///   `.readOnly`, `.full`, `.busy` or `.io`.
    public init(path: String, cipher: CredentialCipher, fsync: FsyncPolicy, logger: Logger) throws(StoreError) {
        store = try SQLiteEntryStore(tier: .l3, path: path, schema: .l3, cipher: cipher, fsync: fsync, logger: logger)
    }

    /// Opens the store; if the file is corrupt, moves it (and its -wal/-shm) aside to
    /// `<path>.corrupt-<UTC timestamp>`, starts a new database with every row that can still be read of
    /// it (entries whose credentials decrypt, and their health history) and logs at error level.
    ///
    /// - Returns: the store, where the damaged file went and what was salvaged (`nil` when nothing was wrong).
    public static func openRecoveringCorruption(
        path: String,
        cipher: CredentialCipher,
        fsync: FsyncPolicy,
        logger: Logger
    ) throws(StoreError) -> (store: SQLiteL3Store, recoveredFrom: String?, salvage: SalvageReport?) {
        let opened = try SQLiteEntryStore.openRecoveringCorruption(
            path: path,
            tier: .l3,
            schema: .l3,
            cipher: cipher,
            logger: logger
        ) { () throws(StoreError) -> SQLiteL3Store in
            try SQLiteL3Store(path: path, cipher: cipher, fsync: fsync, logger: logger)
        }
        return (opened.store, opened.salvage?.movedTo, opened.salvage)
    }

    /// The database file.
    public var path: String { store.path }

    public var tier: TierID { .l3 }

    public var description: String { store.description }

    public func get(_ key: String) throws(StoreError) -> CacheEntry? {
        try store.get(key)
    }

    /// Applies puts (upserts keeping `created_at`), deletes (cascading to the history) and history
    /// appends (skipped when the key has no entry; trimmed to the newest `keep`) in one transaction.
    public func apply(_ writes: [StoreWrite]) throws(StoreError) {
        try store.apply(writes)
    }

    public func apply(_ writes: [StoreWrite], journalThrough: UInt64?) throws(StoreError) {
        try store.apply(writes, journalThrough: journalThrough)
    }

    public func appliedJournalSequence() throws(StoreError) -> UInt64? {
        try store.appliedJournalSequence()
    }

    public func count() throws(StoreError) -> Int {
        try store.count()
    }

    public func scanKeys(cursor: UInt64, limit: Int) throws(StoreError) -> (next: UInt64, keys: [String]) {
        try store.scanKeys(cursor: cursor, limit: limit)
    }

    public func removeExpired(now: Double) throws(StoreError) -> [String] {
        try store.removeExpired(now: now)
    }

    public func removeAll() throws(StoreError) -> Int {
        try store.removeAll()
    }

    public func evict(toAtMost maxEntries: Int, policy: EvictionPolicy) throws(StoreError) -> [String] {
        try store.evict(toAtMost: maxEntries, policy: policy)
    }

    public func sync() throws(StoreError) {
        try store.sync()
    }

    /// The newest `limit` health checks of `key` (by check time, then insertion), newest first.
    public func history(_ key: String, limit: Int) throws(StoreError) -> [HealthCheckRecord] {
        try store.history(key, limit: limit)
    }

    /// Moves the damaged file aside and recreates the database with the rows that can still be read of it.
    public func recoverFromCorruption() throws(StoreError) -> String {
        try store.recoverFromCorruption().movedTo
    }

    /// Moves the damaged file aside and recreates the database with the rows that can still be read of it.
    public func recoverFromCorruptionSalvaging() throws(StoreError) -> SalvageReport {
        try store.recoverFromCorruption()
    }

    func restoreSalvaged(_ salvaged: SQLiteEntryStore.Salvaged) -> SalvageReport {
        store.restore(salvaged)
    }

    /// Re-encrypts every stored credential with `newCipher` (decrypting with the current cipher,
    /// which knows the previous keys) in one transaction; later writes use `newCipher`.
    ///
    /// - Returns: the number of rows re-encrypted (rows that cannot be decrypted are left as they are).
    public func reencryptAll(with newCipher: CredentialCipher) throws(StoreError) -> Int {
        try store.reencryptAll(with: newCipher)
    }

    public func close() {
        store.close()
    }
}

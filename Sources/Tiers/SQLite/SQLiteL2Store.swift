import Logging

/// The L2 disk tier on SQLite: `l2_cache.db` in the L2 directory, proxywhirl's `l2_cache` table
/// plus the health-monitoring columns proxywhirl's SQLite L2 drops.
///
/// A proxywhirl-made `l2_cache.db` is upgraded in place when opened. WAL mode, one writer
/// connection (the tier's writer thread) and a few reader connections; credentials are stored only
/// as Fernet tokens.
public final class SQLiteL2Store: PersistentStore, SalvagingStore {
    /// The file name of the database in the L2 directory.
    public static let fileName = "l2_cache.db"

    private let store: SQLiteEntryStore

    /// Opens (creating or upgrading) `<directory>/l2_cache.db`; creates `directory` (mode 0700) if missing.
    ///
    /// - Parameters:
    ///   - directory: the L2 directory.
    ///   - cipher: encrypts credentials (its previous keys still decrypt).
    ///   - fsync: when commits reach stable storage.
    ///   - logger: for open, migration and recovery events (never secrets).
    /// - Throws: `.corrupt` when the file is not a database (see `openRecoveringCorruption`),
    ///   `.readOnly`, `.full`, `.busy` or `.io`.
    public init(directory: String, cipher: CredentialCipher, fsync: FsyncPolicy, logger: Logger) throws(StoreError) {
        try SQLiteFiles.ensureDirectory(directory)
        store = try SQLiteEntryStore(
            tier: .l2,
            path: Self.path(in: directory),
            schema: .l2,
            cipher: cipher,
            fsync: fsync,
            logger: logger
        )
    }

    /// Opens the store; if the file is corrupt, moves it (and its -wal/-shm) aside to
    /// `l2_cache.db.corrupt-<UTC timestamp>`, starts a new database with every entry that can still be
    /// read of it and logs at error level.
    ///
    /// - Returns: the store, where the damaged file went and what was salvaged (`nil` when nothing was wrong).
    public static func openRecoveringCorruption(
        directory: String,
        cipher: CredentialCipher,
        fsync: FsyncPolicy,
        logger: Logger
    ) throws(StoreError) -> (store: SQLiteL2Store, recoveredFrom: String?, salvage: SalvageReport?) {
        let opened = try SQLiteEntryStore.openRecoveringCorruption(
            path: path(in: directory),
            tier: .l2,
            schema: .l2,
            cipher: cipher,
            logger: logger
        ) { () throws(StoreError) -> SQLiteL2Store in
            try SQLiteL2Store(directory: directory, cipher: cipher, fsync: fsync, logger: logger)
        }
        return (opened.store, opened.salvage?.movedTo, opened.salvage)
    }

    /// The database path for an L2 directory.
    public static func path(in directory: String) -> String {
        directory.hasSuffix("/") ? directory + fileName : directory + "/" + fileName
    }

    /// The database file.
    public var path: String { store.path }

    public var tier: TierID { .l2 }

    public var description: String { store.description }

    public func get(_ key: String) throws(StoreError) -> CacheEntry? {
        try store.get(key)
    }

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

    /// L2 keeps no health history: always empty.
    public func history(_ key: String, limit: Int) throws(StoreError) -> [HealthCheckRecord] {
        []
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

import Logging
import NIOConcurrencyHelpers

/// A disk tier on SQLite, L2 or L3 by its `Configuration`: one database file in WAL mode with one writer
/// connection (the tier's writer thread) and a few reader connections (`SQLiteConnectionPool`); credentials are
/// stored only as Fernet tokens. A proxywhirl-made file is upgraded in place when opened.
///
/// Sendable: every stored property is an immutable Sendable value; mutable state lives in the
/// pool (a lock per connection) and in `cipherBox` (a locked box).
public final class SQLiteStore: PersistentStore, Sendable {
    /// How many reader connections a store keeps for the blocking threads.
    static let readerCount = 3
    /// How many reader connections a store keeps for event loops (`readWithoutWaiting`): one per event loop at
    /// the default `--threads`; with more loops, a loop that finds both in use reads off the loop instead.
    static let loopReaderCount = 2
    /// How long a connection waits for another process's lock before `.busy`, milliseconds.
    static let busyTimeoutMilliseconds = 5000

    /// The tier, its schema and its database file.
    public let configuration: Configuration
    let queries: SQLiteQueries
    let fsync: FsyncPolicy
    let logger: Logger
    /// The cipher in use; `reencryptAll` swaps it for the new one.
    let cipherBox: NIOLockedValueBox<CredentialCipher>
    let pool: SQLiteConnectionPool

    /// Opens (creating or upgrading) the configuration's database file; creates its directory (mode 0700) if
    /// missing.
    ///
    /// - Parameters:
    ///   - configuration: `.l2(directory:)` or `.l3(path:)`.
    ///   - cipher: encrypts credentials (its previous keys still decrypt).
    ///   - fsync: when commits reach stable storage.
    ///   - logger: for open, migration and recovery events (never secrets).
    /// - Throws: `.corrupt` when the file is not a database or not one of this tier (see
    ///   `openRecoveringCorruption`), `.readOnly`, `.full`, `.busy` or `.io` as SQLite reports them.
    public init(
        _ configuration: Configuration,
        cipher: CredentialCipher,
        fsync: FsyncPolicy,
        logger: Logger
    ) throws(StoreError) {
        let path = configuration.path
        let schema = configuration.schema
        var storeLogger = logger
        storeLogger[metadataKey: "cache.tier"] = "\(configuration.tier)"
        storeLogger[metadataKey: "store.path"] = "\(path)"
        let logger = storeLogger
        self.configuration = configuration
        self.queries = SQLiteQueries(schema: schema)
        self.fsync = fsync
        self.logger = logger
        self.cipherBox = NIOLockedValueBox(cipher)
        try SQLiteFiles.ensureDirectory(SQLiteFiles.directory(of: path))
        let openWriter: SQLiteConnectionPool.Opener = { () throws(StoreError) -> SQLiteDatabase in
            try Self.openWriter(path: path, schema: schema, fsync: fsync, cipher: cipher, logger: logger)
        }
        let openReader: SQLiteConnectionPool.ReaderOpener = { waits throws(StoreError) -> SQLiteDatabase in
            try Self.openReader(path: path, waits: waits)
        }
        self.pool = try SQLiteConnectionPool(
            readerCount: Self.readerCount,
            loopReaderCount: Self.loopReaderCount,
            openWriter: openWriter,
            openReader: openReader
        )
        logger.debug("opened sqlite store", metadata: ["store.fsync": "\(fsync)"])
    }

    public var tier: TierID { configuration.tier }

    /// The database file.
    public var path: String { configuration.path }

    var schema: SQLiteSchema { configuration.schema }

    public var description: String { "sqlite \(path)" }

    var cipher: CredentialCipher { cipherBox.withLockedValue { $0 } }

    // MARK: Reads (reader connections)

    public func get(_ key: String) throws(StoreError) -> CacheEntry? {
        let cipher = self.cipher
        return try pool.withReader { db throws(StoreError) -> CacheEntry? in try entry(key, on: db, cipher: cipher) }
    }

    public var readsWithoutWaiting: Bool { true }

    /// `get` on a loop reader (`SQLiteConnectionPool.withLoopReader`): those connections never wait for another
    /// process's lock (a busy database is an error at once), and none is waited for when all are in use.
    public func readWithoutWaiting(_ key: String) -> ImmediateRead {
        let cipher = self.cipher
        let read = try? pool.withLoopReader { db throws(StoreError) -> CacheEntry? in
            try entry(key, on: db, cipher: cipher)
        }
        guard let read else { return .wouldWait }
        return .answered(read)
    }

    /// The row of `key` read on `db`, its credentials decrypted with `cipher`.
    private func entry(_ key: String, on db: SQLiteDatabase, cipher: CredentialCipher) throws(StoreError) -> CacheEntry?
    {
        let statement = try db.statement(queries.get)
        defer { statement.reset() }
        statement.bind(1, key)
        guard try statement.step() else { return nil }
        return try EntryRow.read(statement, cipher: cipher)
    }

    public func count() throws(StoreError) -> Int {
        try pool.withReader { db throws(StoreError) -> Int in
            let statement = try db.statement(queries.count)
            defer { statement.reset() }
            return try statement.step() ? statement.int(0) : 0
        }
    }

    public func scanKeys(cursor: UInt64, limit: Int) throws(StoreError) -> (next: UInt64, keys: [String]) {
        guard limit > 0 else { return (cursor, []) }
        return try pool.withReader { db throws(StoreError) -> (next: UInt64, keys: [String]) in
            let statement = try db.statement(queries.scan)
            defer { statement.reset() }
            statement.bind(1, Int(clamping: cursor))
            statement.bind(2, limit)
            var keys: [String] = []
            keys.reserveCapacity(min(limit, 4096))
            var last: Int64 = 0
            while try statement.step() {
                last = statement.int64(0)
                keys.append(statement.text(1))
            }
            let next = keys.count < limit ? 0 : UInt64(max(last, 0))
            return (next, keys)
        }
    }

    /// L3: the newest `limit` health checks of `key` (by check time, then insertion), newest first. L2 keeps no
    /// health history: always empty.
    public func history(_ key: String, limit: Int) throws(StoreError) -> [HealthCheckRecord] {
        guard let sql = queries.history, limit > 0 else { return [] }
        return try pool.withReader { db throws(StoreError) -> [HealthCheckRecord] in
            let statement = try db.statement(sql)
            defer { statement.reset() }
            statement.bind(1, key)
            statement.bind(2, limit)
            var records: [HealthCheckRecord] = []
            while try statement.step() {
                records.append(
                    HealthCheckRecord(
                        checkTime: statement.double(0),
                        status: HealthStatus(rawValue: statement.text(1)) ?? .unknown,
                        responseTimeMs: statement.optionalDouble(2),
                        errorMessage: statement.optionalText(3),
                        checkURL: statement.optionalText(4)
                    )
                )
            }
            return records
        }
    }

    public func close() {
        pool.close()
    }

    // MARK: Connections

    private static func openWriter(
        path: String,
        schema: SQLiteSchema,
        fsync: FsyncPolicy,
        cipher: CredentialCipher,
        logger: Logger
    ) throws(StoreError) -> SQLiteDatabase {
        try SQLiteFiles.createPrivateFile(path)
        let db = try SQLiteDatabase(path: path, readOnly: false)
        try db.execute("PRAGMA busy_timeout = \(busyTimeoutMilliseconds)")
        // The first statement that reads the file: a file that is not a database fails here (.corrupt).
        let mode = try db.pragmaText("journal_mode = WAL")
        guard mode?.lowercased() == "wal" else {
            throw StoreError(.io, "cannot switch \(path) to WAL (journal mode \(mode ?? "unknown"))")
        }
        try db.execute("PRAGMA synchronous = \(synchronousLevel(for: fsync))")
        if let report = try schema.migrate(db, cipher: cipher) {
            logger.info(
                "sqlite schema set up",
                metadata: [
                    "schema.from": "\(report.fromVersion)", "schema.to": "\(report.toVersion)",
                    "schema.created": "\(report.created)", "schema.rebuilt": "\(report.rebuilt)",
                    "schema.added": "\(report.addedColumns)", "schema.sealed_rows": "\(report.sealedRows)",
                    "schema.rekeyed_rows": "\(report.rekeyedRows)",
                ]
            )
            if report.sealedRows > 0 {
                // The sealed rows' old pages may still sit in the WAL (frames of an older generation beyond the
                // write point survive a checkpoint): copy the new pages back and cut the WAL to nothing.
                try db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            }
        }
        // After the migration (a rebuild must not cascade): every connection enforces foreign keys.
        // The writer gets a larger page cache (index updates of big tables); the WAL is cut back to
        // 64 MiB after a checkpoint instead of keeping the size of the largest transaction.
        try db.execute(SQLiteSchema.journalTableSQL)
        try db.execute(
            "PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY; "
                + "PRAGMA journal_size_limit = 67108864"
        )
        // The pool checkpoints instead of SQLite's automatic checkpoint: it first ends the loop readers' snapshots.
        try db.countWALFrames()
        return db
    }

    /// A reader connection; with `waits` false it fails with `.busy` at once where another would wait for a lock.
    private static func openReader(path: String, waits: Bool) throws(StoreError) -> SQLiteDatabase {
        let db = try SQLiteDatabase(path: path, readOnly: true)
        try db.execute(
            "PRAGMA busy_timeout = \(waits ? busyTimeoutMilliseconds : 0); PRAGMA foreign_keys = ON; "
                + "PRAGMA cache_size = -8192"
        )
        return db
    }

    /// `.always` syncs the WAL at every commit (FULL). `.everysec` and `.no` use NORMAL: commits
    /// are not synced (`sync()` does it for `.everysec`), but WAL checkpoints still are, so a
    /// power loss can lose recent commits yet never corrupt the file, as OFF could.
    static func synchronousLevel(for fsync: FsyncPolicy) -> String {
        switch fsync {
        case .always:
            return "FULL"
        case .everysec, .no:
            return "NORMAL"
        }
    }
}

import Logging
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO
import Tiers

/// L3 on PostgreSQL: SQLite L3's tables and behaviour (`PostgresSchema`) in a database that several sidecars may
/// share. Blocking, like every `PersistentStore`: postgres-nio runs on an event loop of the store's own, and each
/// call waits on its thread (the tier's writer thread or a reader thread) for PostgreSQL's answer. One writer
/// connection and a few reader connections (`PostgresConnectionPool`); a lost connection is reopened on the next
/// call, and until then calls fail with `.io`, so the tier degrades and recovers as with a failing disk.
///
/// Credentials are Fernet tokens, made and read by SQLite L3's code (`StoredEntryRow`). At open the store checks
/// that its key decrypts the database's key-check token (`PostgresKeyCheck`).
///
/// Sendable: every stored property is immutable and Sendable; the pool guards its connections.
public final class PostgresStore: SharedPersistentStore, Sendable {
    public let configuration: Configuration
    let cipher: CredentialCipher
    let logger: Logger
    let pool: PostgresConnectionPool
    let queries = PostgresQueries()
    let listener: PostgresInvalidationListener
    let sent = NIOLockedValueBox(0)
    /// Whether the tables were migrated and the key checked (see `open()`).
    let isOpen = NIOLockedValueBox(false)
    let skippedSweeps = NIOLockedValueBox(0)
    let sharedSize: PostgresSharedSize

    /// Connects, creates or migrates the tables (under an advisory lock, so sidecars opening the same database at
    /// once do not race) and checks the encryption key.
    ///
    /// With `configuration.opensUnreachable`, a server that cannot be reached does not stop the open: the store
    /// starts unopened, every call fails with `.unreachable` until the server answers, and the first call that
    /// reaches it migrates and checks the key first (a degraded start: the tier is disabled and retried).
    ///
    /// - Throws: `.decryption` when the database was written with a different key, `.unreachable` when PostgreSQL
    ///   cannot be reached (unless `opensUnreachable`), `.io` when it refuses (a wrong password), `.readOnly` when
    ///   the user may not create the tables.
    public init(_ configuration: Configuration, cipher: CredentialCipher, logger: Logger) throws(StoreError) {
        var storeLogger = logger
        storeLogger[metadataKey: "cache.tier"] = "l3"
        storeLogger[metadataKey: "store.url"] = "\(configuration.url.redacted)"
        self.configuration = configuration
        self.cipher = cipher
        self.logger = storeLogger
        self.sharedSize = PostgresSharedSize(interval: configuration.sharedSizeRefreshInterval)
        self.pool = try PostgresConnectionPool(
            url: configuration.url,
            readerCount: configuration.readerCount,
            timeout: configuration.timeout,
            logger: storeLogger
        )
        self.listener = PostgresInvalidationListener(
            pool: pool,
            sidecarID: configuration.sidecarID,
            retryInterval: configuration.listenRetryInterval,
            logger: storeLogger
        )
        do {
            try open()
        } catch  where error.kind == .unreachable && configuration.opensUnreachable {
            storeLogger.warning(
                "PostgreSQL cannot be reached: starting with L3 degraded (writes wait in the local journal)",
                metadata: ["error": "\(error.message)"]
            )
        } catch {
            pool.close()
            throw error
        }
    }

    /// Migrates and checks the key, once: at `init`, or at the first call that reaches the server after a degraded
    /// start. Another key than the database's is then `.rejected`: this sidecar never writes tokens others cannot
    /// read, and its writes stay in its journal.
    func open() throws(StoreError) {
        guard !isOpen.withLockedValue({ $0 }) else { return }
        let report: PostgresMigration.Report
        do {
            report = try pool.withWriter { session throws(StoreError) in
                try PostgresMigration.run(in: session, cipher: cipher)
            }
        } catch  where error.kind == .decryption && configuration.opensUnreachable {
            logger.error(
                "L3 in PostgreSQL was written with another encryption key: this sidecar does not use it",
                metadata: ["error": "\(error.message)"]
            )
            throw StoreError(.rejected, error.message)
        }
        isOpen.withLockedValue { $0 = true }
        logger.info(
            "postgresql store opened",
            metadata: [
                "schema.from": "\(report.fromVersion)", "schema.to": "\(PostgresSchema.currentVersion)",
                "store.key_check": "\(report.wroteKeyCheck ? "written" : "verified")",
            ]
        )
    }

    /// Runs `body` on the writer connection of an open store.
    func withWriter<Result>(_ body: (PostgresSession) throws(StoreError) -> Result) throws(StoreError) -> Result {
        try open()
        return try pool.withWriter(body)
    }

    /// Runs `body` on a reader connection of an open store.
    func withReader<Result>(_ body: (PostgresSession) throws(StoreError) -> Result) throws(StoreError) -> Result {
        try open()
        return try pool.withReader(body)
    }

    public var tier: TierID { .l3 }

    public var description: String { "postgresql \(configuration.url.redacted)" }

    // MARK: Reads (reader connections)

    public func get(_ key: String) throws(StoreError) -> CacheEntry? {
        var binds = PostgresBindings()
        binds.append(PostgresValues.bytes(key))
        let rows = try withReader { session throws(StoreError) in
            try session.query(queries.get, binds, "cannot read a key from L3")
        }
        guard let row = rows.first else { return nil }
        var values: [StoredEntryRow.Value] = []
        values.reserveCapacity(StoredEntryRow.columnNames.count)
        for cell in row {
            values.append(try PostgresValues.value(cell))
        }
        return try StoredEntryRow.entry(from: values, cipher: cipher)
    }

    public func count() throws(StoreError) -> Int {
        let rows = try withReader { session throws(StoreError) in
            try session.query(queries.count, PostgresBindings(), "cannot count L3's entries")
        }
        let count = try rows.first?.first.map { cell throws(StoreError) in Int(try PostgresValues.integer(cell)) } ?? 0
        sharedSize.record(count)
        return count
    }

    public func scanKeys(cursor: UInt64, limit: Int) throws(StoreError) -> (next: UInt64, keys: [String]) {
        guard limit > 0 else { return (cursor, []) }
        var binds = PostgresBindings()
        binds.append(Int64(clamping: cursor))
        binds.append(Int64(limit))
        let rows = try withReader { session throws(StoreError) in
            try session.query(queries.scan, binds, "cannot scan L3's keys")
        }
        var keys: [String] = []
        keys.reserveCapacity(rows.count)
        var last: Int64 = 0
        for row in rows {
            let cells = Array(row)
            last = try PostgresValues.integer(cells[0])
            keys.append(PostgresValues.string(cells[1]) ?? "")
        }
        let next = keys.count < limit ? 0 : UInt64(max(last, 0))
        return (next, keys)
    }

    /// The newest `limit` health checks of `key` (by check time, then insertion), newest first.
    public func history(_ key: String, limit: Int) throws(StoreError) -> [HealthCheckRecord] {
        guard limit > 0 else { return [] }
        var binds = PostgresBindings()
        binds.append(PostgresValues.bytes(key))
        binds.append(Int64(limit))
        let rows = try withReader { session throws(StoreError) in
            try session.query(queries.history, binds, "cannot read L3's health history")
        }
        var records: [HealthCheckRecord] = []
        records.reserveCapacity(rows.count)
        for row in rows {
            let cells = Array(row)
            records.append(
                HealthCheckRecord(
                    checkTime: try PostgresValues.double(cells[0]) ?? 0,
                    status: PostgresValues.string(cells[1]).flatMap(HealthStatus.init(rawValue:)) ?? .unknown,
                    responseTimeMs: try PostgresValues.double(cells[2]),
                    errorMessage: PostgresValues.string(cells[3]),
                    checkURL: PostgresValues.string(cells[4])
                )
            )
        }
        return records
    }

    /// PostgreSQL makes its own commits durable (its `synchronous_commit`): nothing to do.
    public func sync() throws(StoreError) {}

    /// A PostgreSQL database is not a file to move aside: the store never reports `.corrupt`, and this refuses.
    public func recoverFromCorruption() throws(StoreError) -> String {
        throw StoreError(.io, "a PostgreSQL L3 cannot be recovered by moving files aside")
    }

    public func close() {
        sharedSize.stop()
        listener.stop()
        pool.close()
    }

    // MARK: Coherence (`SharedPersistentStore`)

    public func subscribe(_ target: any InvalidationTarget) {
        listener.start(target, dropAtOnce: isOpen.withLockedValue { $0 })
    }

    public var invalidationsSent: Int { sent.withLockedValue { $0 } }

    public var notificationsReceived: Int { listener.received }

    public var isListening: Bool { listener.isListening }

    public var sweepsSkipped: Int { skippedSweeps.withLockedValue { $0 } }

    public var sharedEntries: Int? {
        sharedSize.current { [self] in try? count() }
    }
}

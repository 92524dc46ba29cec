import CSQLite

/// One SQLite connection: a thin, safe wrapper over the C API.
///
/// Not thread-safe on its own: SQLite is opened in multi-thread mode (`SQLITE_OPEN_NOMUTEX`), so
/// every use of one connection must be serialised by its owner (`SQLiteConnectionSlot` holds a lock
/// per connection). Prepared statements are cached per connection, keyed by their SQL text.
final class SQLiteDatabase {
    /// The database file.
    let path: String
    private var handle: OpaquePointer?
    private var cache: [String: SQLiteStatement] = [:]
    /// Where the WAL hook of `countWALFrames()` keeps the frame count; nil until it is installed.
    private var walFrameCount: UnsafeMutablePointer<Int32>?

    /// Opens (and, unless `readOnly`, creates) the database at `path`.
    ///
    /// SQLite opens files lazily: a file that is not a database is only detected by the first
    /// statement, which then throws `.corrupt`.
    init(path: String, readOnly: Bool) throws(StoreError) {
        self.path = path
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        flags |= readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        var db: OpaquePointer?
        let code = sqlite3_open_v2(path, &db, flags, nil)
        guard code == SQLITE_OK, let db else {
            let error = StoreError(sqliteCode: code, database: db, context: "open \(path)")
            sqlite3_close_v2(db)
            throw error
        }
        self.handle = db
        sqlite3_extended_result_codes(db, 1)
    }

    deinit {
        close()
        walFrameCount?.deallocate()
    }

    /// Whether `close()` has run.
    var isClosed: Bool { handle == nil }

    /// Finalizes the cached statements and closes the connection; later calls throw `.closed`.
    func close() {
        for statement in cache.values {
            statement.finalize()
        }
        cache.removeAll()
        if let handle {
            sqlite3_close_v2(handle)
        }
        handle = nil
    }

    /// Runs one or more SQL statements that take no parameters (schema, pragmas, BEGIN/COMMIT).
    func execute(_ sql: String) throws(StoreError) {
        let db = try liveHandle()
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(db, sql, nil, nil, &message)
        if code != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_free(message)
            throw StoreError(sqliteCode: code, database: db, context: text)
        }
    }

    /// The prepared statement for `sql`, compiled once per connection and reused.
    ///
    /// The statement is reset when handed out; callers use it before asking for the same SQL again.
    func statement(_ sql: String) throws(StoreError) -> SQLiteStatement {
        if let cached = cache[sql] {
            cached.reset()
            return cached
        }
        let statement = try prepare(sql, persistent: true)
        cache[sql] = statement
        return statement
    }

    /// Compiles `sql` into a statement the caller owns (and must `finalize()`); for one-off statements.
    func prepare(_ sql: String, persistent: Bool = false) throws(StoreError) -> SQLiteStatement {
        let db = try liveHandle()
        var raw: OpaquePointer?
        let flags = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let code = sqlite3_prepare_v3(db, sql, -1, flags, &raw, nil)
        guard code == SQLITE_OK, let raw else {
            throw StoreError(sqliteCode: code, database: db, context: "prepare")
        }
        return SQLiteStatement(handle: raw, database: db)
    }

    /// The integer value of `PRAGMA name` (e.g. `user_version`).
    func pragmaInteger(_ name: String) throws(StoreError) -> Int {
        let statement = try prepare("PRAGMA \(name)")
        defer { statement.finalize() }
        return try statement.step() ? statement.int(0) : 0
    }

    /// The text value of `PRAGMA name = value` (e.g. `journal_mode=WAL` answers the mode in force).
    @discardableResult
    func pragmaText(_ assignment: String) throws(StoreError) -> String? {
        let statement = try prepare("PRAGMA \(assignment)")
        defer { statement.finalize() }
        return try statement.step() ? statement.optionalText(0) : nil
    }

    /// Whether a transaction is open (SQLite is not in autocommit mode).
    var isInTransaction: Bool {
        handle.map { sqlite3_get_autocommit($0) == 0 } ?? false
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    var changes: Int {
        handle.map { Int(sqlite3_changes64($0)) } ?? 0
    }

    /// Runs `body` inside `BEGIN IMMEDIATE ... COMMIT`, rolling back if it (or the commit) throws.
    func immediateTransaction<Result>(
        _ body: () throws(StoreError) -> Result
    ) throws(StoreError) -> Result {
        try statement("BEGIN IMMEDIATE").run()
        do {
            let result = try body()
            try statement("COMMIT").run()
            return result
        } catch {
            rollback()
            throw error
        }
    }

    /// Rolls back the open transaction, if any (errors are ignored: there may be none).
    private func rollback() {
        guard let handle, sqlite3_get_autocommit(handle) == 0 else { return }
        sqlite3_exec(handle, "ROLLBACK", nil, nil, nil)
    }

    /// Has this connection count the frames in the WAL after each of its commits (`walFrames`) instead of
    /// checkpointing the WAL itself once it holds 1,000 (SQLite's automatic checkpoint, which this hook replaces):
    /// its owner checkpoints (`checkpointPassively`).
    func countWALFrames() throws(StoreError) {
        let db = try liveHandle()
        let count = walFrameCount ?? UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        count.initialize(to: 0)
        walFrameCount = count
        sqlite3_wal_hook(
            db,
            { context, _, _, frames in
                context?.storeBytes(of: frames, as: Int32.self)
                return SQLITE_OK
            },
            count
        )
    }

    /// The frames in the WAL after this connection's last commit (0 without `countWALFrames()`, and after a
    /// checkpoint that copied every frame: the next commit starts the WAL over).
    var walFrames: Int {
        walFrameCount.map { Int($0.pointee) } ?? 0
    }

    /// Copies into the database what frames of the WAL no reader's snapshot needs (a `PASSIVE` checkpoint: it waits
    /// for nobody). Errors are ignored, as SQLite's automatic checkpoint ignores them: the next commit tries again.
    func checkpointPassively() {
        guard let handle else { return }
        var frames: Int32 = 0
        var copied: Int32 = 0
        let code = sqlite3_wal_checkpoint_v2(handle, nil, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied)
        if code == SQLITE_OK, copied == frames { walFrameCount?.pointee = 0 }
    }

    /// The C handle; throws `.closed` after `close()`. For this type's extensions.
    func liveHandle() throws(StoreError) -> OpaquePointer {
        guard let handle else { throw StoreError(.closed, "database \(path) is closed") }
        return handle
    }
}

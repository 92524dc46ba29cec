import NIOConcurrencyHelpers

/// One connection and the lock that serialises its use.
///
/// `@unchecked Sendable`: `database` is read and written only while `lock` is held (every
/// access goes through `withDatabase` or the pool's `withAllLocked`).
final class SQLiteConnectionSlot: @unchecked Sendable {
    fileprivate let lock = NIOLock()
    /// Guarded by `lock`; `nil` when closed.
    fileprivate var database: SQLiteDatabase?

    /// Runs `body` with the connection, holding its lock; throws `.closed` when there is none.
    func withDatabase<Result>(
        _ body: (SQLiteDatabase) throws(StoreError) -> Result
    ) throws(StoreError) -> Result {
        lock.lock()
        defer { lock.unlock() }
        guard let database else { throw StoreError(.closed, "store is closed") }
        return try body(database)
    }
}

/// The connections of one SQLite store: one writer and a few readers, each behind its own lock.
///
/// WAL mode lets the readers run beside the writer. The writer connection is used only by the
/// tier's writer thread (and recovery); reads pick a reader round-robin.
///
/// `@unchecked Sendable`: the slots guard their connections (see `SQLiteConnectionSlot`);
/// `nextReader` is a locked box; the opening closures are `@Sendable`; `isClosed` is guarded by
/// the writer slot's lock, always taken first.
final class SQLiteConnectionPool: @unchecked Sendable {
    typealias Opener = @Sendable () throws(StoreError) -> SQLiteDatabase

    private let writer = SQLiteConnectionSlot()
    private let readers: [SQLiteConnectionSlot]
    private let nextReader = NIOLockedValueBox(0)
    private let openWriter: Opener
    private let openReader: Opener
    /// Guarded by `writer.lock`: once set, `reopen` refuses to bring the connections back.
    private var isClosed = false

    /// Opens the writer (which sets the database up), then `readerCount` readers.
    init(readerCount: Int, openWriter: @escaping Opener, openReader: @escaping Opener) throws(StoreError) {
        self.readers = (0..<max(1, readerCount)).map { _ in SQLiteConnectionSlot() }
        self.openWriter = openWriter
        self.openReader = openReader
        let connections = try Self.openAll(writer: openWriter, reader: openReader, readers: readers.count)
        writer.database = connections.writer
        for (slot, database) in zip(readers, connections.readers) {
            slot.database = database
        }
    }

    /// Runs `body` on the writer connection.
    func withWriter<Result>(_ body: (SQLiteDatabase) throws(StoreError) -> Result) throws(StoreError) -> Result {
        try writer.withDatabase(body)
    }

    /// Runs `body` on one of the reader connections.
    func withReader<Result>(_ body: (SQLiteDatabase) throws(StoreError) -> Result) throws(StoreError) -> Result {
        let index = nextReader.withLockedValue { next in
            defer { next = (next + 1) % readers.count }
            return next
        }
        return try readers[index].withDatabase(body)
    }

    /// Closes every connection; later calls throw `.closed`.
    func close() {
        let _: Void? = try? withAllLocked { () throws(StoreError) in
            isClosed = true
            closeConnections()
        }
    }

    /// Closes every connection, runs `body` while none is open (e.g. to move files), then opens
    /// them again and runs `afterOpen` on the new writer connection before anyone else can use the
    /// pool. Callers of `withReader`/`withWriter` wait meanwhile. If reopening fails the pool stays
    /// closed and the error is thrown.
    func reopen<Moved, Result>(
        _ body: () throws(StoreError) -> Moved,
        afterOpen: (Moved, SQLiteDatabase) -> Result
    ) throws(StoreError) -> Result {
        try withAllLocked { () throws(StoreError) -> Result in
            guard !isClosed else { throw StoreError(.closed, "store is closed") }
            closeConnections()
            let moved = try body()
            let connections = try Self.openAll(writer: openWriter, reader: openReader, readers: readers.count)
            writer.database = connections.writer
            for (slot, database) in zip(readers, connections.readers) {
                slot.database = database
            }
            return afterOpen(moved, connections.writer)
        }
    }

    /// Runs `body` holding every slot's lock, taken in a fixed order (writer, then readers).
    private func withAllLocked<Result>(_ body: () throws(StoreError) -> Result) throws(StoreError) -> Result {
        writer.lock.lock()
        for reader in readers {
            reader.lock.lock()
        }
        defer {
            for reader in readers.reversed() {
                reader.lock.unlock()
            }
            writer.lock.unlock()
        }
        return try body()
    }

    /// Closes the connections; the caller holds every lock.
    private func closeConnections() {
        // Readers first, so the writer's close is the last one and checkpoints the WAL.
        for reader in readers {
            reader.database?.close()
            reader.database = nil
        }
        writer.database?.close()
        writer.database = nil
    }

    private static func openAll(
        writer: Opener,
        reader: Opener,
        readers count: Int
    ) throws(StoreError) -> (writer: SQLiteDatabase, readers: [SQLiteDatabase]) {
        let writerDatabase = try writer()
        var readerDatabases: [SQLiteDatabase] = []
        for _ in 0..<count {
            readerDatabases.append(try reader())
        }
        return (writerDatabase, readerDatabases)
    }
}

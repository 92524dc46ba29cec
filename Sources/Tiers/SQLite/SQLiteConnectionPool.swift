import NIOConcurrencyHelpers
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

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

/// A reader connection kept for event loops, taken with a flag instead of a lock: an event loop that finds it in
/// use (by another event loop, or by the pool closing or reopening its connections) goes elsewhere at once instead
/// of waiting.
///
/// It keeps its read transaction open from one read to the next, as long as the writer connection has not been used
/// since it began (`SQLiteConnectionPool.writes`): beginning and ending a read transaction takes and drops SQLite's
/// POSIX locks on the database and on the WAL index, four `fcntl` calls, which were most of a lookup's cost. A read
/// after a write begins a new one, and the writer ends an idle reader's transaction after each use (`endIfStale`),
/// so no snapshot older than the last commit holds the WAL back for long.
///
/// `@unchecked Sendable`: `database` and `snapshot` are read and written only by whoever set `inUse` (acquiring it,
/// releasing it when done).
final class SQLiteLoopReaderSlot: @unchecked Sendable {
    private let inUse = Atomic(false)
    /// Guarded by `inUse`; `nil` when closed.
    fileprivate var database: SQLiteDatabase?
    /// Guarded by `inUse`: the pool's write count when the open read transaction began; nil when none is open.
    fileprivate var snapshot: UInt64?

    /// Runs `body` with the connection if nobody uses it now, inside a read transaction that began after the
    /// writer's `writes`-th use; nil if somebody uses it. Throws `.closed` when there is no connection.
    func withDatabaseIfFree<Result>(
        writes: UInt64,
        _ body: (SQLiteDatabase) throws(StoreError) -> Result
    ) throws(StoreError) -> Result? {
        guard tryTake() else { return nil }
        defer { release() }
        guard let database else { throw StoreError(.closed, "store is closed") }
        if snapshot != writes {
            endTransaction()
            // Deferred: the read transaction, and its snapshot, begin at the body's first read.
            try database.execute("BEGIN")
            snapshot = writes
        }
        do {
            return try body(database)
        } catch {
            endTransaction()
            throw error
        }
    }

    /// Ends the read transaction if nobody uses the connection and it began before the writer's `writes`-th use.
    fileprivate func endIfStale(writes: UInt64) {
        guard tryTake() else { return }
        defer { release() }
        if let snapshot, snapshot != writes { endTransaction() }
    }

    /// Ends the open read transaction, if any (the caller holds the slot).
    fileprivate func endTransaction() {
        guard snapshot != nil else { return }
        snapshot = nil
        try? database?.execute("ROLLBACK")
    }

    private func tryTake() -> Bool {
        inUse.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    }

    /// Takes the slot for the pool's work on every connection, yielding while an event loop finishes its read
    /// (one lookup).
    fileprivate func take() {
        while !tryTake() {
            sched_yield()
        }
    }

    fileprivate func release() {
        inUse.store(false, ordering: .releasing)
    }
}

/// The connections of one SQLite store: one writer, a few readers, each behind its own lock, and the readers
/// kept for event loops (`SQLiteLoopReaderSlot`), which never wait.
///
/// WAL mode lets the readers run beside the writer. The writer connection is used only by the
/// tier's writer thread (and recovery); reads pick a reader round-robin; an event loop takes the first loop reader
/// that is free.
///
/// `@unchecked Sendable`: the slots guard their connections (see `SQLiteConnectionSlot`,
/// `SQLiteLoopReaderSlot`); `nextReader` is a locked box; the opening closures are `@Sendable`; `isClosed` is
/// guarded by the writer slot's lock, always taken first.
final class SQLiteConnectionPool: @unchecked Sendable {
    typealias Opener = @Sendable () throws(StoreError) -> SQLiteDatabase
    /// Opens a reader; `waits`: whether it waits for another process's lock (false for the loop readers: they
    /// answer `.busy` at once).
    typealias ReaderOpener = @Sendable (_ waits: Bool) throws(StoreError) -> SQLiteDatabase

    private let writer = SQLiteConnectionSlot()
    private let readers: [SQLiteConnectionSlot]
    private let loopReaders: [SQLiteLoopReaderSlot]
    private let nextReader = NIOLockedValueBox(0)
    /// How many times the writer connection has been used (each may have committed): a loop reader whose read
    /// transaction began before the last use begins a new one.
    private let writes = Atomic<UInt64>(0)
    private let openWriter: Opener
    private let openReader: ReaderOpener
    /// Guarded by `writer.lock`: once set, `reopen` refuses to bring the connections back.
    private var isClosed = false

    /// Opens the writer (which sets the database up), then `readerCount` readers and `loopReaderCount` readers for
    /// event loops.
    init(
        readerCount: Int,
        loopReaderCount: Int,
        openWriter: @escaping Opener,
        openReader: @escaping ReaderOpener
    ) throws(StoreError) {
        self.readers = (0..<max(1, readerCount)).map { _ in SQLiteConnectionSlot() }
        self.loopReaders = (0..<max(0, loopReaderCount)).map { _ in SQLiteLoopReaderSlot() }
        self.openWriter = openWriter
        self.openReader = openReader
        try installConnections()
    }

    /// Opens every connection into its slot (the caller holds every slot, or nobody else can use the pool yet).
    private func installConnections() throws(StoreError) {
        writer.database = try openWriter()
        for slot in readers {
            slot.database = try openReader(true)
        }
        for slot in loopReaders {
            slot.database = try openReader(false)
        }
    }

    /// Runs `body` on the writer connection. Afterwards (it may have committed) the loop readers' snapshots are
    /// out of date: each begins a new one at its next read, and an idle one's ends now.
    func withWriter<Result>(_ body: (SQLiteDatabase) throws(StoreError) -> Result) throws(StoreError) -> Result {
        defer {
            let count = writes.wrappingAdd(1, ordering: .releasing).newValue
            for slot in loopReaders {
                slot.endIfStale(writes: count)
            }
        }
        return try writer.withDatabase(body)
    }

    /// Runs `body` on one of the reader connections.
    func withReader<Result>(_ body: (SQLiteDatabase) throws(StoreError) -> Result) throws(StoreError) -> Result {
        let index = nextReader.withLockedValue { next in
            defer { next = (next + 1) % readers.count }
            return next
        }
        return try readers[index].withDatabase(body)
    }

    /// Runs `body` on the first loop reader nobody uses now; nil when every one is in use (or there are none).
    func withLoopReader<Result>(
        _ body: (SQLiteDatabase) throws(StoreError) -> Result
    ) throws(StoreError) -> Result? {
        let writes = writes.load(ordering: .acquiring)
        for slot in loopReaders {
            if let result = try slot.withDatabaseIfFree(writes: writes, body) { return result }
        }
        return nil
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
            do throws(StoreError) {
                try installConnections()
            } catch {
                closeConnections()
                throw error
            }
            // installConnections set it.
            guard let writerDatabase = writer.database else { throw StoreError(.closed, "store is closed") }
            return afterOpen(moved, writerDatabase)
        }
    }

    /// Runs `body` holding every slot, taken in a fixed order (writer, readers, then loop readers).
    private func withAllLocked<Result>(_ body: () throws(StoreError) -> Result) throws(StoreError) -> Result {
        writer.lock.lock()
        for reader in readers {
            reader.lock.lock()
        }
        for reader in loopReaders {
            reader.take()
        }
        defer {
            for reader in loopReaders.reversed() {
                reader.release()
            }
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
        for reader in loopReaders {
            reader.endTransaction()
            reader.database?.close()
            reader.database = nil
        }
        writer.database?.close()
        writer.database = nil
    }
}

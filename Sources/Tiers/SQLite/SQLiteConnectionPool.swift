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
/// use (by another event loop, or by the pool's checkpoint or its work on every connection) goes elsewhere at once
/// instead of waiting.
///
/// It keeps its read transaction open from one read to the next: beginning and ending one takes and drops SQLite's
/// POSIX locks on the database and on the WAL index, four `fcntl` calls, which were most of a lookup's cost. A read
/// after the writer's next commit begins a new snapshot (the pool counts its commits, `withDatabaseIfFree`), so a
/// loop read sees every committed write. The writer commits beside the loop readers (WAL mode lets it); only its
/// checkpoints take them and end their snapshots (`SQLiteConnectionPool.withWriter`), as a snapshot kept through
/// every checkpoint let the WAL grow without bound (838 MB in 70 s of GETs and SETs): it could never start again
/// from the beginning.
///
/// `@unchecked Sendable`: `database`, `inTransaction` and `snapshotCommits` are read and written only by whoever
/// set `inUse` (acquiring it, releasing it when done).
final class SQLiteLoopReaderSlot: @unchecked Sendable {
    private let inUse = Atomic(false)
    /// Guarded by `inUse`; `nil` when closed.
    fileprivate var database: SQLiteDatabase?
    /// Guarded by `inUse`: whether a read transaction is open.
    fileprivate var inTransaction = false
    /// Guarded by `inUse`: the writer's commit count when the open read transaction began.
    private var snapshotCommits: UInt64 = 0

    /// Runs `body` with the connection inside its read transaction if nobody uses it now; nil if somebody does.
    /// The open transaction is kept if the writer has committed nothing since it began (`commits`, the writer's
    /// commit count, read after the caller looked at the writes not yet committed), else a new one begins.
    /// Throws `.closed` when there is no connection.
    func withDatabaseIfFree<Result>(
        commits: UInt64,
        _ body: (SQLiteDatabase) throws(StoreError) -> Result
    ) throws(StoreError) -> Result? {
        guard tryTake() else { return nil }
        defer { release() }
        guard let database else { throw StoreError(.closed, "store is closed") }
        if inTransaction, snapshotCommits != commits { endTransaction() }
        if !inTransaction {
            // One a failed ROLLBACK left open would hold its snapshot for good.
            if database.isInTransaction { try database.execute("ROLLBACK") }
            // Deferred: the read transaction, and its snapshot, begin at the body's first read.
            try database.execute("BEGIN")
            inTransaction = true
            // A commit between the caller's count and the first read below makes the snapshot newer than the count
            // says: the next read begins another one, which is all it costs.
            snapshotCommits = commits
        }
        do {
            return try body(database)
        } catch {
            endTransaction()
            throw error
        }
    }

    /// Ends the open read transaction, if any (the caller holds the slot).
    fileprivate func endTransaction() {
        guard inTransaction else { return }
        inTransaction = false
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
    /// Set while the pool takes the loop readers (`takeLoopReaders`: a checkpoint, or its work on every connection):
    /// event loops leave them to it instead of taking them again between its attempts.
    private let writerWaiting = Atomic(false)
    /// How many times the writer connection was used to write (`WriterUse.writing`), counted as each use ends: a
    /// loop reader whose snapshot began at an older count begins a new one.
    private let writerCommits = Atomic<UInt64>(0)
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

    /// What a use of the writer connection does, and so what it does with the loop readers.
    enum WriterUse {
        /// Reads, or syncs files: the loop readers keep their snapshots.
        case reading
        /// Writes: the loop readers read on meanwhile, each beginning a new snapshot at its first read after
        /// it; a checkpoint follows when the WAL has reached `checkpointFrames` (`checkpointIfDue`).
        case writing
    }

    /// The WAL frames at which a write is followed by a checkpoint: SQLite's own automatic checkpoint's default,
    /// which the writer connection runs here instead (see `SQLiteDatabase.countWALFrames`).
    static let checkpointFrames = 1000

    /// Runs `body` on the writer connection (see `WriterUse`).
    func withWriter<Result>(
        _ use: WriterUse = .writing,
        _ body: (SQLiteDatabase) throws(StoreError) -> Result
    ) throws(StoreError) -> Result {
        try writer.withDatabase { db throws(StoreError) -> Result in
            switch use {
            case .reading:
                return try body(db)
            case .writing:
                defer {
                    writerCommits.add(1, ordering: .releasing)
                    checkpointIfDue(db)
                }
                return try body(db)
            }
        }
    }

    /// Checkpoints the WAL once it holds `checkpointFrames`, having ended every loop reader's snapshot, so that
    /// the checkpoint can reach the WAL's end and the next commit start it over. A checkpoint that cannot (another
    /// reader holds an older snapshot, or it fails) is tried again after the next commit, as SQLite's automatic one
    /// would be, whose errors SQLite ignores too: the commit it follows stands.
    private func checkpointIfDue(_ db: SQLiteDatabase) {
        guard db.walFrames >= Self.checkpointFrames else { return }
        takeLoopReaders()
        defer { releaseLoopReaders() }
        db.checkpointPassively()
    }

    /// Takes every loop reader, ending its read transaction; event loops leave them to the writer meanwhile.
    private func takeLoopReaders() {
        writerWaiting.store(true, ordering: .relaxed)
        for slot in loopReaders {
            slot.take()
            slot.endTransaction()
        }
        writerWaiting.store(false, ordering: .relaxed)
    }

    private func releaseLoopReaders() {
        for slot in loopReaders.reversed() {
            slot.release()
        }
    }

    /// Runs `body` on one of the reader connections.
    func withReader<Result>(_ body: (SQLiteDatabase) throws(StoreError) -> Result) throws(StoreError) -> Result {
        let index = nextReader.withLockedValue { next in
            defer { next = (next + 1) % readers.count }
            return next
        }
        return try readers[index].withDatabase(body)
    }

    /// Runs `body` on the first loop reader nobody uses now; nil when every one is in use, the writer is taking them,
    /// or there are none. A caller that looked at the writes not yet committed (the writer's overlay, settled after
    /// each commit) before this call reads every write committed since: the read sees the commit count of the
    /// commits it missed there and begins a new snapshot.
    func withLoopReader<Result>(
        _ body: (SQLiteDatabase) throws(StoreError) -> Result
    ) throws(StoreError) -> Result? {
        guard !writerWaiting.load(ordering: .relaxed) else { return nil }
        let commits = writerCommits.load(ordering: .acquiring)
        for slot in loopReaders {
            if let result = try slot.withDatabaseIfFree(commits: commits, body) { return result }
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
        // Their transactions end here: every body closes the connections, which ends them too.
        takeLoopReaders()
        defer {
            releaseLoopReaders()
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

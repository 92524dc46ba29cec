import Dispatch
import Foundation
import NIOConcurrencyHelpers
import Synchronization

/// The writer of one disk tier: a dedicated thread that drains a queue of writes into batch transactions.
///
/// Callers enqueue puts, deletes and health records (under the L1 shard lock of the key, so the writes of one
/// key are queued in the order they were made). The thread takes everything queued, up to `batchSize` writes,
/// coalesces repeated writes of a key and commits them in ONE `apply` call: concurrent clients share a commit
/// (group commit). Until a write is committed, `pending(_:)` returns it (the overlay), so readers of the tier
/// see their writes. Whole-tier jobs (`perform`) run on the thread between batches, in queue order.
///
/// `@unchecked Sendable`: the queue, overlay, sequences and waiters are guarded by `condition` (its value is
/// true while the thread has something to do); `thread`-local state lives in `run`.
final class TierWriter: @unchecked Sendable {
    enum Job {
        case write(StoreWrite)
        case task(@Sendable () -> Void)
    }

    struct Item {
        /// Writes: the write's sequence number. Tasks: the sequence of the last write queued before them.
        var sequence: UInt64
        /// The sequence of the newest write merged into this item (the overlay's sequence for its key).
        var overlaySequence: UInt64
        /// Journaled writes: the journal sequence of the write first queued in this item. Others: the newest journal
        /// sequence queued before them (every journaled write up to it is ahead of them in the queue).
        var journalSequence: UInt64 = 0
        var journaled = false
        var job: Job
    }

    let health: TierHealth
    let maxEntries: Int?
    let policy: EvictionPolicy
    let batchSize: Int
    let fsync: FsyncPolicy
    /// A batch the store failed to commit is kept and tried again, in order, until it commits (the shared L3 while
    /// PostgreSQL is down: the writes wait in the journal and in this queue, readers see them in the overlay),
    /// instead of being recorded as lost writes. Not when the store rejected the data itself, nor while stopping.
    let holdsFailedBatches: Bool
    /// Whether the thread is holding a batch the store could not take (see `holdsFailedBatches`).
    private let holding = Atomic<Bool>(false)
    var tier: TierID { health.tier }
    var store: any PersistentStore { health.store }

    private let condition = ConditionLock(value: false)
    private let exited = DispatchSemaphore(value: 0)
    // Guarded by `condition`:
    private var queue: [Item] = []
    private var queueHead = 0
    /// The queue position of `queue[0]`.
    private var queueBase: UInt64 = 0
    private var overlay = WriteOverlay()
    private var lastSequence: UInt64 = 0
    private var committedSequence: UInt64 = 0
    /// The newest journal sequence queued. Journaled writes are queued inside the journal's critical section, so
    /// their journal sequences rise along the queue.
    private var lastJournalSequence: UInt64 = 0
    /// The journal sequence through which the store holds every journaled write (committed, not yet synced), and
    /// through which that is also synced: the journal may delete what every tier holds synced.
    private var committedJournalSequence: UInt64 = 0
    private var durableJournalSequence: UInt64 = 0
    /// Write items queued and not yet taken, and taken and not yet settled.
    private var queuedWrites = 0
    /// Tasks queued and not yet taken.
    private var queuedTasks = 0
    /// When the queue last went from nothing untaken to something (uptime nanoseconds).
    private var untakenSince: UInt64 = 0
    private var inFlight = 0
    private var waiters: [(sequence: UInt64, callback: @Sendable (Bool) -> Void)] = []
    /// The last sequence of the newest batch that failed (its writes are lost on this tier).
    private var lostThrough: UInt64 = 0
    private var wakeRequested = false
    /// While a task runs on the thread: every journaled write up to this sequence was queued before it.
    var currentJournalSequence: UInt64 = 0
    private var started = false
    private var stopping = false
    private var stopped = false
    /// The store lacks journaled writes older than the queue (a catch-up from the journal has not run yet): commits
    /// record no journal sequence and the journal keeps its segments.
    private var journalBlocked = false
    /// The cache is shutting down: a held batch (or a catch-up) is given up at once instead of waiting for the store,
    /// its writes staying in the journal for the next start (see `abandonHeldWrites`).
    private var abandoning = false

    /// Seconds a write may wait in the queue before the thread takes it (0: at once). Behind a journal nobody
    /// waits for the store, so writes gather for up to this long: repeated writes of a key become one row write,
    /// and many rows share a transaction. The thread takes them at once when a task (FLUSHALL, a flush) or a
    /// `whenCommitted` caller waits, when `eagerCount` are queued, and when stopping.
    let window: Double
    /// Untaken writes at which the thread stops waiting out the window.
    let eagerCount = 262_144

    init(
        health: TierHealth,
        maxEntries: Int?,
        policy: EvictionPolicy,
        batchSize: Int,
        fsync: FsyncPolicy,
        window: Double = 0,
        holdsFailedBatches: Bool = false
    ) {
        self.health = health
        self.maxEntries = maxEntries
        self.policy = policy
        self.batchSize = max(1, batchSize)
        self.fsync = fsync
        self.window = window
        self.holdsFailedBatches = holdsFailedBatches
    }

    /// Starts the thread. `repair` gives the write that brings a key up to date on this tier, given the last write
    /// of it the tier lost.
    func start(repair: @escaping @Sendable (StoreWrite) -> StoreWrite) {
        condition.lock()
        let first = !started
        started = true
        condition.unlock()
        guard first else { return }
        let thread = Thread { [self] in
            self.run(repair: repair)
            self.exited.signal()
        }
        thread.name = "cachesrvd.writer.\(tier)"
        thread.start()
    }

    // MARK: Queue

    /// Queues a write; it is visible to `pending(_:)` at once. Dropped after `stop()`. A journaled write gives
    /// its journal sequence (call it inside the journal's critical section, see `Journal.append`).
    func enqueue(_ write: StoreWrite, journalSequence: UInt64? = nil) {
        condition.lock()
        guard !stopping else {
            condition.unlock()
            return
        }
        let hadUntaken = queueHead < queue.count
        if !hadUntaken, window > 0 { untakenSince = DispatchTime.now().uptimeNanoseconds }
        lastSequence += 1
        let sequence = lastSequence
        if let journalSequence { lastJournalSequence = journalSequence }
        let journal = (sequence: lastJournalSequence, journaled: journalSequence != nil)
        switch write {
        case .put(let entry):
            enqueueReplacing(entry.key, entry: entry, write: write, sequence: sequence, journal: journal)
        case .delete(let key):
            enqueueReplacing(key, entry: nil, write: write, sequence: sequence, journal: journal)
        case .appendHealth(let key, _, _):
            overlay.seal(key)
            appendWrite(write, sequence: sequence, journal: journal)
        }
        unlockAndWake(hadUntaken: hadUntaken)
    }

    /// Appends a write item at the queue's end.
    private func appendWrite(_ write: StoreWrite, sequence: UInt64, journal: (sequence: UInt64, journaled: Bool)) {
        queue.append(
            Item(
                sequence: sequence,
                overlaySequence: sequence,
                journalSequence: journal.sequence,
                journaled: journal.journaled,
                job: .write(write)
            )
        )
        queuedWrites += 1
    }

    /// Queues a put or delete, replacing a queued write of the same key the thread has not taken yet.
    ///
    /// A queued delete is never replaced (it is queued sealed): a put taking its place would become an upsert,
    /// and L3 would keep the deleted key's health history. `coalesce` keeps the delete first in a batch.
    ///
    /// The replaced item keeps its place and its first journal sequence: the batch that takes it commits the newer
    /// write, and the journal sequence the store records stays below every write still queued behind it.
    private func enqueueReplacing(
        _ key: String,
        entry: CacheEntry?,
        write: StoreWrite,
        sequence: UInt64,
        journal: (sequence: UInt64, journaled: Bool)
    ) {
        let end = queueBase + UInt64(queue.count)
        if let queued = overlay.record(key, entry: entry, sequence: sequence, appendingAt: end) {
            let index = Int(queued - queueBase)
            queue[index].job = .write(write)
            queue[index].overlaySequence = sequence
            queue[index].journaled = queue[index].journaled || journal.journaled
        } else {
            appendWrite(write, sequence: sequence, journal: journal)
        }
    }

    /// With nothing queued or in flight, the store holds every journaled write queued so far: the journal
    /// sequences move up to the last one noted (records this tier had nothing to do for), and the synced one too
    /// when nothing committed waits for a sync.
    func settleIdleJournal(synced: Bool, lostWrites: Bool) {
        condition.lock()
        if queueHead == queue.count, inFlight == 0, !lostWrites {
            committedJournalSequence = max(committedJournalSequence, lastJournalSequence)
            if synced { durableJournalSequence = max(durableJournalSequence, committedJournalSequence) }
        }
        condition.unlock()
    }

    /// Notes a journaled record this tier has nothing to do for (call it inside the journal's critical section):
    /// the tier holds it as soon as it holds every write queued before it.
    func noteJournalSequence(_ sequence: UInt64) {
        condition.lock()
        lastJournalSequence = max(lastJournalSequence, sequence)
        condition.unlock()
    }

    /// Unlocks after queueing, waking the thread only when the queue held nothing it had not taken: a write
    /// queued behind others costs no wake-up (a broadcast per write cost more than the write). Sound because
    /// only `nextBatch` clears the condition's value, and only when it took everything (`hadUntaken` implies the
    /// value is already true). `condition.value` cannot be read here: its getter takes the lock again.
    private func unlockAndWake(hadUntaken: Bool) {
        if hadUntaken {
            condition.unlock()
        } else {
            condition.unlock(withValue: true)
        }
    }

    /// The queued, uncommitted state of `key`: nil if none, `.some(nil)` if a delete is pending.
    func pending(_ key: String) -> CacheEntry?? {
        condition.lock()
        defer { condition.unlock() }
        return overlay.lookup(key)
    }

    /// The sequence number of the last write queued.
    var lastEnqueuedSequence: UInt64 {
        condition.lock()
        defer { condition.unlock() }
        return lastSequence
    }

    /// Writes queued or being committed.
    var pendingCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return queuedWrites + inFlight
    }

    /// Calls `callback` once every write up to `sequence` is committed or lost (at once if it already is), with
    /// `true` when they were committed. Conservative: a later failed batch can make an already committed write
    /// report `false`, never the other way round.
    func whenCommitted(through sequence: UInt64, _ callback: @escaping @Sendable (Bool) -> Void) {
        condition.lock()
        if committedSequence >= sequence || stopped {
            // Sequence 0: nothing was ever queued (FLUSHALL of a new server), so nothing can have been lost.
            let committed = !stopped && (sequence == 0 || sequence > lostThrough)
            condition.unlock()
            callback(committed)
            return
        }
        waiters.append((sequence, callback))
        condition.unlock()
    }

    /// Runs `body` on the writer thread after everything queued before it, and waits for its result. After
    /// `stop()` it runs on the caller's thread.
    func perform<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T {
        let result = NIOLockedValueBox<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        condition.lock()
        guard !stopping, started else {
            condition.unlock()
            return body()
        }
        queuedTasks += 1
        queue.append(
            Item(
                sequence: lastSequence,
                overlaySequence: 0,
                journalSequence: lastJournalSequence,
                job: .task({
                    let value = body()
                    result.withLockedValue { $0 = value }
                    done.signal()
                })
            )
        )
        condition.unlock(withValue: true)
        done.wait()
        return result.withLockedValue { $0! }
    }

    /// Queues `body` to run on the writer thread after everything queued before it, without waiting for it (before
    /// `start` too: it then runs first).
    func schedule(_ body: @escaping @Sendable () -> Void) {
        condition.lock()
        guard !stopping else {
            condition.unlock()
            return
        }
        queuedTasks += 1
        queue.append(
            Item(sequence: lastSequence, overlaySequence: 0, journalSequence: lastJournalSequence, job: .task(body))
        )
        condition.unlock(withValue: true)
    }

    /// Whether `stop()` or `abandonHeldWrites()` was called: the thread no longer waits for the store.
    var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping || abandoning
    }

    /// Stops waiting for a store that cannot be reached (the shutdown calls it before it flushes): a held batch and
    /// what is queued behind it are tried once more and then lost on this tier; the journal keeps them for the next
    /// start. Writes are still taken.
    func abandonHeldWrites() {
        condition.lock()
        abandoning = true
        condition.unlock(withValue: true)
    }

    /// Whether the thread holds a batch the store could not take now (the shared L3 is unreachable).
    var isHolding: Bool { holding.load(ordering: .relaxed) }

    func setHolding(_ value: Bool) {
        holding.store(value, ordering: .relaxed)
    }

    /// Whether the store lacks journaled writes older than the queue (see `journalBlocked`).
    var isJournalBlocked: Bool {
        condition.lock()
        defer { condition.unlock() }
        return journalBlocked
    }

    func setJournalBlocked(_ value: Bool) {
        condition.lock()
        journalBlocked = value
        condition.unlock()
    }

    /// Waits until everything queued so far is committed (or lost).
    func flush() {
        perform {}
    }

    /// Wakes the thread for housekeeping (the tier was re-enabled: repair its lost keys).
    func wake() {
        condition.lock()
        wakeRequested = true
        condition.unlock(withValue: true)
    }

    /// Commits what is queued, syncs and stops the thread. Later writes are dropped. Idempotent.
    func stop() {
        condition.lock()
        let wasRunning = started && !stopping
        stopping = true
        if !started { stopped = true }
        condition.unlock(withValue: true)
        if wasRunning {
            exited.wait()
        }
    }

    // MARK: Used by the thread

    /// Waits up to `timeout` seconds for work; takes a batch of writes, or one task.
    func nextBatch(timeout: Double) -> Batch {
        guard condition.lock(whenValue: true, timeoutSeconds: timeout) else { return Batch() }
        if window > 0, !stopping, !wakeRequested, queuedTasks == 0, waiters.isEmpty,
            queue.count - queueHead < eagerCount, queueHead < queue.count
        {
            let age = Double(DispatchTime.now().uptimeNanoseconds - untakenSince) / 1e9
            if age < window {
                condition.unlock()
                return Batch(waitSeconds: window - age)
            }
        }
        var items: [Item] = []
        if queueHead < queue.count, case .write = queue[queueHead].job {
            while queueHead < queue.count, items.count < batchSize, case .write(let write) = queue[queueHead].job {
                if let key = write.replaceableKey {
                    overlay.seal(key, at: queueBase + UInt64(queueHead))
                }
                items.append(queue[queueHead])
                queueHead += 1
            }
        } else if queueHead < queue.count {
            items.append(queue[queueHead])
            queueHead += 1
            queuedTasks -= 1
        }
        if queueHead < queue.count, window > 0 {
            // What stays was queued after the batch's writes; its age is at most theirs.
            untakenSince = DispatchTime.now().uptimeNanoseconds
        }
        var through: UInt64? = nil
        if !items.isEmpty {
            if queueHead == queue.count {
                through = lastSequence
            } else if case .task = queue[queueHead].job {
                through = queue[queueHead].sequence
            } else {
                through = queue[queueHead].sequence - 1
            }
        }
        // Every journaled write before the first item still queued is in this batch or an earlier one.
        var journalThrough = lastJournalSequence
        if queueHead < queue.count {
            let next = queue[queueHead]
            journalThrough = next.journaled ? next.journalSequence - 1 : next.journalSequence
        }
        if queueHead == queue.count {
            queueBase += UInt64(queue.count)
            queue.removeAll(keepingCapacity: queue.count < 4096)
            queueHead = 0
        } else if queueHead >= 1024, queueHead * 2 >= queue.count {
            queue.removeFirst(queueHead)
            queueBase += UInt64(queueHead)
            queueHead = 0
        }
        if case .write = items.first?.job {
            inFlight = items.count
            queuedWrites -= items.count
        }
        let stop = stopping && queue.isEmpty
        let wake = wakeRequested
        wakeRequested = false
        condition.unlock(withValue: !queue.isEmpty || stopping)
        return Batch(items: items, through: through, journalThrough: journalThrough, stop: stop, wake: wake)
    }

    /// What `nextBatch` took.
    struct Batch {
        var items: [Item] = []
        var through: UInt64? = nil
        var journalThrough: UInt64 = 0
        var stop = false
        var wake = false
        /// Nothing taken: the writes queued may wait this much longer (the commit window).
        var waitSeconds: Double = 0
    }

    /// Settles a processed batch: forgets its overlay items, advances the committed sequence and calls the
    /// durability callbacks now due.
    func finish(_ items: [Item], through: UInt64?, journalThrough: UInt64? = nil, failed: Bool = false) {
        condition.lock()
        if !failed, let journalThrough, journalThrough > committedJournalSequence {
            committedJournalSequence = journalThrough
        }
        if failed, let through, through > lostThrough {
            lostThrough = through
        }
        for item in items {
            if case .write(let write) = item.job, let key = write.replaceableKey {
                overlay.settle(key, sequence: item.overlaySequence)
            }
        }
        if let through, through > committedSequence {
            committedSequence = through
        }
        inFlight = 0
        var due: [(callback: @Sendable (Bool) -> Void, committed: Bool)] = []
        if !waiters.isEmpty {
            let committed = committedSequence
            let lost = lostThrough
            due = waiters.filter { $0.sequence <= committed }.map { ($0.callback, $0.sequence > lost) }
            waiters.removeAll { $0.sequence <= committed }
        }
        condition.unlock()
        for (callback, committed) in due { callback(committed) }
    }

    /// The journal sequence through which the store holds every journaled write, committed (`synced: false`) or
    /// committed and synced.
    func journalSequence(synced: Bool) -> UInt64 {
        condition.lock()
        defer { condition.unlock() }
        return synced ? durableJournalSequence : committedJournalSequence
    }

    /// Records that what was committed through `sequence` is now synced.
    func markJournalSynced(through sequence: UInt64) {
        condition.lock()
        durableJournalSequence = max(durableJournalSequence, sequence)
        condition.unlock()
    }

    /// Starts the journal figures at what the store held when it opened (after the start-up replay).
    func startJournal(at sequence: UInt64) {
        condition.lock()
        lastJournalSequence = max(lastJournalSequence, sequence)
        committedJournalSequence = max(committedJournalSequence, sequence)
        durableJournalSequence = max(durableJournalSequence, sequence)
        condition.unlock()
    }

    /// Marks the writer stopped and calls every remaining callback.
    func markStopped() {
        condition.lock()
        stopped = true
        committedSequence = lastSequence
        let due = waiters.map(\.callback)
        waiters.removeAll()
        condition.unlock()
        for callback in due { callback(false) }
    }
}

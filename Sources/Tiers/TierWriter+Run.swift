import Dispatch

#if canImport(Glibc)
import Glibc
#endif

// The writer thread: batches, commits, eviction after commits, syncs and repairs.

extension TierWriter {
    /// Thread-local state of the writer loop.
    private struct LoopState {
        /// Something was committed since the last sync.
        var dirty = false
        var lastSync = DispatchTime.now().uptimeNanoseconds
        var lastSizeRefresh: UInt64 = 0
        var lastRepair: UInt64 = 0
        /// The last batch committed: the tier works, so lost writes can be replayed without waiting.
        var justCommitted = false
        /// The most entries the store can hold now: its last count plus every put committed since (each adds
        /// at most one row). A bounded store is counted again only when this passes its bound.
        var sizeUpperBound: Int?
        /// A batch failed or writes were lost: the store may lack a journaled write, so its journal sequences stop
        /// moving and the journal keeps every segment from here on, for the next start to replay. Cleared once every
        /// lost write is repaired and a batch commits again, unless the tier lost a write no repair brings back
        /// (`TierHealth.hasLostUnrepairably`): then the journal is kept until the next start replays it.
        var journalTainted = false
    }

    private static let second: UInt64 = 1_000_000_000
    /// The nice value of a writer behind the journal.
    static let backgroundNice: Int32 = 10

    /// The kernel's id of the calling thread (from `/proc/thread-self`, a link to `<pid>/task/<tid>`).
    static func currentThreadID() -> id_t? {
        var buffer = [CChar](repeating: 0, count: 64)
        let count = readlink("/proc/thread-self", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        let link = String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return link.split(separator: "/").last.flatMap { id_t($0) }
    }

    func run(repair: @Sendable (StoreWrite) -> StoreWrite) {
        if window > 0 {
            // Behind a journal nobody waits for this thread: on a busy machine the event loops go first (a lower
            // priority for this thread alone; Linux applies nice per thread).
            if let thread = Self.currentThreadID() {
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), thread, Self.backgroundNice)
            }
        }
        var loop = LoopState()
        if let size = health.attempt({ () throws(StoreError) in try store.count() }) {
            health.count { $0.size = size }
        }
        while true {
            let batch = nextBatch(timeout: 1)
            let (items, through, journalThrough, stop, wake) = (
                batch.items, batch.through, batch.journalThrough, batch.stop, batch.wake
            )
            housekeeping(&loop, repair: repair, force: wake || loop.justCommitted)
            loop.justCommitted = false
            if let first = items.first {
                var committed = true
                if case .task(let task) = first.job {
                    currentJournalSequence = journalThrough
                    task()
                    loop.dirty = true  // a task may have written (FLUSHALL): sync before claiming it durable
                } else {
                    switch commit(items, journalThrough: journalThrough, &loop, mayHold: !isStopping) {
                    case .committed: committed = true
                    case .lost: committed = false
                    case .held: committed = hold(items, journalThrough: journalThrough, &loop)
                    }
                }
                // A write this tier lost is not in the store: the journal must keep it.
                if !committed || health.hasLostWrites { loop.journalTainted = true }
                let holds = !loop.journalTainted && !isJournalBlocked
                finish(items, through: through, journalThrough: holds ? journalThrough : nil, failed: !committed)
                if loop.journalTainted, committed { untaintJournalIfRepaired(&loop) }
            }
            if fsync == .everysec, loop.dirty, DispatchTime.now().uptimeNanoseconds - loop.lastSync >= Self.second {
                sync(&loop)
            }
            if items.isEmpty, batch.waitSeconds == 0 {
                settleIdleJournal(synced: !loop.dirty, lostWrites: journalIncomplete(loop))
            }
            if stop { break }
            if batch.waitSeconds > 0 {
                // Let writes gather (the window), waking now and then for housekeeping and syncs.
                usleep(UInt32(min(batch.waitSeconds, 0.05) * 1e6))
            }
        }
        if loop.dirty, fsync != .no {
            sync(&loop)
        }
        settleIdleJournal(synced: !loop.dirty, lostWrites: journalIncomplete(loop))
        markStopped()
    }

    /// After a batch committed with the journal tainted: when the tier has no lost write left (each was repaired,
    /// or overwritten by a committed write) and lost none that only a replay restores, the store holds every
    /// journaled write up to the queue again, so the next commit records its journal sequence and the journal can
    /// rotate. This batch's own sequence is not claimed: it committed without recording one.
    private func untaintJournalIfRepaired(_ loop: inout LoopState) {
        guard !health.hasLostWrites, !health.hasLostUnrepairably, !health.isStale, health.isEnabled else { return }
        loop.journalTainted = false
        health.logger.info(
            "Disk tier holds every journaled write again: the journal rotates past it from its next commit",
            metadata: ["cache.store": "\(store.description)"]
        )
    }

    /// Whether the store may lack a journaled write older than the queue: its journal sequences must not move.
    private func journalIncomplete(_ loop: LoopState) -> Bool {
        loop.journalTainted || health.hasLostWrites || isJournalBlocked
    }

    /// What became of a batch.
    enum CommitOutcome {
        case committed
        /// Not committed; its writes are recorded as lost on this tier.
        case lost
        /// Not committed, and kept to be tried again (`holdsFailedBatches`).
        case held
    }

    /// Tries a held batch again until the store takes it (a probe of the disabled tier first, at most every probe
    /// interval), or until `stop()`, the store rejecting it, or the store failing for a reason retrying cannot cure:
    /// then it is lost as any failed batch. Writes queued meanwhile wait behind it, so they reach the store in order.
    private func hold(_ items: [Item], journalThrough: UInt64, _ loop: inout LoopState) -> Bool {
        setHolding(true)
        defer { setHolding(false) }
        health.logger.warning(
            "Disk tier unreachable: writes wait in the journal and are applied in order when it answers",
            metadata: ["cache.store": "\(store.description)"]
        )
        let started = DispatchTime.now().uptimeNanoseconds
        while true {
            usleep(100_000)
            if committedUnanswered(journalThrough: journalThrough, loop) {
                health.logger.info(
                    "Disk tier answers again: the batch whose commit went unanswered had been committed",
                    metadata: ["cache.store": "\(store.description)"]
                )
                return true
            }
            let stopping = isStopping
            switch commit(items, journalThrough: journalThrough, &loop, mayHold: !stopping) {
            case .committed:
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
                health.logger.info(
                    "Disk tier answers again: the writes that waited are being applied in order",
                    metadata: ["cache.store": "\(store.description)", "cache.waited_seconds": "\(Int(seconds))"]
                )
                return true
            case .lost:
                return false
            case .held:
                continue
            }
        }
    }

    /// Whether the store holds a batch whose commit failed without an answer (the connection was lost after the commit
    /// reached the server): the journal sequence the batch records, when it records one above the last commit's, is
    /// already there. Trying it again would append its health records twice and could undo another sidecar's newer
    /// commit of its keys.
    private func committedUnanswered(journalThrough: UInt64, _ loop: LoopState) -> Bool {
        guard !journalIncomplete(loop), journalThrough > journalSequence(synced: false),
            let applied = health.journalSequenceIfReachable()
        else { return false }
        return applied >= journalThrough
    }

    private func sync(_ loop: inout LoopState) {
        let started = DispatchTime.now().uptimeNanoseconds
        let committed = journalSequence(synced: false)
        if health.attempt({ () throws(StoreError) in try store.sync() }) != nil {
            markJournalSynced(through: committed)
            let elapsed = Int((DispatchTime.now().uptimeNanoseconds - started) / 1000)
            health.count { figures in
                figures.syncs += 1
                figures.syncMicroseconds += elapsed
                figures.slowestSyncMicroseconds = max(figures.slowestSyncMicroseconds, elapsed)
            }
        }
        loop.dirty = false
        loop.lastSync = DispatchTime.now().uptimeNanoseconds
    }

    /// Commits a batch of writes in one transaction; on failure (or while the tier is disabled) the writes
    /// are lost on this tier and remembered as lost, unless the writer holds failed batches (`mayHold`).
    private func commit(
        _ items: [Item],
        journalThrough: UInt64,
        _ loop: inout LoopState,
        mayHold: Bool = true
    ) -> CommitOutcome {
        var writes: [StoreWrite] = []
        writes.reserveCapacity(items.count)
        for item in items {
            if case .write(let write) = item.job { writes.append(write) }
        }
        let keys = writes.lazy.compactMap(\.replaceableKey)
        var outcome: Result<Void, StoreError>? = nil
        var elapsed = 0
        if health.isEnabled || health.probeIfDue() {
            let coalesced = Self.coalesceTaken(writes)
            let started = DispatchTime.now().uptimeNanoseconds
            let recorded = journalIncomplete(loop) ? nil : journalThrough
            outcome = health.attemptReporting { () throws(StoreError) in
                try store.apply(coalesced, journalThrough: recorded)
            }
            elapsed = Int((DispatchTime.now().uptimeNanoseconds - started) / 1000)
        }
        guard case .success = outcome else {
            let permanent = if case .failure(let error) = outcome { error.kind.isPermanent } else { false }
            if holdsFailedBatches, mayHold, !permanent {
                return .held
            }
            // Recorded before the overlay forgets these writes, so readers never see the stale store copy.
            health.recordLost(writes)
            return .lost
        }
        health.clearLost(keys)
        let committedAt = health.clock.now()
        health.count { figures in
            figures.commits += 1
            figures.lastCommitTime = committedAt
            figures.commitMicroseconds += elapsed
            figures.slowestCommitMicroseconds = max(figures.slowestCommitMicroseconds, elapsed)
        }
        loop.dirty = true
        loop.justCommitted = true
        let puts = writes.reduce(0) { count, write in
            if case .put = write { return count + 1 }
            return count
        }
        afterCommit(&loop, changedKeys: !keys.isEmpty, puts: puts)
        return .committed
    }

    /// Keeps the tier within its bound and its size figure fresh.
    ///
    /// A bounded store is counted only when the puts since its last count could have taken it past its bound,
    /// and a full store is evicted down to 95% of the bound, so a busy writer counts and evicts once per few
    /// hundred new entries instead of after every commit.
    private func afterCommit(_ loop: inout LoopState, changedKeys: Bool, puts: Int) {
        guard changedKeys else { return }
        if let maxEntries {
            if let bound = loop.sizeUpperBound, bound + puts <= maxEntries {
                loop.sizeUpperBound = bound + puts
                return
            }
            guard var size = health.attempt({ () throws(StoreError) in try store.count() }) else {
                loop.sizeUpperBound = nil
                return
            }
            if size > maxEntries,
                let evicted = health.attempt({ () throws(StoreError) in
                    try store.evict(toAtMost: maxEntries - maxEntries / 20, policy: policy)
                })
            {
                size -= evicted.count
                health.count { $0.evictionsLRU += evicted.count }
            }
            loop.sizeUpperBound = max(0, size)
            health.count { $0.size = max(0, size) }
        } else {
            let now = DispatchTime.now().uptimeNanoseconds
            guard now - loop.lastSizeRefresh >= Self.second else { return }
            loop.lastSizeRefresh = now
            if let size = health.attempt({ () throws(StoreError) in try store.count() }) {
                health.count { $0.size = size }
            }
        }
    }

    /// Probes a disabled tier when due; empties a stale cache tier; replays lost writes of an enabled one (at most
    /// once a second, or at once after a re-enable or a successful commit). Runs before the batch just taken is
    /// committed: a lost write is older than every write still queued, and L1's copy (the repair's other source)
    /// is made of writes that are queued or done.
    private func housekeeping(_ loop: inout LoopState, repair: @Sendable (StoreWrite) -> StoreWrite, force: Bool) {
        if !health.isEnabled {
            guard health.probeIfDue() else { return }
        }
        if health.isStale {
            emptyStaleTier(&loop)
            return
        }
        guard health.hasLostWrites else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        guard force || now - loop.lastRepair >= Self.second else { return }
        loop.lastRepair = now
        let (lost, overflowed) = health.lostWrites(limit: 1024)
        if overflowed, !health.isCache {
            health.logger.error(
                "Disk tier may hold stale entries or miss some: too many writes were lost while it failed"
            )
        }
        guard !lost.isEmpty else { return }
        let writes = lost.map(repair)
        loop.sizeUpperBound = nil  // repairs add rows outside commit(): count again after the next commit
        if health.attempt({ () throws(StoreError) in try store.apply(writes) }) != nil {
            health.clearLost(lost.lazy.map(\.key))
            let committedAt = health.clock.now()
            health.count { figures in
                figures.commits += 1
                figures.lastCommitTime = committedAt
            }
            loop.dirty = true
            health.logger.info("Disk tier repaired after lost writes", metadata: ["cache.keys": "\(lost.count)"])
        }
    }

    /// Empties a cache tier that may hold stale entries (readers skip it until then).
    private func emptyStaleTier(_ loop: inout LoopState) {
        guard health.attempt({ () throws(StoreError) in try store.removeAll() }) != nil else { return }
        health.markEmptied()
        health.count { $0.size = 0 }
        loop.sizeUpperBound = 0
        loop.dirty = true
        health.logger.info(
            "Disk tier emptied: it could hold stale entries (writes or a FLUSHALL missed while it failed, or other sidecars' changes)"
        )
    }

    /// `coalesce` for a batch taken from the queue. A write of a key replaces the key's untaken put in place
    /// (`enqueueReplacing`), so a key is named twice in one batch only when a delete or a health record of it is
    /// queued too: a batch of puts alone names each key once and is committed as it is, without the dictionary pass
    /// over every write (1.7% of the server's samples under SET load).
    static func coalesceTaken(_ writes: [StoreWrite]) -> [StoreWrite] {
        let putsAlone = !writes.contains { write in
            if case .put = write { return false }
            return true
        }
        guard putsAlone else { return coalesce(writes) }
        assert(Set(writes.lazy.map(\.key)).count == writes.count, "a batch of puts names a key twice")
        return writes
    }

    /// Merges the writes of each key: the last put or delete wins (a delete first if there was one, so the
    /// store drops the old health history), then the key's health records queued after its last delete.
    static func coalesce(_ writes: [StoreWrite]) -> [StoreWrite] {
        struct Merged {
            var deleted = false
            var entry: CacheEntry?
            var health: [StoreWrite] = []
        }
        var order: [String] = []
        var merged: [String: Merged] = [:]
        merged.reserveCapacity(writes.count)
        for write in writes {
            let key = write.key
            if merged[key] == nil {
                order.append(key)
                merged[key] = Merged()
            }
            switch write {
            case .put(let entry):
                merged[key]!.entry = entry
            case .delete:
                merged[key] = Merged(deleted: true)
            case .appendHealth:
                merged[key]!.health.append(write)
            }
        }
        if order.count == writes.count { return writes }
        var result: [StoreWrite] = []
        result.reserveCapacity(order.count)
        for key in order {
            let item = merged[key]!
            if item.deleted { result.append(.delete(key: key)) }
            if let entry = item.entry { result.append(.put(entry)) }
            result.append(contentsOf: item.health)
        }
        return result
    }
}

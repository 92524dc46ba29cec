// The start-up replay of the journal into the disk tiers, and where the tiers stand for its truncation.

#if canImport(Glibc)
import Glibc
#endif

extension TieredCache {
    /// Replays into each disk tier the journaled writes it lacks (those after the sequence it recorded), syncs the
    /// tiers and starts the journal after the highest sequence seen. Called by `init` before the writers start.
    ///
    /// A store that keeps no record of the journal (JSONL) is given every journaled write when it is the durable
    /// tier; as a cache in front of L3 it is emptied instead (it may hold writes newer than its shards show, or
    /// miss some) and refills from L3. A tier that fails to apply keeps the writes as lost writes (repaired when
    /// it works), and the journal keeps its segments until then.
    func startJournal(_ journal: Journal) {
        var applied: [TierID: UInt64?] = [:]
        var catchUpLater: [DiskTier] = []
        for disk in disks {
            if let sequence = disk.health.attempt({ () throws(StoreError) in
                try disk.store.appliedJournalSequence()
            }) {
                applied[disk.id] = sequence
            } else {
                applied[disk.id] = .some(0)
                // A shared L3 that cannot be reached now: its writer catches up when it answers (`catchUp`).
                if disk.writer.holdsFailedBatches { catchUpLater.append(disk) }
            }
        }
        var replaying = Set(disks.map(\.id))
        var emptyInstead: [DiskTier] = []
        for disk in disks where applied[disk.id]! == nil && disk.health.isCache {
            replaying.remove(disk.id)
            emptyInstead.append(disk)
        }
        for disk in catchUpLater { replaying.remove(disk.id) }
        var applyFailed = Set<TierID>()
        let report = journal.replay { chunk in
            for disk in disks where replaying.contains(disk.id) {
                let from = applied[disk.id]! ?? 0
                guard let last = chunk.last?.0, last > from else { continue }
                var writes: [StoreWrite] = []
                writes.reserveCapacity(chunk.count)
                var flushed = false
                for (sequence, record) in chunk where sequence > from {
                    switch record {
                    case .write(let write):
                        writes.append(write)
                    case .flush:
                        // Only a store that records no sequence needs it: the others recorded their flush.
                        if applied[disk.id]! == nil {
                            writes.removeAll()
                            flushed = true
                        }
                    }
                }
                let coalesced = TierWriter.coalesce(writes)
                let recorded = applyFailed.contains(disk.id) ? nil : last
                let done: Void? = disk.health.attempt { () throws(StoreError) in
                    if flushed { _ = try disk.store.removeAll() }
                    try disk.store.apply(coalesced, journalThrough: recorded)
                }
                if done == nil {
                    applyFailed.insert(disk.id)
                    disk.health.recordLost(writes)
                }
            }
        }
        // Above every record read, every sequence a store recorded, and the sequence the segments' names carry
        // (after a clean shutdown, the only trace of the last run's numbering when a store's record cannot be read).
        var highest = max(report.lastSequence, journal.namedSequence)
        for case .some(let sequence) in applied.values { highest = max(highest, sequence) }
        for disk in emptyInstead where report.records > 0 {
            disk.health.markStale()
        }
        for disk in catchUpLater {
            catchUp(disk, from: journal, through: highest)
        }
        for disk in disks where !catchUpLater.contains(where: { $0.id == disk.id }) {
            let synced: Void? = disk.health.attempt { () throws(StoreError) in try disk.store.sync() }
            // What a store has not applied, or not synced, stays in the journal.
            let holds = applyFailed.contains(disk.id) || synced == nil ? (applied[disk.id]! ?? 0) : highest
            disk.writer.startJournal(at: holds)
        }
        if report.records > 0 || !report.damaged.isEmpty {
            logger.info(
                "journal replayed into the disk tiers",
                metadata: [
                    "journal.segments": "\(report.segments)", "journal.records": "\(report.records)",
                    "journal.last_sequence": "\(report.lastSequence)", "journal.damaged": "\(report.damaged.count)",
                ]
            )
        }
        do {
            // Captures the disk tiers, not the cache (see the writers' `start` in `init`).
            try journal.start(after: highest) { [disks] in Self.journalAppliedThrough(disks) }
        } catch {
            logger.error(
                "cannot start the journal: nothing written from now on is durable (under --fsync always every write is answered with an error)",
                metadata: ["error": "\(error)"]
            )
        }
    }

    /// Queues, first on `disk`'s writer, the replay of the journal's records up to `highest` that the store lacks,
    /// for a shared L3 that could not be read at start (PostgreSQL down: the sidecar starts degraded). The writer
    /// waits for the store to answer (holding everything queued behind it), reads which sequence it applied, and
    /// applies the rest in order; until that is done its commits record no journal sequence and the journal keeps
    /// every segment, so a stop before it leaves the replay to the next start.
    ///
    /// The journal's segments of the last run are read again from disk (`Journal.replay` reads only those): the
    /// writes of this run are numbered above `highest` and queued behind the replay.
    func catchUp(_ disk: DiskTier, from journal: Journal, through highest: UInt64) {
        let (writer, health, logger) = (disk.writer, disk.health, logger)
        writer.setJournalBlocked(true)
        writer.setHolding(true)
        writer.schedule {
            defer { writer.setHolding(false) }
            // The journal sequence the store holds, once it answers (nil: stopping first).
            func waitForStore() -> UInt64? {
                while !writer.isStopping {
                    if let sequence = health.journalSequenceIfReachable() { return sequence }
                    usleep(100_000)
                }
                return nil
            }
            guard let applied = waitForStore() else { return }
            var complete = true
            var replayed = 0
            _ = journal.replay(through: highest) { chunk in
                guard complete, let last = chunk.last?.0, last > applied else { return }
                var writes: [StoreWrite] = []
                var through = applied
                for (sequence, record) in chunk where sequence > applied && sequence <= highest {
                    // A FLUSHALL reached the store when it ran (the store records its sequence with it).
                    if case .write(let write) = record { writes.append(write) }
                    through = sequence
                }
                let coalesced = TierWriter.coalesce(writes)
                while true {
                    let outcome = health.attemptReporting { () throws(StoreError) in
                        try health.store.apply(coalesced, journalThrough: through)
                    }
                    if case .success = outcome {
                        replayed += writes.count
                        return
                    }
                    let permanent = if case .failure(let error) = outcome { error.kind.isPermanent } else { false }
                    if permanent || writer.isStopping {
                        complete = false
                        return
                    }
                    usleep(100_000)
                    // A commit whose answer was lost may have happened: L3's sequence tells (no record twice).
                    if let now = health.journalSequenceIfReachable(), now >= through {
                        replayed += writes.count
                        return
                    }
                }
            }
            guard complete else {
                logger.error(
                    "the journal's writes of the last run could not all be applied to L3; the journal keeps them for the next start",
                    metadata: ["cache.tier": "\(health.tier)"]
                )
                return
            }
            if applied > highest {
                // L3 recorded more than this journal numbered (a journal lost, its sidecar id kept): record this run's
                // numbering, or a crash before the next commit would make the next start skip this run's records.
                let recorded: Void? = health.attempt { () throws(StoreError) in
                    try health.store.apply([], journalThrough: highest)
                }
                guard recorded != nil else {
                    logger.error("cannot record the journal sequence in L3; the journal keeps every record")
                    return
                }
            }
            writer.startJournal(at: highest)
            writer.setJournalBlocked(false)
            logger.info(
                "L3 answers: the journal's writes it lacked were applied",
                metadata: [
                    "cache.tier": "\(health.tier)", "journal.from": "\(applied)", "journal.through": "\(highest)",
                    "journal.records": "\(replayed)",
                ]
            )
        }
    }

    /// The journal sequence every disk tier holds committed and synced.
    static func journalAppliedThrough(_ disks: [DiskTier]) -> UInt64 {
        disks.map { $0.writer.journalSequence(synced: true) }.min() ?? 0
    }
}

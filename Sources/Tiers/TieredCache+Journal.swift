// The start-up replay of the journal into the disk tiers, and where the tiers stand for its truncation.

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
            if let sequence = disk.appliedJournalSequence() {
                applied[disk.id] = sequence
            } else {
                applied[disk.id] = .some(0)
                // A shared L3 that cannot be reached now: its writer catches up when it answers (`DiskTier.catchUp`).
                if disk.holdsFailedBatches { catchUpLater.append(disk) }
            }
        }
        var replaying = Set(disks.map(\.id))
        var emptyInstead: [DiskTier] = []
        for disk in disks where applied[disk.id]! == nil && disk.isCache {
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
                let recorded = applyFailed.contains(disk.id) ? nil : last
                if !disk.applyReplayed(writes, emptyingFirst: flushed, journalThrough: recorded) {
                    applyFailed.insert(disk.id)
                }
            }
        }
        // Above every record read, every sequence a store recorded, and the sequence the segments' names carry
        // (after a clean shutdown, the only trace of the last run's numbering when a store's record cannot be read).
        var highest = max(report.lastSequence, journal.namedSequence)
        for case .some(let sequence) in applied.values { highest = max(highest, sequence) }
        for disk in emptyInstead where report.records > 0 {
            disk.markStale()
        }
        for disk in catchUpLater {
            disk.catchUp(from: journal, through: highest)
        }
        for disk in disks where !catchUpLater.contains(where: { $0.id == disk.id }) {
            let synced = disk.syncStore()
            // What a store has not applied, or not synced, stays in the journal.
            let holds = applyFailed.contains(disk.id) || !synced ? (applied[disk.id]! ?? 0) : highest
            disk.startJournal(at: holds)
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

    /// The journal sequence every disk tier holds committed and synced.
    static func journalAppliedThrough(_ disks: [DiskTier]) -> UInt64 {
        disks.map { $0.journalSequence(synced: true) }.min() ?? 0
    }
}

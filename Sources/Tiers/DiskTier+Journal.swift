// A disk tier and the journal: what the store recorded, the start-up replay, and the catch-up of a shared L3 that
// could not be reached at start (see `TieredCache.startJournal`).

#if canImport(Glibc)
import Glibc
#endif

extension DiskTier {
    /// The journal sequence the store recorded: `.some(nil)` when it keeps no record (JSONL), nil when the store
    /// cannot be read.
    func appliedJournalSequence() -> UInt64?? {
        health.attempt { () throws(StoreError) in try store.appliedJournalSequence() }
    }

    /// Applies writes replayed from the journal at start, coalesced into one transaction that records
    /// `journalThrough` (nil: records nothing); with `emptyingFirst` (a FLUSHALL among them, for a store that records
    /// no sequence) the store is emptied first. Returns whether it worked; if not, the writes are kept as lost writes
    /// (repaired when the tier works).
    func applyReplayed(_ writes: [StoreWrite], emptyingFirst: Bool, journalThrough: UInt64?) -> Bool {
        let coalesced = TierWriter.coalesce(writes)
        let done: Void? = health.attempt { () throws(StoreError) in
            if emptyingFirst { _ = try store.removeAll() }
            try store.apply(coalesced, journalThrough: journalThrough)
        }
        if done == nil {
            health.recordLost(writes)
        }
        return done != nil
    }

    /// Syncs the store; false if it failed.
    func syncStore() -> Bool {
        health.attempt { () throws(StoreError) in try store.sync() } != nil
    }

    /// Starts the writer's journal figures at what the store held when it opened (after the start-up replay).
    func startJournal(at sequence: UInt64) {
        writer.startJournal(at: sequence)
    }

    /// The journal sequence through which the store holds every journaled write, committed (`synced: false`) or
    /// committed and synced.
    func journalSequence(synced: Bool) -> UInt64 {
        writer.journalSequence(synced: synced)
    }

    /// Queues, first on the writer, the replay of the journal's records up to `highest` that the store lacks, for a
    /// shared L3 that could not be read at start (PostgreSQL down: the sidecar starts degraded). The writer waits for
    /// the store to answer (holding everything queued behind it), reads which sequence it applied, and applies the
    /// rest in order; until that is done its commits record no journal sequence and the journal keeps every segment,
    /// so a stop before it leaves the replay to the next start.
    ///
    /// The journal's segments of the last run are read again from disk (`Journal.replay` reads only those): the
    /// writes of this run are numbered above `highest` and queued behind the replay.
    func catchUp(from journal: Journal, through highest: UInt64) {
        // Captures the parts, not the tier: the queued task must not keep the tier alive through its own writer.
        let (writer, health) = (writer, health)
        let logger = health.logger
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
                    "the journal's writes of the last run could not all be applied to L3; the journal keeps them for the next start"
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
                    "journal.from": "\(applied)", "journal.through": "\(highest)", "journal.records": "\(replayed)",
                ]
            )
        }
    }
}

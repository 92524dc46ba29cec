import Dispatch
import Foundation
import Logging
import NIOConcurrencyHelpers

/// The durability point of the disk tiers: an append-only log of every write, in `<data-dir>/journal/`.
///
/// A write is appended (in memory, under one lock, with the next sequence number) and handed to the disk tiers'
/// writers in the same critical section, so sequence order is queue order for every writer. The journal's thread
/// takes everything appended, encodes it (credentials as Fernet tokens), writes it with one `pwrite(2)`, and then:
/// under `always` calls `fdatasync` once for all of it and acknowledges every waiting client; under `everysec`
/// syncs about once a second; under `no` leaves it to the OS. Under `always` the thread is woken when a client waits
/// for its writes, not by each append (the event loop appends the writes of its whole round of reads before its
/// clients wait, so one sync covers them all), and segments are written over zeroed space (`JournalSpace`). The
/// stores (L2, L3) are built from the same writes in the background by their writers, which record in each
/// transaction the sequence they applied through; a segment is deleted once every tier has applied and synced all of
/// it, and a start replays what a store lacks.
///
/// `@unchecked Sendable`: the mutable state is guarded by `condition` (its value is true while the thread has
/// something to do).
public final class Journal: @unchecked Sendable {
    public let directory: String
    let cipher: CredentialCipher
    let fsync: FsyncPolicy
    let segmentSize: Int
    /// The most records encoded into one `pwrite(2)`: a large batch is written in parts, so the encoding buffer
    /// stays small enough to keep (freeing and mapping it again per batch was a tenth of the thread's time).
    let recordsPerWrite: Int
    /// How long the thread sleeps when nothing wakes it: records nobody waits for (under `always`, where only a
    /// waiting client wakes it) are written within this time, and applied segments deleted.
    let idleWakeInterval: Double
    let logger: Logger

    private let condition = ConditionLock(value: false)
    private let exited = DispatchSemaphore(value: 0)
    // Guarded by `condition`:
    private var pending: [(sequence: UInt64, record: JournalRecord)] = []
    /// When the oldest record of `pending` was appended (uptime nanoseconds), 0 when there is none.
    private var oldestPendingSince: UInt64 = 0
    private var lastSequence: UInt64
    private var writtenSequence: UInt64
    private var syncedSequence: UInt64
    /// The newest sequence whose write failed: never acknowledged.
    private var failedThrough: UInt64 = 0
    private var waiters: [Waiter] = []
    private var stopping = false
    private var stopped = false
    /// The thread was woken for the records pending (the condition's value set): set with it, cleared when the thread
    /// takes them.
    private var woken = false
    private var started = false
    /// Segments no longer written, with the last sequence each holds.
    private var closedSegments: [(segment: JournalSegment, lastSequence: UInt64)] = []
    /// Keys whose newest record could not be written, and health records that could not: what a failing journal
    /// lost (the shutdown reports them when a tier lacks them too).
    private var unwrittenKeys = Set<String>()
    private var unwrittenHealthRecords = 0
    private var figures = Figures()
    /// The zeroed space of the next segment (under `always`): being prepared, or ready to be renamed into place.
    private var spare = Spare.none
    /// Holds the preparation of the spare, so that `stop` can wait for it.
    private let spareWork = DispatchGroup()

    private enum Spare {
        case none
        case preparing
        case ready
    }

    struct Waiter {
        var sequence: UInt64
        var needsSync: Bool
        var callback: @Sendable (Bool) -> Void
    }

    /// Counters for INFO persistence.
    public struct Figures: Sendable {
        public var records = 0
        public var bytes = 0
        public var writes = 0
        public var syncs = 0
        public var writeErrors = 0
        public var segmentsDeleted = 0
        public var replayedRecords = 0
        /// When records were last written to the journal (Unix seconds), nil before the first.
        public var lastWriteTime: Double? = nil
        public var lastError: String? = nil
    }

    // Thread-local (only the journal thread touches them after `start`):
    private var fd: Int32 = -1
    private var segment: JournalSegment
    private var segmentBytes = 0
    private var lastSyncTime = DispatchTime.now().uptimeNanoseconds
    private var encoded: [UInt8] = []
    /// The batch being written: swapped with `pending` under the lock, so neither array is reallocated per batch.
    private var taken: [(sequence: UInt64, record: JournalRecord)] = []
    private var rotateAfterFailure = false

    /// Where the tiers stand: the sequence every tier has applied and synced (nothing later can be deleted).
    private var appliedThrough: @Sendable () -> UInt64 = { 0 }

    /// The segments found at open, replayed by `replay` and deleted once the tiers have them.
    private let existing: [JournalSegment]

    /// Whether segments are written over zeroed space (`always`: its syncs then commit no change of a file's size).
    private var writesOverZeroes: Bool { fsync == .always }
    private var sparePath: String { directory + "/" + JournalSpace.spareName }

    /// The highest sequence the segments found at open name (one below the newest one's first): sequences must go
    /// on above it even when no record was read, since the stores may hold records up to it. A clean shutdown
    /// leaves an empty segment named after the next sequence for this (see `removeSegmentsIfApplied`).
    var namedSequence: UInt64 {
        existing.map { $0.firstSequence - 1 }.max() ?? 0
    }

    /// Opens the journal in `directory` (created 0700 when missing). Nothing is written until `start`.
    public init(
        directory: String,
        cipher: CredentialCipher,
        fsync: FsyncPolicy,
        segmentSize: Int = 64 << 20,
        recordsPerWrite: Int = 4096,
        idleWakeInterval: Double = 0.1,
        logger: Logger
    ) throws(StoreError) {
        self.directory = directory
        self.cipher = cipher
        self.fsync = fsync
        self.segmentSize = max(4096, segmentSize)
        self.recordsPerWrite = max(1, recordsPerWrite)
        self.idleWakeInterval = idleWakeInterval
        self.logger = logger
        try JSONLFileSystem.makeDirectories(directory)
        do {
            existing = try JournalSegment.list(in: directory)
        } catch {
            throw StoreError(.io, error.description)
        }
        lastSequence = 0
        writtenSequence = 0
        syncedSequence = 0
        segment = JournalSegment(firstSequence: 0, path: "")
    }

    // MARK: Start-up

    /// What `replay` found.
    public struct ReplayReport: Sendable {
        public var segments = 0
        public var records = 0
        public var lastSequence: UInt64 = 0
        /// Segments whose end was torn or damaged (the records after the damage were not read).
        public var damaged: [String] = []
    }

    /// Reads every record of the segments found at open, in order, `chunk` records at a time.
    func replay(
        chunk: Int = 8192,
        through limit: UInt64 = .max,
        _ body: ([(UInt64, JournalRecord)]) -> Void
    ) -> ReplayReport {
        var report = ReplayReport()
        // Segments numbered above `limit` hold nothing wanted (`start` removes those above what it was given).
        for (index, segment) in existing.enumerated() where segment.firstSequence <= limit {
            report.segments += 1
            do {
                let outcome = try segment.read(cipher: cipher, chunk: chunk) { (records) throws(JournalError) in
                    report.records += records.count
                    report.lastSequence = max(report.lastSequence, records.last?.0 ?? 0)
                    body(records)
                }
                if outcome.damagedTail {
                    let last = index == existing.count - 1
                    report.damaged.append(segment.path)
                    let message = "journal segment ends in a torn or damaged record; the records after it are not read"
                    let metadata: Logger.Metadata = [
                        "journal.segment": "\(segment.path)", "journal.valid_bytes": "\(outcome.validBytes)",
                        "journal.problem": "\(outcome.problem ?? "")",
                    ]
                    // The newest segment's end is where a crash cuts a write short: expected, not an error.
                    if last {
                        logger.info("\(message)", metadata: metadata)
                    } else {
                        logger.error("\(message)", metadata: metadata)
                    }
                }
            } catch {
                report.damaged.append(segment.path)
                logger.error(
                    "cannot read a journal segment",
                    metadata: ["journal.segment": "\(segment.path)", "error": "\(error.description)"]
                )
            }
        }
        condition.lock()
        figures.replayedRecords = report.records
        condition.unlock()
        return report
    }

    /// Starts appending after `sequence` (the highest the journal or any store has seen) in a new segment, and
    /// starts the thread. `appliedThrough` tells which sequence every tier has applied and synced.
    func start(after sequence: UInt64, appliedThrough: @escaping @Sendable () -> UInt64) throws(StoreError) {
        self.appliedThrough = appliedThrough
        lastSequence = sequence
        writtenSequence = sequence
        syncedSequence = sequence
        // The replayed segments: each holds up to the next one's first sequence, the last up to `sequence`. One
        // starting after `sequence` holds no record that was read (a run killed before its first write, or its only
        // record torn): it is removed, and never counted as closed, since the new segment may take its name.
        for (index, old) in existing.enumerated() {
            guard old.firstSequence <= sequence else {
                unlink(old.path)
                continue
            }
            let next = existing[(index + 1)...].first { $0.firstSequence <= sequence }
            let last = next.map { $0.firstSequence - 1 } ?? sequence
            closedSegments.append((old, last))
        }
        // The first segment's space is prepared here, once; later ones while the current one fills.
        if writesOverZeroes, JournalSpace.prepare(at: sparePath, bytes: segmentSize) {
            spare = .ready
        } else {
            unlink(sparePath)  // left by an earlier run
        }
        do {
            try openSegment(first: sequence + 1)
        } catch {
            // Nothing can be made durable: `always` clients get errors instead of waiting forever.
            condition.lock()
            stopping = true
            stopped = true
            failedThrough = UInt64.max
            condition.unlock()
            throw error
        }
        condition.lock()
        started = true
        condition.unlock()
        let thread = Thread { [self] in
            self.run()
            self.exited.signal()
        }
        thread.name = "cachesrvd.journal"
        thread.start()
    }

    /// Starts the segment of `first`: the spare renamed into place when it is ready, else a new empty file. Records
    /// are written at `segmentBytes` (`pwrite`), in either.
    ///
    /// A renamed spare is used only once the directory is synced: records synced into it never change its size, so
    /// no later sync would make its new name durable, and a crash could leave them under the spare's name (which a
    /// start empties). On failure the file is removed and the current segment stays.
    private func openSegment(first: UInt64) throws(StoreError) {
        defer { prepareSpare() }
        let path = directory + "/" + JournalSegment.name(firstSequence: first)
        let renamed = takeSpare(as: path)
        let newFD =
            renamed
            ? open(path, O_WRONLY | O_CLOEXEC)
            : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard newFD >= 0 else {
            let reason = String(cString: strerror(errno))
            if renamed { unlink(path) }
            throw StoreError(.io, "cannot create journal segment \(path): \(reason)")
        }
        if renamed {
            do {
                try JSONLFileSystem.syncDirectory(directory)
            } catch {
                close(newFD)
                unlink(path)
                throw error
            }
        } else {
            try? JSONLFileSystem.syncDirectory(directory)
        }
        if fd >= 0 { close(fd) }
        fd = newFD
        segment = JournalSegment(firstSequence: first, path: path)
        segmentBytes = 0
    }

    /// Whether the next segment's zeroed space is ready (for tests).
    var spareIsReady: Bool {
        condition.lock()
        defer { condition.unlock() }
        return spare == .ready
    }

    /// Renames the spare to `path` if it is ready.
    private func takeSpare(as path: String) -> Bool {
        condition.lock()
        let ready = spare == .ready
        if ready { spare = .none }
        condition.unlock()
        guard ready else { return false }
        if rename(sparePath, path) == 0 { return true }
        unlink(sparePath)
        return false
    }

    /// Prepares the next segment's space in the background (under `always`, unless it is ready or under way).
    private func prepareSpare() {
        guard writesOverZeroes else { return }
        condition.lock()
        guard !stopping, spare == .none else {
            condition.unlock()
            return
        }
        spare = .preparing
        spareWork.enter()
        condition.unlock()
        let path = sparePath
        let bytes = segmentSize
        DispatchQueue.global(qos: .utility).async { [self] in
            // A stop does not wait for the rest of the zeros (seconds on a slow disk): no segment will take them.
            let prepared = JournalSpace.prepare(at: path, bytes: bytes) { [self] in
                condition.lock()
                defer { condition.unlock() }
                return stopping
            }
            condition.lock()
            spare = prepared ? .ready : .none
            condition.unlock()
            spareWork.leave()
        }
    }

    // MARK: Appending

    /// Appends a record and runs `enqueue` with its sequence inside the same critical section (the disk writers
    /// queue it there, so their queues are in sequence order). Returns the sequence.
    @discardableResult
    func append(_ record: JournalRecord, _ enqueue: (UInt64) -> Void = { _ in }) -> UInt64 {
        condition.lock()
        let hadPending = !pending.isEmpty
        lastSequence += 1
        let sequence = lastSequence
        if !stopping {
            if pending.isEmpty { oldestPendingSince = DispatchTime.now().uptimeNanoseconds }
            pending.append((sequence, record))
        }
        enqueue(sequence)
        // Wake the thread only when it had nothing to take (one broadcast per write cost more than the write), and
        // under `always` only when someone waits (`whenDone`). Only the thread clears the value, when it takes
        // everything: outside `always`, pending records imply it is true.
        if hadPending || fsync == .always {
            condition.unlock()
        } else {
            woken = true
            condition.unlock(withValue: true)
        }
        return sequence
    }

    /// The sequence of the newest record appended.
    public var lastAppendedSequence: UInt64 {
        condition.lock()
        defer { condition.unlock() }
        return lastSequence
    }

    /// The newest record appended when records have waited for the thread longer than `seconds` (a stalled disk):
    /// the server then holds replies until they are written, so an `everysec` crash loses a bounded time of writes.
    public func stalledPoint(olderThan seconds: Double) -> UInt64? {
        condition.lock()
        defer { condition.unlock() }
        guard !pending.isEmpty else { return nil }
        let age = DispatchTime.now().uptimeNanoseconds - oldestPendingSince
        return age > UInt64(seconds * 1e9) ? lastSequence : nil
    }

    /// Calls `callback` once every record up to `sequence` is written (and, with `synced`, synced), with `false`
    /// when one of them could not be written. At once, on the caller's thread, when that is already so.
    public func whenDone(through sequence: UInt64, synced: Bool, _ callback: @escaping @Sendable (Bool) -> Void) {
        condition.lock()
        let reached = synced ? syncedSequence : writtenSequence
        if reached >= sequence || stopped {
            // Sequence 0: nothing was ever appended (FLUSHALL of a new server), so nothing can have been lost.
            let ok = !stopped && (sequence == 0 || sequence > failedThrough)
            condition.unlock()
            callback(ok)
            return
        }
        waiters.append(Waiter(sequence: sequence, needsSync: synced, callback: callback))
        // Wake the thread once for what is pending (under `always` nothing else does). With nothing pending the
        // thread has taken the sequence already and settles the waiters after it syncs.
        if !pending.isEmpty, !woken {
            woken = true
            condition.unlock(withValue: true)
        } else {
            condition.unlock()
        }
    }

    /// Blocks until every record appended so far is written (or failed). Not for event loops.
    public func waitUntilWritten() {
        let done = DispatchSemaphore(value: 0)
        whenDone(through: lastAppendedSequence, synced: false) { _ in done.signal() }
        done.wait()
    }

    /// A copy of the counters.
    public var currentFigures: Figures {
        condition.lock()
        defer { condition.unlock() }
        return figures
    }

    /// Segments on disk now (for INFO).
    public var segmentCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return closedSegments.count + (started ? 1 : 0)
    }

    // MARK: The thread

    private func run() {
        while true {
            let timedOut = !condition.lock(whenValue: true, timeoutSeconds: idleWakeInterval)
            if timedOut { condition.lock() }
            swap(&taken, &pending)
            oldestPendingSince = 0
            woken = false
            let stop = stopping
            condition.unlock(withValue: false)
            if !taken.isEmpty {
                let count = taken.count
                write(taken)
                taken.removeAll(keepingCapacity: taken.capacity <= 65536)
                // Outside `always` nobody waits for the write: let records gather a moment (fewer wake-ups and
                // system calls; a process crash loses at most this much more).
                if fsync != .always, count < 4096 { usleep(1000) }
            }
            let now = DispatchTime.now().uptimeNanoseconds
            if fsync == .everysec, syncedBehind(), now - lastSyncTime >= 1_000_000_000 {
                sync()
            }
            deleteAppliedSegments()
            if stop {
                condition.lock()
                let more = !pending.isEmpty
                condition.unlock()
                if !more { break }
            }
        }
        if fsync != .no, syncedBehind() { sync() }
        condition.lock()
        stopped = true
        let due = waiters
        waiters.removeAll()
        let written = writtenSequence
        let failed = failedThrough
        condition.unlock()
        for waiter in due {
            waiter.callback(waiter.sequence <= written && waiter.sequence > failed && !waiter.needsSync)
        }
    }

    private func syncedBehind() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return syncedSequence < writtenSequence
    }

    private func write(_ batch: [(sequence: UInt64, record: JournalRecord)]) {
        let batchStart = segmentBytes
        var failure: String? = nil
        var written = 0
        var writeCalls = 0
        while written < batch.count {
            let end = min(written + recordsPerWrite, batch.count)
            encoded.removeAll(keepingCapacity: encoded.capacity <= (8 << 20))
            for index in written..<end {
                JournalCodec.append(batch[index].record, sequence: batch[index].sequence, cipher: cipher, to: &encoded)
            }
            failure = writeAll(encoded)
            writeCalls += 1
            if failure != nil { break }
            written = end
        }
        if failure != nil, written > 0 {
            // The batch fails whole, as when it was one write: cut off its parts already written.
            if ftruncate(fd, off_t(batchStart)) != 0 || batchStart > 0 { rotateAfterFailure = true }
            segmentBytes = batchStart
        }
        let through = batch.last!.sequence
        condition.lock()
        if let failure {
            failedThrough = max(failedThrough, through)
            figures.writeErrors += 1
            figures.lastError = failure
            for item in batch {
                guard case .write(let write) = item.record else { continue }
                if case .appendHealth = write {
                    unwrittenHealthRecords += 1
                } else {
                    unwrittenKeys.insert(write.key)
                }
            }
        } else {
            figures.records += batch.count
            figures.bytes += segmentBytes - batchStart
            figures.writes += writeCalls
            figures.lastWriteTime = Date().timeIntervalSince1970
            if !unwrittenKeys.isEmpty {
                for item in batch {
                    if case .write(let write) = item.record, write.replaceableKey != nil {
                        unwrittenKeys.remove(write.key)
                    }
                }
            }
        }
        writtenSequence = through
        condition.unlock()
        if let failure {
            logger.error("cannot write the journal; writes are not durable", metadata: ["error": "\(failure)"])
        }
        if fsync == .always {
            sync()
        } else {
            settleWaiters()
        }
        if segmentBytes >= segmentSize || rotateAfterFailure {
            rotateAfterFailure = false
            rotate()
        }
    }

    /// Writes `bytes` at the segment's end; on failure cuts the segment back to its last whole record.
    private func writeAll(_ bytes: [UInt8]) -> String? {
        var done = 0
        let failure: String? = bytes.withUnsafeBytes { raw -> String? in
            while done < raw.count {
                let count = pwrite(fd, raw.baseAddress! + done, raw.count - done, off_t(segmentBytes + done))
                if count < 0 {
                    if errno == EINTR { continue }
                    return "write \(segment.path): \(String(cString: strerror(errno)))"
                }
                done += count
            }
            return nil
        }
        if failure != nil {
            // Cut the partial record off, and start the next segment unless this one holds nothing: if the cut
            // failed, later records must not follow it in this file (a replay stops at a damaged record).
            if ftruncate(fd, off_t(segmentBytes)) != 0 || segmentBytes > 0 { rotateAfterFailure = true }
        } else {
            segmentBytes += bytes.count
        }
        return failure
    }

    private func sync() {
        condition.lock()
        let through = writtenSequence
        condition.unlock()
        var failure: String? = nil
        if fdatasync(fd) != 0 {
            failure = "fdatasync \(segment.path): \(String(cString: strerror(errno)))"
        }
        lastSyncTime = DispatchTime.now().uptimeNanoseconds
        condition.lock()
        if let failure {
            failedThrough = max(failedThrough, through)
            figures.writeErrors += 1
            figures.lastError = failure
            // Pages of this segment may never reach the disk, and a replay would stop where they are missing: later
            // records go to the next segment.
            if segmentBytes > 0 { rotateAfterFailure = true }
        } else {
            figures.syncs += 1
        }
        syncedSequence = max(syncedSequence, through)
        condition.unlock()
        if let failure {
            logger.error("cannot sync the journal; writes are not durable", metadata: ["error": "\(failure)"])
        }
        settleWaiters()
    }

    private func settleWaiters() {
        condition.lock()
        guard !waiters.isEmpty else {
            condition.unlock()
            return
        }
        let written = writtenSequence
        let synced = syncedSequence
        let failed = failedThrough
        var due: [(callback: @Sendable (Bool) -> Void, ok: Bool)] = []
        waiters.removeAll { waiter in
            let reached = waiter.needsSync ? synced : written
            guard waiter.sequence <= reached else { return false }
            due.append((waiter.callback, waiter.sequence > failed))
            return true
        }
        condition.unlock()
        for (callback, ok) in due { callback(ok) }
    }

    /// Closes the full segment (synced, unless `no`) and starts the next.
    private func rotate() {
        if fsync != .no { sync() }
        rotateAfterFailure = false  // this rotation is the one a failed sync asks for
        condition.lock()
        let last = writtenSequence
        condition.unlock()
        let full = segment
        do {
            try openSegment(first: last + 1)
            condition.lock()
            closedSegments.append((full, last))
            condition.unlock()
        } catch {
            logger.error(
                "cannot start a new journal segment; appending to the full one",
                metadata: ["error": "\(error)"]
            )
        }
    }

    /// Deletes the closed segments every tier has applied and synced.
    private func deleteAppliedSegments() {
        condition.lock()
        let candidates = closedSegments
        condition.unlock()
        guard let first = candidates.first else { return }
        let applied = appliedThrough()
        guard first.lastSequence <= applied else { return }
        var deleted = 0
        for (old, last) in candidates where last <= applied {
            guard old.path != segment.path else { break }
            if unlink(old.path) != 0, errno != ENOENT {
                logger.warning("cannot delete an applied journal segment", metadata: ["journal.segment": "\(old.path)"])
                break
            }
            deleted += 1
        }
        condition.lock()
        closedSegments.removeFirst(deleted)
        figures.segmentsDeleted += deleted
        condition.unlock()
    }

    // MARK: Stopping

    /// Writes and syncs what is appended, stops the thread; later appends are not written. Idempotent.
    func stop() {
        condition.lock()
        let wasRunning = started && !stopping
        stopping = true
        if !started { stopped = true }
        condition.unlock(withValue: true)
        if wasRunning { exited.wait() }
        // No new segment follows: the spare's preparation is waited for and its file removed, and the current
        // segment is cut to its records (a segment kept for the next start holds no zeros past them).
        spareWork.wait()
        if writesOverZeroes {
            unlink(sparePath)
            if fd >= 0 { _ = ftruncate(fd, off_t(segmentBytes)) }
        }
    }

    /// After `stop()`: deletes every segment when every tier has applied and synced all of it, leaving one empty
    /// segment named after the next sequence, so that the next run numbers its records above every sequence a
    /// store may have recorded, even if it cannot read the store's. Otherwise they stay, for the next start to
    /// replay.
    func removeSegmentsIfApplied() -> Bool {
        condition.lock()
        let last = lastSequence
        let all = closedSegments.map(\.segment) + (started ? [segment] : [])
        condition.unlock()
        guard appliedThrough() >= last, isIntact else { return false }
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        for old in all { unlink(old.path) }
        let marker = directory + "/" + JournalSegment.name(firstSequence: last + 1)
        let markerFD = open(marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        if markerFD >= 0 { close(markerFD) }
        try? JSONLFileSystem.syncDirectory(directory)
        condition.lock()
        closedSegments.removeAll()
        condition.unlock()
        return true
    }

    /// What the journal could not write: the keys whose newest record is not in it, and the health records.
    public var unwritten: (keys: Set<String>, healthRecords: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (unwrittenKeys, unwrittenHealthRecords)
    }

    /// Whether every record appended was written (no write or sync of the journal ever failed).
    public var isIntact: Bool {
        condition.lock()
        defer { condition.unlock() }
        return failedThrough == 0
    }
}

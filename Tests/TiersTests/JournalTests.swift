import Foundation
import TierTestSupport
import XCTest

@testable import Tiers

/// The journal's record format, its torn-tail handling, and the start-up replay into a real SQLite store.
final class JournalTests: XCTestCase {
    private var directory: SQLiteTestDirectory!
    private var journalDirectory: String { directory.file("journal") }

    override func setUp() {
        directory = SQLiteTestDirectory()
    }

    override func tearDown() {
        directory.remove()
    }

    private func records() -> [JournalRecord] {
        var withURLPassword = EntryFixtures.fullEntry("p2")
        withURLPassword.proxyURL = "http://bob:hunter2@10.0.0.2:8080"
        return [
            .write(.put(EntryFixtures.fullEntry("p1"))),
            .write(.put(withURLPassword)),
            .write(.put(CacheEntry(key: "\u{10FFC3}\u{10FFA9}", proxyURL: "", now: 5, ttlSeconds: nil))),
            .write(.delete(key: "gone")),
            .write(
                .appendHealth(
                    key: "p1",
                    record: HealthCheckRecord(
                        checkTime: 1_700_000_001.5,
                        status: .unhealthy,
                        responseTimeMs: 12.5,
                        errorMessage: "timeout",
                        checkURL: "https://check.example"
                    ),
                    keep: 7
                )
            ),
            .flush,
        ]
    }

    func testEveryRecordKindRoundTripsAndCredentialsAreOnlyTokens() throws {
        let cipher = EntryFixtures.cipher()
        var bytes: [UInt8] = []
        for (index, record) in records().enumerated() {
            JournalCodec.append(record, sequence: UInt64(index + 1), cipher: cipher, to: &bytes)
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let entry = EntryFixtures.fullEntry("p1")
        for secret in [entry.username, entry.password, "hunter2"].compactMap({ $0 }) {
            XCTAssertFalse(text.contains(secret), "\(secret) is in the journal in clear")
        }
        XCTAssertTrue(text.contains("http://bob:***@10.0.0.2:8080"), "the URL is kept masked beside its token")

        try FileManager.default.createDirectory(atPath: journalDirectory, withIntermediateDirectories: true)
        let path = journalDirectory + "/" + JournalSegment.name(firstSequence: 1)
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        var read: [(UInt64, JournalRecord)] = []
        let outcome = try JournalSegment(firstSequence: 1, path: path).read(cipher: cipher, chunk: 2) { read += $0 }
        XCTAssertFalse(outcome.damagedTail)
        XCTAssertEqual(read.map(\.0), Array(1...6))
        XCTAssertEqual(read.map(\.1), records())
    }

    func testATornOrDamagedRecordEndsTheSegmentAndKeepsWhatCameBefore() throws {
        let cipher = EntryFixtures.cipher()
        var bytes: [UInt8] = []
        for (index, record) in records().prefix(3).enumerated() {
            JournalCodec.append(record, sequence: UInt64(index + 1), cipher: cipher, to: &bytes)
        }
        let whole = bytes.count
        try FileManager.default.createDirectory(atPath: journalDirectory, withIntermediateDirectories: true)
        let path = journalDirectory + "/" + JournalSegment.name(firstSequence: 1)
        // Torn: the last record cut short.
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes.prefix(whole - 5)))
        var read: [UInt64] = []
        var outcome = try JournalSegment(firstSequence: 1, path: path).read(cipher: cipher, chunk: 10) {
            read += $0.map(\.0)
        }
        XCTAssertEqual(read, [1, 2])
        XCTAssertTrue(outcome.damagedTail)
        // Damaged: one byte of the second record's body flipped; its checksum no longer matches.
        var damaged = bytes
        let first = Int(UInt32(littleEndian: damaged.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }))
        damaged[JournalCodec.headerSize + first + JournalCodec.headerSize + 3] ^= 0xFF
        _ = FileManager.default.createFile(atPath: path, contents: Data(damaged))
        read = []
        outcome = try JournalSegment(firstSequence: 1, path: path).read(cipher: cipher, chunk: 10) {
            read += $0.map(\.0)
        }
        XCTAssertEqual(read, [1])
        XCTAssertEqual(outcome.problem, "a record's checksum does not match")
    }

    /// A cache with a journal, killed without a shutdown (the journal and the store left as a crash leaves them),
    /// then opened again: the store gets exactly the writes it lacked, health history once.
    func testStartUpReplaysWhatTheStoreLacksExactlyOnce() throws {
        let cipher = EntryFixtures.cipher()
        let l3Path = directory.file("cachesrvd.db")
        var store = try openL3(l3Path, cipher: cipher)
        try store.apply([.put(EntryFixtures.fullEntry("old"))], journalThrough: 0)
        let cache = try open(store, cipher: cipher, l3: true)  // an apply window of 60 s: nothing is applied
        let now = Date().timeIntervalSince1970
        cache.put(EntryFixtures.fullEntry("a", now: now))
        cache.put(EntryFixtures.fullEntry("b", now: now))
        _ = try cache.reportHealth("a", HealthReport(ok: true, responseTimeMs: 3), mode: .mayBlock)
        try waitDurable(cache)
        XCTAssertNil(try store.get("a"), "not applied yet: the window holds it")
        cache.journal?.stop()  // as a crash: the writers never commit, nothing is cleaned up
        store.close()

        for round in 1...2 {
            store = try openL3(l3Path, cipher: cipher)
            let restarted = try open(store, cipher: cipher, l3: true)
            XCTAssertEqual(try store.get("a")?.password, EntryFixtures.fullEntry("a").password, "round \(round)")
            XCTAssertNotNil(try store.get("b"))
            XCTAssertNotNil(try store.get("old"))
            XCTAssertEqual(try store.history("a", limit: 10).count, 1, "replayed once, round \(round)")
            XCTAssertGreaterThanOrEqual(try XCTUnwrap(store.appliedJournalSequence()), 3)
            restarted.shutdown()
        }
        let left = try JournalSegment.list(in: journalDirectory)
        XCTAssertEqual(left.count, 1, "a clean shutdown leaves one segment")
        XCTAssertEqual(SQLiteTestSupport.bytes(of: try XCTUnwrap(left.first).path).count, 0, "an empty one")
    }
}

extension JournalTests {
    /// An L1 eviction demotes the entry to L2 alone and outside the journal: it changes no data a client wrote (L3
    /// holds the entry already), so it costs no journal record and no L3 write.
    func testADemotionGoesToL2AloneAndIsNotJournaled() throws {
        let cipher = EntryFixtures.cipher()
        let l2 = try SQLiteStore(
            .l2(directory: directory.path),
            cipher: cipher,
            fsync: .everysec,
            logger: SQLiteTestSupport.logger
        )
        let l3 = try openL3(directory.file("cachesrvd.db"), cipher: cipher)
        let cache = try open(l2: l2, l3: l3, cipher: cipher) { $0.l1MaxEntries = 1 }
        let now = Date().timeIntervalSince1970
        for key in ["a", "b"] {  // b evicts and demotes a
            var entry = EntryFixtures.fullEntry(key, now: now)
            entry.evictedFromL1 = false
            cache.put(entry)
        }
        try waitDurable(cache)
        cache.flushWrites()
        XCTAssertEqual(try l2.get("a")?.evictedFromL1, true)
        XCTAssertEqual(try l3.get("a")?.evictedFromL1, false)
        XCTAssertEqual(cache.statistics().demotions, 1)

        var read: [JournalRecord] = []
        for segment in try JournalSegment.list(in: journalDirectory) {
            _ = try segment.read(cipher: cipher, chunk: 16) { read += $0.map(\.1) }
        }
        let keys = read.map { record -> String in
            guard case .write(let write) = record else { return "(flush)" }
            return write.key
        }
        XCTAssertEqual(keys, ["a", "b"], "the two puts, not the demotion")
        cache.shutdown()
    }

    /// A cache whose writers wait out an apply window of 60 s: nothing is applied unless flushed.
    private func open(_ store: any PersistentStore, cipher: CredentialCipher, l3: Bool) throws -> TieredCache {
        try open(l2: l3 ? nil : store, l3: l3 ? store : nil, cipher: cipher) { $0.journalApplyWindow = 60 }
    }

    private func open(
        l2: (any PersistentStore)?,
        l3: (any PersistentStore)?,
        cipher: CredentialCipher,
        adjust: (inout TieredCache.Configuration) -> Void
    ) throws -> TieredCache {
        var configuration = TieredCache.Configuration()
        configuration.fsync = .always
        adjust(&configuration)
        let journal = try Journal(
            directory: journalDirectory,
            cipher: cipher,
            fsync: .always,
            logger: SQLiteTestSupport.logger
        )
        return TieredCache(configuration: configuration, l2: l2, l3: l3, journal: journal)
    }

    private func openL3(_ path: String, cipher: CredentialCipher) throws -> SQLiteStore {
        try SQLiteStore(.l3(path: path), cipher: cipher, fsync: .everysec, logger: SQLiteTestSupport.logger)
    }

    private func waitDurable(_ cache: TieredCache) throws {
        let point = try XCTUnwrap(cache.durabilityPoint())
        let synced = expectation(description: "synced")
        cache.whenDurable(point) { ok in
            XCTAssertTrue(ok)
            synced.fulfill()
        }
        wait(for: [synced], timeout: 10)
    }

    /// A run killed before its first journal write leaves an empty segment named after the next sequence; the next
    /// run opens a segment of that same name and must never delete it as an old, applied one.
    func testARunKilledBeforeItsFirstWriteDoesNotCostTheNextRunItsSegment() throws {
        let cipher = EntryFixtures.cipher()
        let l3Path = directory.file("cachesrvd.db")
        let now = Date().timeIntervalSince1970
        var store = try openL3(l3Path, cipher: cipher)
        var cache = try open(store, cipher: cipher, l3: true)
        cache.journal?.stop()  // killed: nothing written, an empty segment left
        store.close()

        store = try openL3(l3Path, cipher: cipher)
        cache = try open(store, cipher: cipher, l3: true)
        cache.put(EntryFixtures.fullEntry("kept", now: now))
        try waitDurable(cache)
        usleep(400_000)  // the journal thread has looked for applied segments several times
        let segments = try JournalSegment.list(in: journalDirectory)
        XCTAssertEqual(segments.count, 1)
        XCTAssertGreaterThan(SQLiteTestSupport.bytes(of: try XCTUnwrap(segments.first).path).count, 0)
        cache.journal?.stop()  // killed again, the write only in the journal
        store.close()

        store = try openL3(l3Path, cipher: cipher)
        cache = try open(store, cipher: cipher, l3: true)
        XCTAssertNotNil(try store.get("kept"), "the acknowledged write was replayed")
        cache.shutdown()
    }

    /// After a clean shutdown the journal holds no record, and a store whose recorded sequence is lost (here: its
    /// record emptied, as a store that cannot be read counts as 0) must not make the next run number its records
    /// from 1 again: the store would later skip them as applied. The empty segment a clean shutdown leaves carries
    /// the numbering on.
    func testACleanShutdownCarriesTheNumberingOnWhenAStoreForgetsItsSequence() throws {
        let cipher = EntryFixtures.cipher()
        let l3Path = directory.file("cachesrvd.db")
        let now = Date().timeIntervalSince1970
        var store = try openL3(l3Path, cipher: cipher)
        var cache = try open(store, cipher: cipher, l3: true)
        for key in ["a", "b", "c"] { cache.put(EntryFixtures.fullEntry(key, now: now)) }
        cache.shutdown()
        store.close()
        // The three puts, and the shutdown writing L1's entries through with their access figures.
        let next = try XCTUnwrap(JournalSegment.list(in: journalDirectory).first?.firstSequence)
        XCTAssertGreaterThan(next, 3)

        let database = try SQLiteDatabase(path: l3Path, readOnly: false)
        try database.execute("DELETE FROM cachesrvd_journal")
        database.close()
        store = try openL3(l3Path, cipher: cipher)
        XCTAssertEqual(try store.appliedJournalSequence(), 0)
        cache = try open(store, cipher: cipher, l3: true)
        cache.put(EntryFixtures.fullEntry("d", now: now))
        try waitDurable(cache)
        XCTAssertEqual(
            try JournalSegment.list(in: journalDirectory).map(\.firstSequence),
            [next],
            "d is numbered after the last run's records, not from 1"
        )
        cache.shutdown()
    }

    /// JSONL keeps no journal sequence: a replay gives it every record still in the journal, so a FLUSHALL must be
    /// in the journal too, or the entries it removed come back.
    func testAFlushIsReplayedIntoAStoreThatRecordsNoSequence() throws {
        let cipher = EntryFixtures.cipher()
        let l2Directory = directory.file("l2")
        let now = Date().timeIntervalSince1970
        var store = try JSONLStore(
            directory: l2Directory,
            cipher: cipher,
            fsync: .everysec,
            logger: SQLiteTestSupport.logger
        )
        var cache = try open(store, cipher: cipher, l3: false)
        cache.put(EntryFixtures.fullEntry("flushed", now: now))
        XCTAssertEqual(try cache.removeAll(), 1)
        cache.put(EntryFixtures.fullEntry("after", now: now))
        try waitDurable(cache)
        cache.journal?.stop()  // killed: "after" only in the journal
        store.close()

        store = try JSONLStore(
            directory: l2Directory,
            cipher: cipher,
            fsync: .everysec,
            logger: SQLiteTestSupport.logger
        )
        cache = try open(store, cipher: cipher, l3: false)
        XCTAssertNil(try store.get("flushed"), "FLUSHALL was acknowledged: it stays done")
        XCTAssertNotNil(try store.get("after"))
        cache.shutdown()
    }
}

extension JournalTests {
    /// A batch larger than `recordsPerWrite` is written in parts: every record is read back, in order and whole, by
    /// the next start's replay.
    func testABatchWrittenInPartsReplaysWholeAndInOrder() throws {
        let cipher = EntryFixtures.cipher()
        let journal = try Journal(
            directory: journalDirectory,
            cipher: cipher,
            fsync: .no,
            recordsPerWrite: 3,
            logger: SQLiteTestSupport.logger
        )
        try journal.start(after: 0, appliedThrough: { 0 })
        let now = Date().timeIntervalSince1970
        let written = (0..<1000).map { JournalRecord.write(.put(EntryFixtures.plainEntry("k\($0)", now: now))) }
        for record in written { journal.append(record) }
        journal.waitUntilWritten()
        let figures = journal.currentFigures
        journal.stop()
        XCTAssertEqual(figures.records, 1000)
        XCTAssertGreaterThanOrEqual(figures.writes, 334, "at most three records per write(2)")

        let (read, report) = try replayed(cipher: cipher, fsync: .no)
        XCTAssertEqual(report.damaged, [])
        XCTAssertEqual(read.map(\.0), Array(1...1000))
        XCTAssertEqual(read.map(\.1), written)
    }
}

extension JournalTests {
    private func fileSize(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
    }

    /// What a journal opened on the test's directory replays, and its report.
    private func replayed(
        cipher: CredentialCipher,
        fsync: FsyncPolicy
    ) throws -> (records: [(UInt64, JournalRecord)], report: Journal.ReplayReport) {
        let journal = try Journal(
            directory: journalDirectory,
            cipher: cipher,
            fsync: fsync,
            logger: SQLiteTestSupport.logger
        )
        var read: [(UInt64, JournalRecord)] = []
        let report = journal.replay { read += $0 }
        return (read, report)
    }

    /// Waits (at most 10 s) until `journal` has synced `sequence`, by default the last record appended.
    private func waitSynced(_ journal: Journal, through sequence: UInt64? = nil, _ description: String = "synced") {
        let synced = expectation(description: description)
        journal.whenDone(through: sequence ?? journal.lastAppendedSequence, synced: true) { ok in
            XCTAssertTrue(ok)
            synced.fulfill()
        }
        wait(for: [synced], timeout: 10)
    }

    /// Under `always` each segment is written over zeroed space prepared beforehand: a segment starts as the whole
    /// segment's size of zeros, the next one's space is prepared beside it, and a start reads every record and takes
    /// the zeros after them for unwritten space, not damage. A stop removes the spare.
    func testUnderAlwaysSegmentsAreWrittenOverZeroedSpaceAndReadBackWhole() throws {
        let cipher = EntryFixtures.cipher()
        let segmentSize = 16 << 10
        let journal = try Journal(
            directory: journalDirectory,
            cipher: cipher,
            fsync: .always,
            segmentSize: segmentSize,
            logger: SQLiteTestSupport.logger
        )
        try journal.start(after: 0, appliedThrough: { 0 })
        let first = journalDirectory + "/" + JournalSegment.name(firstSequence: 1)
        let spare = journalDirectory + "/" + JournalSpace.spareName
        XCTAssertEqual(fileSize(first), segmentSize, "the first segment is its zeroed space")
        XCTAssertTrue(SQLiteTestSupport.bytes(of: first).allSatisfy { $0 == 0 })

        // Each round writes just over a segment's bytes into a new segment, so it starts exactly one more (whether
        // the thread takes it as one batch or several).
        let now = Date().timeIntervalSince1970
        let record = { (key: String) in JournalRecord.write(.put(EntryFixtures.plainEntry(key, now: now))) }
        var sample: [UInt8] = []
        JournalCodec.append(record("r0k0"), sequence: 1, cipher: cipher, to: &sample)
        let perRound = segmentSize / sample.count + 1
        var written: [JournalRecord] = []
        for round in 0..<4 {
            // The next segment's space is ready before the round fills the current one.
            let deadline = Date().addingTimeInterval(10)
            while !journal.spareIsReady || journal.segmentCount != round + 1, Date() < deadline { usleep(2_000) }
            XCTAssertEqual(journal.segmentCount, round + 1, "round \(round)")
            XCTAssertTrue(journal.spareIsReady, "round \(round): the spare is prepared")
            XCTAssertEqual(fileSize(spare), segmentSize, "round \(round)")
            let batch = (0..<perRound).map { record("r\(round)k\($0)") }
            for record in batch { journal.append(record) }
            waitSynced(journal, "round \(round) synced")
            written += batch
        }
        let deadline = Date().addingTimeInterval(10)
        while journal.segmentCount != 5, Date() < deadline { usleep(2_000) }
        var segments = try JournalSegment.list(in: journalDirectory)
        XCTAssertEqual(segments.count, 5, "each round filled a segment")
        let current = try XCTUnwrap(segments.last).path
        XCTAssertEqual(fileSize(current), segmentSize, "the segment started last is the renamed spare")
        XCTAssertTrue(SQLiteTestSupport.bytes(of: current).allSatisfy { $0 == 0 })
        journal.stop()
        XCTAssertNil(fileSize(spare), "a stop removes the spare")
        XCTAssertEqual(fileSize(current), 0, "a stop cuts the current segment to its records")
        segments = try JournalSegment.list(in: journalDirectory)
        XCTAssertEqual(segments.count, 5)

        let (read, report) = try replayed(cipher: cipher, fsync: .always)
        XCTAssertEqual(report.damaged, [], "the zeros after the records are unwritten space")
        XCTAssertEqual(read.map(\.0), Array(1...UInt64(written.count)))
        XCTAssertEqual(read.map(\.1), written)
    }

    /// Zeros after the records end a segment cleanly; a zero length with other bytes after it is damage, as is a
    /// torn record before zeros. Outside `always` the journal appends and prepares no space.
    func testZerosEndASegmentOnlyWhenNothingElseFollows() throws {
        let cipher = EntryFixtures.cipher()
        var bytes: [UInt8] = []
        for (index, record) in records().prefix(3).enumerated() {
            JournalCodec.append(record, sequence: UInt64(index + 1), cipher: cipher, to: &bytes)
        }
        // The third record torn: its first half written over the zeros, the rest still zeros.
        var torn = bytes
        let bodyLength = { (offset: Int) in
            Int(
                UInt32(
                    littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
                )
            )
        }
        let second = JournalCodec.headerSize + bodyLength(0)
        let third = second + JournalCodec.headerSize + bodyLength(second)
        let half = (third + torn.count) / 2
        torn.replaceSubrange(half..., with: [UInt8](repeating: 0, count: torn.count - half + 4096))
        try FileManager.default.createDirectory(atPath: journalDirectory, withIntermediateDirectories: true)
        let path = journalDirectory + "/" + JournalSegment.name(firstSequence: 1)
        let cases: [(name: String, contents: [UInt8], read: [UInt64], damaged: Bool)] = [
            ("zeros after the records", bytes + [UInt8](repeating: 0, count: 4096), [1, 2, 3], false),
            ("fewer zeros than a header", bytes + [0, 0, 0], [1, 2, 3], false),
            ("a byte after the zeros", bytes + [UInt8](repeating: 0, count: 100) + [7], [1, 2, 3], true),
            ("a torn record before the zeros", torn, [1, 2], true),
        ]
        for item in cases {
            _ = FileManager.default.createFile(atPath: path, contents: Data(item.contents))
            var read: [UInt64] = []
            let outcome = try JournalSegment(firstSequence: 1, path: path).read(cipher: cipher, chunk: 10) {
                read += $0.map(\.0)
            }
            XCTAssertEqual(read, item.read, item.name)
            XCTAssertEqual(outcome.damagedTail, item.damaged, item.name)
        }
        try FileManager.default.removeItem(atPath: path)

        let spare = journalDirectory + "/" + JournalSpace.spareName
        _ = FileManager.default.createFile(atPath: spare, contents: Data(repeating: 0, count: 4096))
        let journal = try Journal(
            directory: journalDirectory,
            cipher: cipher,
            fsync: .everysec,
            segmentSize: 16 << 10,
            logger: SQLiteTestSupport.logger
        )
        try journal.start(after: 0, appliedThrough: { 0 })
        XCTAssertNil(fileSize(spare), "a spare left by an earlier run under always is removed")
        journal.append(records()[0])
        journal.waitUntilWritten()
        XCTAssertEqual(fileSize(path), journal.currentFigures.bytes, "appended, not written over zeros")
        XCTAssertNil(fileSize(spare))
        journal.stop()
    }

    /// Under `always` on a disk without twice a segment's size free, segments are appended as under `everysec`.
    func testUnderAlwaysWithoutRoomForTheZerosSegmentsAreAppended() throws {
        let cipher = EntryFixtures.cipher()
        let journal = try Journal(
            directory: journalDirectory,
            cipher: cipher,
            fsync: .always,
            segmentSize: 1 << 50,  // no test disk has 2 PiB free
            logger: SQLiteTestSupport.logger
        )
        try journal.start(after: 0, appliedThrough: { 0 })
        let path = journalDirectory + "/" + JournalSegment.name(firstSequence: 1)
        XCTAssertEqual(fileSize(path), 0)
        XCTAssertFalse(journal.spareIsReady)
        let written = records()
        for record in written { journal.append(record) }
        waitSynced(journal)
        XCTAssertEqual(fileSize(path), journal.currentFigures.bytes, "appended, not written over zeros")
        XCTAssertNil(fileSize(journalDirectory + "/" + JournalSpace.spareName))
        journal.stop()

        let (read, report) = try replayed(cipher: cipher, fsync: .always)
        XCTAssertEqual(report.damaged, [])
        XCTAssertEqual(read.map(\.1), written)
    }

    /// Under `always` an append does not wake the journal's thread; a client that waits does. The thread's own
    /// wake-up is set past the test's time limit here, so a wait that does not wake it fails.
    func testUnderAlwaysAWaitingClientWakesTheJournal() throws {
        let journal = try Journal(
            directory: journalDirectory,
            cipher: EntryFixtures.cipher(),
            fsync: .always,
            segmentSize: 16 << 10,
            idleWakeInterval: 600,
            logger: SQLiteTestSupport.logger
        )
        try journal.start(after: 0, appliedThrough: { 0 })
        defer { journal.stop() }
        let now = Date().timeIntervalSince1970
        for index in 0..<30 {
            let sequence = journal.append(.write(.put(EntryFixtures.plainEntry("k\(index)", now: now))))
            waitSynced(journal, through: sequence, "write \(index) synced")
        }
        XCTAssertEqual(journal.currentFigures.syncs, 30, "one sync per wait")
    }
}

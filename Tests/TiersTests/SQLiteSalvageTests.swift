import TierTestSupport
import XCTest

@testable import Tiers

#if canImport(Glibc)
import Glibc
#endif

/// A corrupt SQLite tier keeps every readable row: real database files, damaged on disk, reopened.
final class SQLiteSalvageTests: XCTestCase {
    private var directory: SQLiteTestDirectory!
    private let entryCount = 3_000

    override func setUp() {
        directory = SQLiteTestDirectory()
    }

    override func tearDown() {
        directory.remove()
    }

    /// Entry `index`: every third has credentials and every field set; the others are plain.
    private func entry(_ index: Int) -> CacheEntry {
        index % 3 == 0
            ? EntryFixtures.fullEntry("key\(index)", now: 1_700_000_000 + Double(index))
            : EntryFixtures.plainEntry(
                "key\(index)",
                now: 1_700_000_000 + Double(index),
                ttl: index % 2 == 0 ? 60 : nil
            )
    }

    /// Two health checks for every fifth entry.
    private func history(_ index: Int) -> [HealthCheckRecord] {
        guard index % 5 == 0 else { return [] }
        return [
            HealthCheckRecord(checkTime: 1_700_000_100 + Double(index), status: .healthy, responseTimeMs: 12.5),
            HealthCheckRecord(
                checkTime: 1_700_000_200 + Double(index),
                status: .unhealthy,
                errorMessage: "timeout \(index)",
                checkURL: "https://check.example/\(index)"
            ),
        ]
    }

    /// Writes `entryCount` entries (and their history) into a real store of `kind` and closes it.
    private func populate(_ kind: SQLiteStoreKind, cipher: CredentialCipher) throws {
        let store = try kind.open(in: directory, cipher: cipher)
        for start in stride(from: 0, to: entryCount, by: 500) {
            var writes: [StoreWrite] = []
            for index in start..<min(start + 500, entryCount) {
                writes.append(.put(entry(index)))
                for record in history(index) {
                    writes.append(.appendHealth(key: "key\(index)", record: record, keep: 100))
                }
            }
            try store.apply(writes)
        }
        store.close()
    }

    /// The page each entry's row is on, read from the intact file (which also checks the page reader against it).
    private func pagesOfEntries(_ path: String) throws -> [String: Int] {
        var pages: [String: Int] = [:]
        for record in try SQLiteSalvage(path: path).records().records {
            if case .text(let key) = record.values.first, record.values.count > 7 {
                pages[String(decoding: key, as: UTF8.self)] = record.page
            }
        }
        return pages
    }

    /// Overwrites `count` bytes at `offset` with random bytes.
    private func damage(_ path: String, at offset: Int, count: Int) {
        var bytes = SQLiteTestSupport.bytes(of: path)
        var generator = SystemRandomNumberGenerator()
        for index in offset..<min(offset + count, bytes.count) {
            bytes[index] = generator.next()
        }
        SQLiteTestSupport.write(bytes, to: path)
    }

    func testPageReaderFindsEveryRowOfAnIntactFile() throws {
        let cipher = EntryFixtures.cipher()
        try populate(.l3, cipher: cipher)
        let records = try SQLiteSalvage(path: SQLiteStoreKind.l3.databasePath(in: directory)).records()
        XCTAssertEqual(records.unreadableCells, 0)
        let entries = records.records.filter { $0.values.count == SQLiteSchema.l3.entries.columns.count }
        XCTAssertEqual(Set(entries.map(\.rowid)), Set((1...Int64(entryCount)).map { $0 }))
        let historyColumns = try XCTUnwrap(SQLiteSchema.l3.history).columns.count
        let history = records.records.filter { $0.values.count == historyColumns && $0.values.first == .null }
        XCTAssertEqual(history.count, entryCount / 5 * 2)
    }

    func testEightKilobytesOfGarbageInTheMiddleOfL3LoseOnlyTheRowsOnDamagedPages() throws {
        let cipher = EntryFixtures.cipher()
        try populate(.l3, cipher: cipher)
        let path = SQLiteStoreKind.l3.databasePath(in: directory)
        let pages = try pagesOfEntries(path)
        XCTAssertEqual(pages.count, entryCount, "the page reader finds every row of the intact file")
        let size = SQLiteTestSupport.bytes(of: path).count
        let offset = size / 2 + 123
        damage(path, at: offset, count: 8192)
        let damagedPages = Set((offset / 4096 + 1)...((offset + 8191) / 4096 + 1))

        // Damage past page 1 shows only when a statement reads it: the cache then recovers the open store.
        let opened = try SQLiteStoreKind.l3.openRecovering(in: directory, cipher: cipher)
        let store = opened.store
        defer { store.close() }
        let report = try opened.salvage ?? store.recoverFromCorruptionSalvaging()
        XCTAssertTrue(SQLiteTestSupport.fileExists(report.movedTo), "the damaged file is kept")
        XCTAssertNotEqual(SQLiteTestSupport.bytes(of: report.movedTo), [], "the damaged file is kept")

        var intact = 0
        for index in 0..<entryCount {
            let key = "key\(index)"
            guard let page = pages[key], !damagedPages.contains(page) else { continue }
            intact += 1
            XCTAssertEqual(try store.get(key), entry(index), "\(key) was on an undamaged page")
            let checks = try store.history(key, limit: 10)
            XCTAssertEqual(checks, history(index).reversed(), "\(key)'s history")
        }
        XCTAssertGreaterThan(intact, entryCount - 200, "8 KB spans at most three pages")
        XCTAssertLessThan(intact, entryCount, "the damage hit rows")
        XCTAssertGreaterThanOrEqual(report.salvagedEntries, intact)
        XCTAssertEqual(try store.count(), report.salvagedEntries)
        XCTAssertGreaterThan(report.lostEntries, 0, "the damaged rows are counted")
        XCTAssertLessThanOrEqual(report.salvagedEntries + report.lostEntries, entryCount)
    }

    func testDamagedPageOneLosesTheSchemaButNotTheRows() throws {
        for kind in SQLiteStoreKind.allCases {
            let cipher = EntryFixtures.cipher()
            try populate(kind, cipher: cipher)
            let path = kind.databasePath(in: directory)
            let pages = try pagesOfEntries(path)
            damage(path, at: 0, count: 4096)
            let (store, _, salvage) = try kind.openRecovering(in: directory, cipher: cipher)
            defer { store.close() }
            XCTAssertEqual(salvage?.sqlReadable, false, "\(kind): SQLite cannot read it")
            for index in 0..<entryCount where pages["key\(index)"] != 1 {
                XCTAssertEqual(try store.get("key\(index)"), entry(index), "\(kind)")
            }
            XCTAssertEqual(try store.count(), pages.values.filter { $0 != 1 }.count, "\(kind)")
            directory.remove()
            directory = SQLiteTestDirectory()
        }
    }

    func testTruncatedFileKeepsWhatIsLeft() throws {
        let cipher = EntryFixtures.cipher()
        try populate(.l3, cipher: cipher)
        let path = SQLiteStoreKind.l3.databasePath(in: directory)
        let pages = try pagesOfEntries(path)
        let bytes = SQLiteTestSupport.bytes(of: path)
        let kept = bytes.count / 2 / 4096
        SQLiteTestSupport.write(Array(bytes[0..<(kept * 4096 + 1000)]), to: path)
        let opened = try SQLiteStoreKind.l3.openRecovering(in: directory, cipher: cipher)
        let store = opened.store
        defer { store.close() }
        // SQLite opens a truncated file whose page 1 is intact; the damage shows later, and the cache then
        // recovers the open store: both paths salvage.
        let salvage = try opened.salvage ?? store.recoverFromCorruptionSalvaging()
        let expected = pages.filter { $0.value <= kept }
        XCTAssertGreaterThan(expected.count, 0)
        for key in expected.keys {
            let index = Int(key.dropFirst(3))!
            XCTAssertEqual(try store.get(key), entry(index))
        }
        XCTAssertGreaterThanOrEqual(salvage.salvagedEntries, expected.count)
        // The interior pages that survived still name rowids far beyond the last row found.
        XCTAssertGreaterThan(salvage.lostEntries, entryCount / 3, "the rows cut off are counted")
        XCTAssertLessThanOrEqual(salvage.salvagedEntries + salvage.lostEntries, entryCount)
    }

    func testAllGarbageSalvagesNothingAndDoesNotCrash() throws {
        for kind in SQLiteStoreKind.allCases {
            let path = kind.databasePath(in: directory)
            try SQLiteFiles.ensureDirectory(SQLiteFiles.directory(of: path))
            var generator = SystemRandomNumberGenerator()
            SQLiteTestSupport.write((0..<(64 * 1024)).map { _ in generator.next() }, to: path)
            let (store, recoveredFrom, salvage) = try kind.openRecovering(
                in: directory,
                cipher: EntryFixtures.cipher()
            )
            defer { store.close() }
            XCTAssertNotNil(recoveredFrom, "\(kind)")
            XCTAssertEqual(salvage?.salvagedEntries, 0, "\(kind)")
            XCTAssertEqual(try store.count(), 0, "\(kind)")
        }
    }

    func testRowsWithUndecryptableCredentialsAreRejectedAndCounted() throws {
        let cipher = EntryFixtures.cipher()
        try populate(.l2, cipher: cipher)
        let path = SQLiteStoreKind.l2.databasePath(in: directory)
        damage(path, at: 0, count: 100)
        let (store, _, salvage) = try SQLiteStoreKind.l2.openRecovering(
            in: directory,
            cipher: EntryFixtures.cipher()
        )
        defer { store.close() }
        let withCredentials = (0..<entryCount).filter { $0 % 3 == 0 }.count
        XCTAssertEqual(salvage?.salvagedEntries, entryCount - withCredentials, "another key decrypts nothing")
        XCTAssertEqual(salvage?.lostEntries, withCredentials)
        XCTAssertNil(try store.get("key0"))
        XCTAssertEqual(try store.get("key1"), entry(1))
    }

    func testWALFramesReplaceTheirPagesAndUncommittedFramesAreIgnored() throws {
        // A page image in the file, then the same page in a committed frame and again in an uncommitted one.
        let pageSize = 512
        func page(url: String) -> [UInt8] {
            // A table leaf with one cell: rowid 1, record (key TEXT, url TEXT, 6 more NULLs).
            let key = Array("k".utf8)
            let value = Array(url.utf8)
            var header: [UInt8] = [10, UInt8(13 + 2 * key.count), UInt8(13 + 2 * value.count)]
            header += [UInt8](repeating: 0, count: 7)
            let record = header + key + value
            let cell = [UInt8(record.count), 1] + record
            var bytes = [UInt8](repeating: 0, count: pageSize)
            let start = pageSize - cell.count
            bytes[0] = 0x0d
            bytes[3] = 0
            bytes[4] = 1
            bytes[8] = UInt8(start >> 8)
            bytes[9] = UInt8(start & 0xff)
            bytes.replaceSubrange(start..<pageSize, with: cell)
            return bytes
        }
        func frame(_ number: UInt32, commit: UInt32, _ body: [UInt8]) -> [UInt8] {
            var header = [UInt8](repeating: 0, count: 24)
            header[3] = UInt8(number)
            header[7] = UInt8(commit)
            header.replaceSubrange(8..<16, with: [1, 2, 3, 4, 5, 6, 7, 8])
            return header + body
        }
        var walHeader = [UInt8](repeating: 0, count: 32)
        walHeader.replaceSubrange(0..<4, with: [0x37, 0x7f, 0x06, 0x82])
        walHeader[10] = UInt8(pageSize >> 8)
        walHeader.replaceSubrange(16..<24, with: [1, 2, 3, 4, 5, 6, 7, 8])
        let file = [UInt8](repeating: 0, count: pageSize) + page(url: "old")
        let wal = walHeader + frame(2, commit: 2, page(url: "new")) + frame(2, commit: 0, page(url: "uncommitted"))
        let salvage = SQLiteSalvage(file: file, wal: wal)
        XCTAssertEqual(salvage.pageSize, pageSize)
        let records = salvage.records().records
        XCTAssertEqual(records.count, 1)
        XCTAssertEqual(records.first?.values[1], .text(Array("new".utf8)))

        // A damaged frame header naming page 0x7fffffff is ignored instead of growing the image to terabytes.
        var far = frame(2, commit: 2, page(url: "far"))
        far.replaceSubrange(0..<4, with: [0x7f, 0xff, 0xff, 0xff])
        let damaged = SQLiteSalvage(file: file, wal: walHeader + far)
        XCTAssertEqual(damaged.pages.count, 2)
        XCTAssertEqual(damaged.records().records.first?.values[1], .text(Array("old".utf8)))
    }

    func testRecordDecodingRejectsMalformedRecords() {
        XCTAssertEqual(SQLiteSalvage.decodeRecord([3, 1, 9, 0x7f]), [.integer(127), .integer(1)])
        XCTAssertEqual(SQLiteSalvage.decodeRecord([2, 7] + [0x3f, 0xf0, 0, 0, 0, 0, 0, 0]), [.real(1)])
        XCTAssertEqual(SQLiteSalvage.decodeRecord([2, 1, 0xff]), [.integer(-1)])
        XCTAssertNil(SQLiteSalvage.decodeRecord([2, 10]), "reserved serial type")
        XCTAssertNil(SQLiteSalvage.decodeRecord([2, 17, 0x61]), "a body shorter than its header says")
        XCTAssertNil(SQLiteSalvage.decodeRecord([9]), "a header longer than the record")
        XCTAssertNil(SQLiteSalvage.decodeRecord([2, 1, 5, 6]), "bytes left over")
        // A 9-byte varint with its top bits set is a negative serial type: rejected, never a negative length.
        XCTAssertNil(SQLiteSalvage.decodeRecord([10] + [0xc0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]))
        XCTAssertNil(SQLiteSalvage.decodeRecord([10] + [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0]))
    }

    func testSalvagedValuesMustBeWithinTheFieldsBounds() {
        var entry = CacheEntry(key: "k", proxyURL: "http://a:1", now: 1_700_000_000, ttlSeconds: 60)
        XCTAssertTrue(entry.hasFieldsWithinBounds)
        for bad in [3e200, .infinity, .nan, -1] {
            entry.expiresAt = bad
            XCTAssertFalse(entry.hasFieldsWithinBounds, "expires_at \(bad)")
        }
        entry.expiresAt = nil
        entry.accessCount = Int.max
        XCTAssertFalse(entry.hasFieldsWithinBounds, "a count that would overflow when incremented")
    }
}

import Foundation
import TierTestSupport
import XCTest

@testable import Tiers

/// `L3Copy` between two SQLite L3 files (the PostgreSQL target is covered end to end by `migrate-l3`'s tests):
/// entries and histories in order, conflicts skipped or overwritten, expired entries left out, batches.
final class L3CopyTests: XCTestCase {
    private var directory: SQLiteTestDirectory!

    override func setUp() {
        directory = SQLiteTestDirectory()
    }

    override func tearDown() {
        directory.remove()
    }

    private func open(_ name: String, cipher: CredentialCipher) throws -> SQLiteStore {
        try SQLiteStore(.l3(path: directory.file(name)), cipher: cipher, fsync: .no, logger: SQLiteTestSupport.logger)
    }

    /// A source holding `count` entries (`k1`...), each with `index` health records, and one expired entry.
    private func makeSource(_ cipher: CredentialCipher, count: Int) throws -> SQLiteStore {
        let source = try open("source.db", cipher: cipher)
        var writes: [StoreWrite] = [.put(EntryFixtures.plainEntry("gone", now: 1_000, ttl: 1))]
        for index in 1...count {
            writes.append(.put(EntryFixtures.fullEntry("k\(index)", now: 1_700_000_000 + Double(index))))
            // Two checks at the same time last: only the order of insertion tells them apart.
            for check in 0..<index {
                let status: HealthStatus = check % 2 == 0 ? .healthy : .unhealthy
                let record = StoreContract.check(Double(min(check, index - 2)), status)
                writes.append(.appendHealth(key: "k\(index)", record: record, keep: 100))
            }
        }
        try source.apply(writes)
        return source
    }

    func testCopiesEntriesAndHistoriesInOrderInBatchesLeavingExpiredOnes() throws {
        let cipher = EntryFixtures.cipher()
        let source = try makeSource(cipher, count: 7)
        defer { source.close() }
        let target = try open("target.db", cipher: cipher)
        defer { target.close() }

        let summary = try L3Copy.run(from: source, into: target, onConflict: .skip, batchKeys: 3, now: 1_700_000_100)
        XCTAssertEqual(summary.copied, 7)
        XCTAssertEqual(summary.expired, 1)
        XCTAssertEqual(summary.skipped, 0)
        XCTAssertEqual(summary.overwritten, 0)
        XCTAssertEqual(summary.historyRecords, 28)
        XCTAssertEqual(try target.count(), 7)
        XCTAssertNil(try target.get("gone"))
        for index in 1...7 {
            let key = "k\(index)"
            XCTAssertEqual(try target.get(key), try source.get(key), key)
            XCTAssertEqual(try target.history(key, limit: 1000), try source.history(key, limit: 1000), key)
        }
    }

    func testAKeyTheTargetHoldsIsSkippedOrOverwrittenWithItsHistory() throws {
        let cipher = EntryFixtures.cipher()
        let source = try makeSource(cipher, count: 3)
        defer { source.close() }
        let target = try open("target.db", cipher: cipher)
        defer { target.close() }
        let theirs = EntryFixtures.plainEntry("k2", now: 1_700_000_050)
        let theirCheck = StoreContract.check(99, .unhealthy)
        try target.apply([.put(theirs), .appendHealth(key: "k2", record: theirCheck, keep: 100)])

        let skipped = try L3Copy.run(from: source, into: target, onConflict: .skip, now: 1_700_000_100)
        XCTAssertEqual(skipped.copied, 2)
        XCTAssertEqual(skipped.skipped, 1)
        XCTAssertEqual(skipped.historyRecords, 1 + 3, "k2's history stays behind with its entry")
        XCTAssertEqual(try target.get("k2"), theirs)
        XCTAssertEqual(try target.history("k2", limit: 100), [theirCheck])

        let again = try L3Copy.run(from: source, into: target, onConflict: .skip, now: 1_700_000_100)
        XCTAssertEqual(again.copied, 0)
        XCTAssertEqual(again.skipped, 3)
        XCTAssertEqual(again.historyRecords, 0)

        let overwritten = try L3Copy.run(from: source, into: target, onConflict: .overwrite, now: 1_700_000_100)
        XCTAssertEqual(overwritten.copied, 3)
        XCTAssertEqual(overwritten.overwritten, 3)
        XCTAssertEqual(overwritten.historyRecords, 6)
        XCTAssertEqual(try target.get("k2"), try source.get("k2"))
        XCTAssertEqual(try target.history("k2", limit: 100), try source.history("k2", limit: 100), "replaced whole")
        XCTAssertEqual(try target.history("k3", limit: 100).count, 3, "not appended twice")
    }

    func testCredentialsAreEncryptedAgainUnderTheTargetsKey() throws {
        let source = try makeSource(EntryFixtures.cipher(), count: 1)
        defer { source.close() }
        let target = try open("target.db", cipher: EntryFixtures.cipher())
        _ = try L3Copy.run(from: source, into: target, onConflict: .skip, now: 1_700_000_100)
        XCTAssertEqual(try target.get("k1")?.password, "s3cret-PASSWORD-k1", "decrypted with the target's own key")
        target.close()
        for file in ["target.db", "target.db-wal"] {
            let bytes = FileManager.default.contents(atPath: directory.file(file)) ?? Data()
            XCTAssertNil(bytes.range(of: Data("s3cret-PASSWORD-k1".utf8)), "the password in clear in \(file)")
        }
    }
}

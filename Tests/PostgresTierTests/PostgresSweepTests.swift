import Foundation
import PostgresNIO
import TierTestSupport
import XCTest

@testable import PostgresTier
@testable import Tiers

/// The sweep of expired entries runs once at a time in a fleet (an advisory lock), and what it deletes is announced
/// to the other sidecars.
final class PostgresSweepTests: PostgresStoreTestCase {
    /// Three entries expired at `now`, one that never expires.
    private func putExpiredEntries(
        _ store: PostgresStore,
        prefix: String = "old"
    ) throws -> (now: Double, keys: [String]) {
        let keys = (0..<3).map { "\(prefix)-\($0)" }
        try store.apply(
            keys.map { .put(EntryFixtures.plainEntry($0, now: 1_000, ttl: 10)) }
                + [.put(EntryFixtures.plainEntry("forever"))]
        )
        return (2_000, keys)
    }

    func testASweepSkipsWhileAnotherSidecarSweepsAndRunsAfterwards() throws {
        let cipher = CredentialCipher(current: .generate())
        let a = try open(cipher: cipher, sidecar: "sidecar-a")
        defer { a.close() }
        let b = try open(cipher: cipher, sidecar: "sidecar-b")
        defer { b.close() }
        let (now, keys) = try putExpiredEntries(a)

        // Sidecar A is sweeping: its transaction holds the sweep's lock.
        try a.pool.withWriter { session throws(StoreError) in
            try session.transaction("test: hold the sweep lock") { () throws(StoreError) in
                var binds = PostgresBindings()
                binds.append(PostgresSchema.sweepLockKey)
                try session.query("SELECT pg_advisory_xact_lock($1)", binds, "test: lock")
                XCTAssertEqual(try b.removeExpired(now: now), [], "B skips while A sweeps")
                XCTAssertEqual(try b.removeExpired(now: now), [])
            }
        }
        XCTAssertEqual(b.sweepsSkipped, 2)
        XCTAssertEqual(try query("SELECT count(*) FROM cache_entries"), ["4"], "B deleted nothing")

        XCTAssertEqual(Set(try b.removeExpired(now: now)), Set(keys), "the lock ends with A's transaction")
        XCTAssertEqual(b.sweepsSkipped, 2, "a sweep that ran is not a skip")
        XCTAssertEqual(a.sweepsSkipped, 0)
        XCTAssertEqual(try query("SELECT count(*) FROM cache_entries"), ["1"])
        XCTAssertEqual(try a.removeExpired(now: now), [], "nothing left to sweep")
    }

    func testTheSetupLockDoesNotStopASweep() throws {
        let store = try open(cipher: CredentialCipher(current: .generate()))
        defer { store.close() }
        let (now, keys) = try putExpiredEntries(store)
        let other = try open(cipher: store.cipher, sidecar: "sidecar-b")
        defer { other.close() }
        try other.pool.withWriter { session throws(StoreError) in
            try session.transaction("test: hold the setup lock") { () throws(StoreError) in
                var binds = PostgresBindings()
                binds.append(PostgresSchema.setupLockKey)
                try session.query("SELECT pg_advisory_xact_lock($1)", binds, "test: lock")
                XCTAssertEqual(Set(try store.removeExpired(now: now)), Set(keys))
            }
        }
        XCTAssertEqual(store.sweepsSkipped, 0)
    }

    func testSweptKeysAreAnnouncedToTheOtherSidecars() throws {
        let cipher = CredentialCipher(current: .generate())
        let a = try open(cipher: cipher, sidecar: "sidecar-a")
        defer { a.close() }
        let b = try open(cipher: cipher, sidecar: "sidecar-b")
        defer { b.close() }
        let atB = PostgresInvalidationTests.Recorder()
        b.subscribe(atB)
        try waitUntil { b.isListening }
        let (now, keys) = try putExpiredEntries(a)
        try waitUntil { atB.received.keys.count == 4 }  // the puts

        XCTAssertEqual(Set(try a.removeExpired(now: now)), Set(keys))
        try waitUntil { atB.received.keys.count == 7 }
        XCTAssertEqual(Set(atB.received.keys.suffix(3)), Set(keys), "the swept keys, by name")
        XCTAssertEqual(atB.received.everything, 1, "only the start's: a sweep never says everything")
        XCTAssertEqual(a.invalidationsSent, 7)
    }

    func testASweepOfMoreKeysThanANoticeListsAnnouncesNone() throws {
        let cipher = CredentialCipher(current: .generate())
        var configuration = try configuration(sidecar: "sidecar-a")
        configuration.notifyKeyLimit = 2
        let a = try PostgresStore(configuration, cipher: cipher, logger: Self.logger)
        defer { a.close() }
        let b = try open(cipher: cipher, sidecar: "sidecar-b")
        defer { b.close() }
        let atB = PostgresInvalidationTests.Recorder()
        b.subscribe(atB)
        try waitUntil { b.isListening }
        let (now, keys) = try putExpiredEntries(a)
        try waitUntil { atB.received.everything == 2 }  // four puts: more than 2 keys, "everything"
        let sentBefore = a.invalidationsSent

        XCTAssertEqual(Set(try a.removeExpired(now: now)), Set(keys))
        try a.apply([.delete(key: "forever")])  // a marker: its notice comes after any the sweep sent
        try waitUntil { atB.received.keys == ["forever"] }
        XCTAssertEqual(atB.received.everything, 2, "the sweep of 3 keys (limit 2) did not drop every copy")
        XCTAssertEqual(a.invalidationsSent, sentBefore + 1)
    }
}

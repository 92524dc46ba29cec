import Foundation
import TierTestSupport
import XCTest

@testable import PostgresTier
@testable import Tiers

/// `sharedEntries`, the fleet's size in INFO: every sidecar's entries, counted in the background at most once per
/// interval, never on the caller's thread.
final class PostgresSharedSizeTests: PostgresStoreTestCase {
    private func open(sidecar: String, cipher: CredentialCipher, interval: Double) throws -> PostgresStore {
        var configuration = try configuration(sidecar: sidecar)
        configuration.sharedSizeRefreshInterval = interval
        return try PostgresStore(configuration, cipher: cipher, logger: Self.logger)
    }

    func testEachSidecarSeesTheOthersEntries() throws {
        let cipher = CredentialCipher(current: .generate())
        let a = try open(sidecar: "sidecar-a", cipher: cipher, interval: 0)
        defer { a.close() }
        let b = try open(sidecar: "sidecar-b", cipher: cipher, interval: 0)
        defer { b.close() }
        XCTAssertNil(a.sharedEntries, "nothing counted yet: the first ask starts a count and does not wait for it")
        try waitUntil { a.sharedEntries == 0 }

        try b.apply((0..<3).map { .put(EntryFixtures.plainEntry("b-\($0)")) })
        try waitUntil { a.sharedEntries == 3 }
        try a.apply([.put(EntryFixtures.plainEntry("a-0"))])
        try waitUntil { b.sharedEntries == 4 }
        try waitUntil { a.sharedEntries == 4 }
    }

    func testAFreshCountIsAnsweredWithoutCountingAgain() throws {
        let cipher = CredentialCipher(current: .generate())
        let a = try open(sidecar: "sidecar-a", cipher: cipher, interval: 3600)
        defer { a.close() }
        let b = try open(sidecar: "sidecar-b", cipher: cipher, interval: 3600)
        defer { b.close() }
        XCTAssertEqual(try a.count(), 0, "a count of the table (as the L3 writer makes) is recorded")
        XCTAssertEqual(a.sharedEntries, 0)
        try b.apply([.put(EntryFixtures.plainEntry("b-0"))])
        for _ in 0..<20 {
            XCTAssertEqual(a.sharedEntries, 0, "within the interval the last count is answered")
        }
        XCTAssertEqual(try a.count(), 1)
        XCTAssertEqual(a.sharedEntries, 1)
    }
}

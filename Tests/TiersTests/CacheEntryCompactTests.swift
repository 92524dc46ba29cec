import XCTest

@testable import Tiers

/// The compact representation of an entry: every property reads back what was written, copies stay independent,
/// equality compares values, and the estimate L1's memory bound uses follows what the entry holds.
final class CacheEntryCompactTests: XCTestCase {
    private let now = 1_764_000_000.0

    private func plain(_ key: String = "k") -> CacheEntry {
        CacheEntry(key: key, proxyURL: "xxx", now: now, ttlSeconds: nil)
    }

    func testTheCommonEntryStaysSmallAndHasNoBox() {
        let entry = plain()
        XCTAssertNil(entry.rare)
        // Two strings, five 8-byte numbers, the box reference, the source code and two one-byte fields; the old
        // layout took 240 bytes, its node 264.
        XCTAssertLessThanOrEqual(MemoryLayout<CacheEntry>.size, 84)
        XCTAssertLessThanOrEqual(MemoryLayout<MemoryTierStorage.Node>.stride, 88)
    }

    func testSourcesReadBackExactlyWhereverTheyAreHeld() {
        var entry = plain()
        XCTAssertEqual(entry.source, "unknown")
        entry.source = "feedA"
        XCTAssertEqual(entry.source, "feedA")
        XCTAssertNil(entry.rare, "a short name is shared, not boxed")
        let precomposed = "caf\u{E9}"
        let decomposed = "cafe\u{301}"
        entry.source = precomposed
        var other = plain()
        other.source = decomposed
        XCTAssertTrue(entry.source.utf8.elementsEqual(precomposed.utf8))
        XCTAssertTrue(other.source.utf8.elementsEqual(decomposed.utf8), "canonically equivalent names stay distinct")

        let long = String(repeating: "s", count: CacheEntry.SourceNames.longestName + 1)
        entry.source = long
        XCTAssertEqual(entry.source, long)
        XCTAssertNotNil(entry.rare, "a name the table does not take is boxed")
        XCTAssertEqual(CacheEntry(key: "k", proxyURL: "xxx", source: long, now: now, ttlSeconds: nil).source, long)
        var same = plain()
        same.source = long
        XCTAssertEqual(entry, same)
        entry.source = "unknown"
        XCTAssertNil(entry.rare, "the boxed name goes with the box")
        XCTAssertEqual(entry, plain())
        XCTAssertEqual(CacheEntry(key: "k", proxyURL: "u", source: "", now: now, ttlSeconds: nil).source, "")
    }

    func testEveryRareFieldReadsBackAndDefaultsDropTheBox() throws {
        var entry = plain()
        entry.username = "alice"
        entry.password = "s3cret"
        entry.failureCount = 2
        entry.lastHealthCheck = now
        entry.consecutiveHealthFailures = 3
        entry.consecutiveHealthSuccesses = 4
        entry.recoveryAttempt = 5
        entry.nextCheckTime = now + 60
        entry.lastHealthError = "timeout"
        entry.totalHealthChecks = 9_007_199_254_740_991
        entry.totalHealthCheckFailures = 7
        try entry.setCustom("country", to: "de", limits: CustomFieldLimits())
        XCTAssertNotNil(entry.rare)
        XCTAssertEqual(entry.username, "alice")
        XCTAssertEqual(entry.password, "s3cret")
        XCTAssertEqual(entry.failureCount, 2)
        XCTAssertEqual(entry.lastHealthCheck, now)
        XCTAssertEqual(entry.consecutiveHealthFailures, 3)
        XCTAssertEqual(entry.consecutiveHealthSuccesses, 4)
        XCTAssertEqual(entry.recoveryAttempt, 5)
        XCTAssertEqual(entry.nextCheckTime, now + 60)
        XCTAssertEqual(entry.lastHealthError, "timeout")
        XCTAssertEqual(entry.totalHealthChecks, 9_007_199_254_740_991)
        XCTAssertEqual(entry.totalHealthCheckFailures, 7)
        XCTAssertEqual(entry.customFields, [CustomField(name: "country", value: "de")])
        XCTAssertNotEqual(entry, plain())

        entry.username = nil
        entry.password = nil
        entry.failureCount = 0
        entry.lastHealthCheck = nil
        entry.consecutiveHealthFailures = 0
        entry.consecutiveHealthSuccesses = 0
        entry.recoveryAttempt = 0
        entry.nextCheckTime = nil
        entry.lastHealthError = nil
        entry.totalHealthChecks = 0
        entry.totalHealthCheckFailures = 0
        XCTAssertNotNil(entry.rare, "a custom field is left")
        XCTAssertTrue(entry.unsetCustom("country"))
        XCTAssertNil(entry.rare)
        XCTAssertEqual(entry, plain())
    }

    func testCopiesAreIndependent() {
        var original = plain()
        original.username = "alice"
        var copy = original
        copy.username = "bob"
        copy.failureCount = 1
        XCTAssertEqual(original.username, "alice")
        XCTAssertEqual(original.failureCount, 0)
        XCTAssertEqual(copy.username, "bob")
        XCTAssertFalse(original.rare === copy.rare)
    }

    func testEqualityComparesValuesNotRepresentation() {
        var withBox = plain()
        withBox.failureCount = 1
        withBox.failureCount = 0
        var explicit = plain()
        explicit.username = "u"
        explicit.username = nil
        XCTAssertEqual(withBox, explicit)
        var other = plain()
        other.expiresAt = now
        XCTAssertNotEqual(other, plain())
        other.expiresAt = nil
        XCTAssertEqual(other, plain())
    }

    func testExpiresAtKeepsNilAndEveryDouble() {
        var entry = CacheEntry(key: "k", proxyURL: "u", now: now, ttlSeconds: 60)
        XCTAssertEqual(entry.expiresAt, now + 60)
        XCTAssertFalse(entry.isExpired(at: now + 59))
        XCTAssertTrue(entry.isExpired(at: now + 60))
        entry.expiresAt = nil
        XCTAssertNil(entry.expiresAt)
        XCTAssertFalse(entry.isExpired(at: .greatestFiniteMagnitude))
        entry.expiresAt = .nan
        XCTAssertNotNil(entry.expiresAt, "a NaN a caller stores is not the sentinel")
        XCTAssertTrue(entry.expiresAt!.isNaN)
        entry.expiresAt = 0
        XCTAssertEqual(entry.expiresAt, 0)
        XCTAssertNil(CacheEntry(key: "k", proxyURL: "u", now: now, ttlSeconds: nil).expiresAt)
    }

    func testLastHealthErrorIsStillMasked() {
        var entry = plain()
        entry.lastHealthError = "proxy http://user:pw@host:1 refused"
        XCTAssertEqual(entry.lastHealthError, "proxy http://user:***@host:1 refused")
    }

    func testTheEstimateFollowsStringsAndTheBox() throws {
        // L1 holds the key and the URL in one block: a 16-byte object header and the bytes, no terminator, with
        // glibc's 8-byte chunk header, in 16-byte steps.
        let short = plain("short-key")
        XCTAssertEqual(short.estimatedBytes, CacheEntry.fixedL1Bytes + 48, "16 + 9 + 3 bytes: a 48-byte chunk")
        let long = plain("key:000000000001")
        XCTAssertEqual(long.estimatedBytes, CacheEntry.fixedL1Bytes + 48, "16 + 16 + 3 bytes: a 48-byte chunk")
        let proxy = CacheEntry(key: "key:000000000001", proxyURL: "http://10.0.0.1:3128", now: now, ttlSeconds: nil)
        XCTAssertEqual(proxy.estimatedBytes, CacheEntry.fixedL1Bytes + 64, "16 + 16 + 20 bytes: a 64-byte chunk")

        var hit = long
        hit.accessCount += 1
        hit.lastAccessed += 10
        XCTAssertEqual(hit.estimatedBytes, long.estimatedBytes, "a hit changes no size")

        var bigger = long
        bigger.proxyURL = String(repeating: "x", count: 1000)
        XCTAssertEqual(bigger.estimatedBytes, CacheEntry.fixedL1Bytes + CacheEntry.mallocBytes(16 + 16 + 1000))

        var withCredentials = long
        withCredentials.username = "alice"
        XCTAssertGreaterThan(withCredentials.estimatedBytes, long.estimatedBytes + 100, "the box is counted")
        var withField = withCredentials
        try withField.setCustom("country-of-origin", to: "de", limits: CustomFieldLimits())
        XCTAssertGreaterThan(withField.estimatedBytes, withCredentials.estimatedBytes + 64)
    }
}

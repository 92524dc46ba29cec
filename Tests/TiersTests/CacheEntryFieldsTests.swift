import Tiers
import XCTest

final class CacheEntryFieldsTests: XCTestCase {
    private let now = 1_764_038_400.0

    private func makeEntry() -> CacheEntry {
        CacheEntry(key: "k1", proxyURL: "http://1.2.3.4:8080", source: "free-list", now: now, ttlSeconds: 600)
    }

    func testFieldNamesAreCaseInsensitiveAndCanonical() throws {
        XCTAssertEqual(CacheEntry.Field(name: "proxy_url"), .proxyURL)
        XCTAssertEqual(CacheEntry.Field(name: "PROXY_URL"), .proxyURL)
        XCTAssertEqual(CacheEntry.Field(name: Array("Evicted_From_L1".utf8)), .evictedFromL1)
        XCTAssertNil(CacheEntry.Field(name: "proxy"))
        XCTAssertNil(CacheEntry.Field(name: ""))
        XCTAssertEqual(try CacheEntry.Field.named("Health_Status"), .healthStatus)
        XCTAssertThrowsError(try CacheEntry.Field.named("foo")) { error in
            XCTAssertEqual(error as? TieredCacheError, .invalid("unknown field 'foo'"))
        }
        XCTAssertEqual(CacheEntry.Field.allCases.count, 20)
        XCTAssertEqual(CacheEntry.Field.allCases.first, .proxyURL)
        XCTAssertEqual(CacheEntry.Field.allCases.last, .totalHealthCheckFailures)
    }

    func testEveryFieldRoundTrips() throws {
        let samples: [CacheEntry.Field: String] = [
            .proxyURL: "socks5://5.6.7.8:1080", .username: "alice", .password: "s3cret", .source: "premium",
            .fetchTime: "1764038400.25", .lastAccessed: "1764038401", .accessCount: "7", .ttlSeconds: "120",
            .expiresAt: "1764039000.5", .healthStatus: "degraded", .failureCount: "2", .evictedFromL1: "1",
            .lastHealthCheck: "1764038500.125", .consecutiveHealthFailures: "3",
            .consecutiveHealthSuccesses: "4", .recoveryAttempt: "5", .nextCheckTime: "1764038600",
            .lastHealthError: "timeout", .totalHealthChecks: "9", .totalHealthCheckFailures: "6",
        ]
        XCTAssertEqual(samples.count, CacheEntry.Field.allCases.count)
        for field in CacheEntry.Field.allCases {
            var entry = makeEntry()
            try entry.set(field, to: samples[field]!, now: now)
            XCTAssertEqual(entry.value(of: field), samples[field], "\(field)")
        }
    }

    func testTimesAreShortestExactDecimals() {
        XCTAssertEqual(CacheEntry.text(ofTime: 1_764_038_400.25), "1764038400.25")
        XCTAssertEqual(CacheEntry.text(ofTime: 1_764_038_400), "1764038400")
        XCTAssertEqual(CacheEntry.text(ofTime: 0.1), "0.1")
        XCTAssertEqual(CacheEntry.text(ofTime: 0.00001), "0.00001")
        XCTAssertEqual(CacheEntry.text(ofTime: -2.5), "-2.5")
        XCTAssertEqual(CacheEntry.text(ofTime: 1e20), "100000000000000000000")
        XCTAssertEqual(CacheEntry.text(ofTime: 1.5e-7), "0.00000015")
        for value in [1_764_038_400.123456, 0.3, 123.000001, 1e-5, 2.5e16] {
            XCTAssertEqual(Double(CacheEntry.text(ofTime: value)), value)
        }
    }

    func testDefaultValuesAndUnsetFields() {
        let entry = CacheEntry(key: "k", proxyURL: "http://p", now: now, ttlSeconds: nil)
        XCTAssertNil(entry.value(of: .username))
        XCTAssertNil(entry.value(of: .expiresAt))
        XCTAssertNil(entry.value(of: .lastHealthCheck))
        XCTAssertEqual(entry.value(of: .ttlSeconds), "0")
        XCTAssertEqual(entry.value(of: .healthStatus), "unknown")
        XCTAssertEqual(entry.value(of: .evictedFromL1), "0")
        XCTAssertEqual(entry.value(of: .source), "unknown")
        XCTAssertEqual(
            entry.fieldValues.map(\.field.rawValue),
            [
                "proxy_url", "source", "fetch_time", "last_accessed", "access_count", "ttl_seconds", "health_status",
                "failure_count", "evicted_from_l1", "consecutive_health_failures", "consecutive_health_successes",
                "recovery_attempt", "total_health_checks", "total_health_check_failures",
            ]
        )
        XCTAssertEqual(entry.fieldValues.first?.value, "http://p")
    }

    func testTTLAndExpiryKeepEachOtherInStep() throws {
        var entry = makeEntry()
        try entry.set(.ttlSeconds, to: "30", now: now + 10)
        XCTAssertEqual(entry.expiresAt, now + 40)
        XCTAssertEqual(entry.ttlSeconds, 30)
        try entry.set(.expiresAt, to: String(now + 99.6), now: now)
        XCTAssertEqual(entry.ttlSeconds, 100)
        try entry.set(.expiresAt, to: String(now - 50), now: now)
        XCTAssertEqual(entry.ttlSeconds, 0)
        XCTAssertTrue(entry.isExpired(at: now))
        XCTAssertTrue(try entry.unset(.expiresAt))
        XCTAssertNil(entry.expiresAt)
        XCTAssertEqual(entry.ttlSeconds, 0)
        XCTAssertFalse(try entry.unset(.expiresAt))
    }

    func testInvalidValuesThrowAndChangeNothing() {
        let cases: [(CacheEntry.Field, String, String)] = [
            (
                .healthStatus, "sick",
                "invalid value for 'health_status': expected unknown|healthy|degraded|unhealthy|dead"
            ),
            (.ttlSeconds, "-1", "invalid value for 'ttl_seconds': expected a non-negative integer"),
            (.ttlSeconds, "1.5", "invalid value for 'ttl_seconds': expected a non-negative integer"),
            (.ttlSeconds, "ten", "invalid value for 'ttl_seconds': expected a non-negative integer"),
            (.ttlSeconds, "", "invalid value for 'ttl_seconds': expected a non-negative integer"),
            (.accessCount, "-3", "invalid value for 'access_count': expected a non-negative integer"),
            (.failureCount, "2x", "invalid value for 'failure_count': expected a non-negative integer"),
            (
                .recoveryAttempt, "99999999999999999999",
                "invalid value for 'recovery_attempt': expected a non-negative integer"
            ),
            (.totalHealthChecks, " 1", "invalid value for 'total_health_checks': expected a non-negative integer"),
            (.fetchTime, "yesterday", "invalid value for 'fetch_time': expected a number of seconds"),
            (.expiresAt, "nan", "invalid value for 'expires_at': expected a number of seconds"),
            (.lastAccessed, "inf", "invalid value for 'last_accessed': expected a number of seconds"),
            (.nextCheckTime, "", "invalid value for 'next_check_time': expected a number of seconds"),
            (.evictedFromL1, "2", "invalid value for 'evicted_from_l1': expected 1 or 0"),
        ]
        for (field, value, message) in cases {
            var entry = makeEntry()
            let before = entry
            XCTAssertThrowsError(try entry.set(field, to: value, now: now + 5), "\(field) = \(value)") { error in
                XCTAssertEqual(error as? TieredCacheError, .invalid(message))
            }
            XCTAssertEqual(entry, before, "\(field) = \(value) changed the entry")
        }
    }

    func testOnlyOptionalFieldsCanBeUnset() throws {
        var entry = makeEntry()
        try entry.set(.username, to: "bob", now: now)
        try entry.set(.lastHealthError, to: "refused", now: now)
        XCTAssertTrue(try entry.unset(.username))
        XCTAssertFalse(try entry.unset(.username))
        XCTAssertFalse(try entry.unset(.password))
        XCTAssertTrue(try entry.unset(.lastHealthError))
        XCTAssertNil(entry.lastHealthError)
        let before = entry
        for field in CacheEntry.Field.allCases where !field.isOptional {
            XCTAssertThrowsError(try entry.unset(field)) { error in
                XCTAssertEqual(error as? TieredCacheError, .invalid("field '\(field.rawValue)' cannot be deleted"))
            }
        }
        XCTAssertEqual(entry, before)
    }

    func testStatusAndBoolAcceptCommonSpellings() throws {
        var entry = makeEntry()
        try entry.set(.healthStatus, to: "HEALTHY", now: now)
        XCTAssertEqual(entry.healthStatus, .healthy)
        try entry.set(.evictedFromL1, to: "true", now: now)
        XCTAssertTrue(entry.evictedFromL1)
        try entry.set(.evictedFromL1, to: "0", now: now)
        XCTAssertFalse(entry.evictedFromL1)
    }
}

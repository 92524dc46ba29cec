import Logging
import PostgresTestSupport
import PostgresTier
import XCTest

@testable import Tiers

/// Starts one throw-away PostgreSQL cluster per test class and gives each test a database of its own. Skips (with
/// the reason) when PostgreSQL is not installed, unless `CACHESRVD_REQUIRE_POSTGRES=1`.
class PostgresStoreTestCase: XCTestCase {
    nonisolated(unsafe) private static var cluster: ThrowawayPostgres?
    nonisolated(unsafe) private static var unavailable: String?

    static let logger: Logger = {
        var logger = Logger(label: "cachesrvd.tests.postgres")
        logger.logLevel = .warning
        return logger
    }()

    /// The cluster of this class.
    var cluster: ThrowawayPostgres!
    /// This test's database.
    var database: String!

    override class func tearDown() {
        cluster?.stop()
        cluster = nil
        unavailable = nil
        super.tearDown()
    }

    override func setUpWithError() throws {
        try super.setUpWithError()
        if Self.cluster == nil, Self.unavailable == nil {
            do {
                Self.cluster = try ThrowawayPostgres.start()
            } catch let error as ThrowawayPostgres.Unavailable {
                Self.unavailable = error.description
            }
        }
        if let reason = Self.unavailable {
            if ThrowawayPostgres.isRequired { XCTFail("CACHESRVD_REQUIRE_POSTGRES=1 but \(reason)") }
            throw XCTSkip("PostgreSQL tests skipped: \(reason)")
        }
        cluster = Self.cluster
        database = try cluster.createDatabase()
    }

    /// The store's configuration for this test's database.
    func configuration(sidecar: String = "sidecar-a", withPassword: Bool = true) throws -> PostgresStore.Configuration {
        let url = try PostgresURL(
            cluster.url(database: database, withPassword: withPassword),
            environment: withPassword ? [:] : ["PGPASSWORD": cluster.password]
        )
        return PostgresStore.Configuration(url: url, sidecarID: sidecar)
    }

    func open(cipher: CredentialCipher, sidecar: String = "sidecar-a") throws -> PostgresStore {
        try PostgresStore(configuration(sidecar: sidecar), cipher: cipher, logger: Self.logger)
    }

    /// psql's answer to `sql` in this test's database.
    func query(_ sql: String) throws -> [String] {
        try cluster.psql(database, sql)
    }

    static func cipher() -> CredentialCipher {
        CredentialCipher(current: .generate())
    }

    /// An entry with every optional field set to something distinctive, and two custom fields.
    static func fullEntry(_ key: String, now: Double = 1_700_000_000.25) -> CacheEntry {
        var entry = CacheEntry(
            key: key,
            proxyURL: "http://10.0.0.1:8080/\(key)",
            username: "user-\(key)",
            password: "s3cret-PASSWORD-\(key)",
            source: "source-a",
            now: now,
            ttlSeconds: 3600
        )
        entry.lastAccessed = now + 10.5
        entry.accessCount = 7
        entry.healthStatus = .degraded
        entry.failureCount = 2
        entry.evictedFromL1 = true
        entry.lastHealthCheck = now + 20.125
        entry.consecutiveHealthFailures = 3
        entry.consecutiveHealthSuccesses = 4
        entry.recoveryAttempt = 5
        entry.nextCheckTime = now + 30.5
        entry.lastHealthError = "timeout after 5 s"
        entry.totalHealthChecks = 11
        entry.totalHealthCheckFailures = 6
        entry.restoreCustomFields([
            CustomField(name: "country", value: "de"),
            CustomField(name: "Anonymity", value: "elite \"quoted\"\n\u{1}\u{E9}\0"),
        ])
        return entry
    }

    /// An entry with no credentials and no optional fields; `ttl` nil never expires.
    static func plainEntry(_ key: String, now: Double = 1_700_000_000, ttl: Int? = nil) -> CacheEntry {
        CacheEntry(key: key, proxyURL: "socks5://proxy-\(key):1080", now: now, ttlSeconds: ttl)
    }

    static func errorKind<T>(_ body: () throws -> T) -> StoreError.Kind? {
        do {
            _ = try body()
            return nil
        } catch let error as StoreError {
            return error.kind
        } catch {
            return .io
        }
    }
}

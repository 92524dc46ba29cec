import Foundation
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
            try ThrowawayPostgres.skip(because: reason)
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

    /// Polls up to 10 s.
    func waitUntil(_ condition: () -> Bool, file: StaticString = #filePath, line: UInt = #line) throws {
        let deadline = Date().addingTimeInterval(10)
        while !condition(), Date() < deadline { usleep(2_000) }
        XCTAssertTrue(condition(), "not within 10 s", file: file, line: line)
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

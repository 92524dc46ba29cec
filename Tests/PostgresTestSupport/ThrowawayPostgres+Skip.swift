import XCTest

extension ThrowawayPostgres {
    /// Starts a cluster; when PostgreSQL is not installed, skips the calling test with the reason (or fails it, when
    /// `CACHESRVD_REQUIRE_POSTGRES=1`).
    public static func startOrSkip() throws -> ThrowawayPostgres {
        do {
            return try start()
        } catch let error as Unavailable {
            try skip(because: error.description)
        }
    }

    /// Skips the calling test because PostgreSQL is unavailable, or fails it when `CACHESRVD_REQUIRE_POSTGRES=1`.
    public static func skip(because reason: String) throws -> Never {
        if isRequired { XCTFail("CACHESRVD_REQUIRE_POSTGRES=1 but \(reason)") }
        throw XCTSkip("PostgreSQL tests skipped: \(reason)")
    }
}

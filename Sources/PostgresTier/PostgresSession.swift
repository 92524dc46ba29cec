import Logging
import NIOCore
import PostgresNIO
import Tiers

/// One open connection, used by one blocking thread at a time (its slot's lock is held): runs a statement and waits
/// on the calling thread for its rows. Never called on an event loop.
///
/// `@unchecked Sendable` is not needed: a session lives only inside one `PostgresConnectionSlot.withSession` call.
final class PostgresSession {
    let connection: PostgresConnection
    let logger: Logger
    /// Set when a statement failed because the connection is gone; the slot then drops the connection.
    private(set) var isLost = false

    init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// Runs one statement (the extended protocol: one statement, parameters `$1...`) and returns its rows.
    ///
    /// - Parameter what: what the statement does, for the error message.
    @discardableResult
    func query(
        _ sql: String,
        _ binds: PostgresBindings = PostgresBindings(),
        _ what: String
    ) throws(StoreError) -> [PostgresRow] {
        do {
            return try connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).wait().rows
        } catch {
            if PostgresStoreError.isConnectionLost(error) || connection.isClosed { isLost = true }
            throw PostgresStoreError.map(error, what)
        }
    }

    /// Runs `body` between `BEGIN` and `COMMIT`; rolls back when it throws (a lost connection rolls back by itself).
    func transaction<Result>(
        _ what: String,
        _ body: () throws(StoreError) -> Result
    ) throws(StoreError) -> Result {
        try query("BEGIN", PostgresBindings(), what)
        let result: Result
        do {
            result = try body()
        } catch {
            if !isLost { _ = try? query("ROLLBACK", PostgresBindings(), what) }
            throw error
        }
        try query("COMMIT", PostgresBindings(), what)
        return result
    }
}

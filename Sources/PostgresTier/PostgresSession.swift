import Logging
import NIOConcurrencyHelpers
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
    /// Seconds a statement may take before the connection is closed under it (`PostgresStore.Configuration.timeout`,
    /// plus a margin over the server's own `statement_timeout`, which cancels it first when the server still answers).
    let deadline: Double
    /// Set when a statement failed because the connection is gone; the slot then drops the connection.
    private(set) var isLost = false

    init(connection: PostgresConnection, logger: Logger, deadline: Double) {
        self.connection = connection
        self.logger = logger
        self.deadline = deadline
    }

    /// Runs one statement (the extended protocol: one statement, parameters `$1...`) and returns its rows.
    ///
    /// The wait ends after `deadline` seconds whatever postgres-nio does: a statement without an answer by then (a
    /// server that stopped answering, a network that drops packets, or a statement sent on a connection just lost,
    /// whose future postgres-nio was seen never to complete) fails with `.unreachable`, and the connection is closed, so
    /// the next call connects again instead of the tier's thread waiting for good.
    ///
    /// - Parameter what: what the statement does, for the error message.
    @discardableResult
    func query(
        _ sql: String,
        _ binds: PostgresBindings = PostgresBindings(),
        _ what: String
    ) throws(StoreError) -> [PostgresRow] {
        let connection = self.connection
        let rows: [PostgresRow]?
        do {
            rows = try connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
                .map(\.rows)
                .wait(atMost: deadline) {
                    let closing: EventLoopFuture<Void> = connection.close()
                    _ = closing
                }
        } catch {
            if PostgresStoreError.isConnectionLost(error) || connection.isClosed { isLost = true }
            throw PostgresStoreError.map(error, what)
        }
        guard let rows else {
            isLost = true
            throw StoreError(
                .unreachable,
                "\(what): no answer from PostgreSQL within \(deadline) s; the connection was closed"
            )
        }
        return rows
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

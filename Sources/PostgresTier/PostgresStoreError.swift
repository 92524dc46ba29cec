import NIOCore
import PostgresNIO
import Tiers

/// Maps what postgres-nio throws to `StoreError` kinds, so the tiered cache treats a PostgreSQL L3 as it treats a
/// SQLite one: a lost or refused connection, or a server starting or shutting down, is `.unreachable` (the tier
/// degrades and is retried), a full disk `.full`,
/// a read-only server `.readOnly`, lock and serialization conflicts `.busy`, data the server will never take (classes
/// 22 data exception, 23 integrity constraint, 42 syntax or access rule) `.rejected`.
///
/// Messages carry the SQLSTATE and the server's message, never the query's parameters or the password.
enum PostgresStoreError {
    /// The `StoreError` for `error`, thrown while doing `what`.
    static func map(_ error: any Error, _ what: String) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? PSQLError {
            if error.code == .server, let info = error.serverInfo {
                let state = info[.sqlState] ?? "?????"
                let message = info[.message] ?? "no message"
                return StoreError(kind(sqlState: state), "\(what): PostgreSQL error \(state): \(message)")
            }
            var reason = "\(error.code)"
            if let underlying = error.underlying {
                reason += " (\(underlying))"
            }
            return StoreError(isConnectionLost(error) ? .unreachable : .io, "\(what): \(reason)")
        }
        if let error = error as? PostgresDecodingError {
            return StoreError(.io, "\(what): cannot decode column \(error.columnName): \(error.code)")
        }
        return StoreError(isConnectionLost(error) ? .unreachable : .io, "\(what): \(error)")
    }

    /// The kind for a server error's SQLSTATE.
    static func kind(sqlState: String) -> StoreError.Kind {
        switch sqlState {
        case "53100":  // disk_full
            return .full
        case "25006", "42501":  // read_only_sql_transaction, insufficient_privilege
            return .readOnly
        // serialization_failure, deadlock_detected, lock_not_available; and foreign_key_violation: a health record
        // whose entry another sidecar deleted between the append's check and its insert (retrying settles it).
        case "40001", "40P01", "55P03", "23503":
            return .busy
        case "57P01", "57P02", "57P03":  // admin_shutdown, crash_shutdown, cannot_connect_now
            return .unreachable
        default:
            if sqlState.hasPrefix("08") { return .unreachable }  // connection_exception
            return ["22", "23", "42"].contains(sqlState.prefix(2)) ? .rejected : .io
        }
    }

    /// Whether `error` means the connection is gone (and the next use must open a new one).
    static func isConnectionLost(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError else { return !(error is PostgresDecodingError) }
        switch error.code {
        case .server, .queryCancelled, .tooManyParameters, .invalidCommandTag:
            return false
        default:
            return true
        }
    }
}

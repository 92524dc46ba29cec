import CSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension StoreError {
    /// Maps an SQLite result code (primary or extended) to the tier's error kinds.
    ///
    /// - `SQLITE_CORRUPT`, `SQLITE_NOTADB` -> `.corrupt`
    /// - `SQLITE_FULL`, or an I/O error with `ENOSPC` -> `.full`
    /// - `SQLITE_READONLY`, `SQLITE_PERM`, or `SQLITE_CANTOPEN`/I/O errors with `EACCES`/`EPERM`/`EROFS` -> `.readOnly`
    /// - `SQLITE_BUSY`, `SQLITE_LOCKED` -> `.busy`
    /// - anything else -> `.io`
    ///
    /// The message is SQLite's own (it never contains bound values, so never a credential).
    init(sqliteCode code: Int32, database: OpaquePointer?, context: String) {
        let systemErrno = database.map { sqlite3_system_errno($0) } ?? 0
        let kind = Self.kind(sqliteCode: code, systemErrno: systemErrno)
        var detail = String(cString: sqlite3_errstr(code))
        if let database, let message = sqlite3_errmsg(database) {
            let text = String(cString: message)
            if text != detail && text != "not an error" {
                detail += ": \(text)"
            }
        }
        if systemErrno != 0 && (kind == .io || kind == .readOnly || kind == .full) {
            detail += " (errno \(systemErrno))"
        }
        self.init(kind, "sqlite \(context): \(detail) [code \(code)]")
    }

    /// The error kind of an SQLite result code, refined by the OS error behind it (if any).
    static func kind(sqliteCode code: Int32, systemErrno: Int32) -> Kind {
        switch code & 0xff {
        case SQLITE_CORRUPT, SQLITE_NOTADB:
            return .corrupt
        case SQLITE_FULL:
            return .full
        case SQLITE_READONLY, SQLITE_PERM, SQLITE_AUTH:
            return .readOnly
        case SQLITE_BUSY, SQLITE_LOCKED:
            return .busy
        case SQLITE_CANTOPEN, SQLITE_IOERR:
            switch systemErrno {
            case ENOSPC, EDQUOT:
                return .full
            case EACCES, EPERM, EROFS:
                return .readOnly
            default:
                return .io
            }
        default:
            return .io
        }
    }
}

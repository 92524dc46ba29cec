import CSQLite

/// One value of a SQLite row.
enum SQLiteValue: Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// A number (an integer or a real); `nil` for anything else.
    var double: Double? {
        switch self {
        case .integer(let value): return Double(value)
        case .real(let value): return value
        default: return nil
        }
    }

    /// An integer (a real with no fraction too); `nil` for anything else.
    var int: Int? {
        switch self {
        case .integer(let value): return Int(exactly: value)
        case .real(let value): return Int(exactly: value)
        default: return nil
        }
    }

    /// Text (a blob of UTF-8 too); `nil` for anything else.
    var text: String? {
        switch self {
        case .text(let value): return value
        case .blob(let bytes): return String(validatedUTF8: bytes)
        default: return nil
        }
    }
}

/// Reads whole tables of someone else's SQLite database (proxywhirl's), opened read-only, as
/// rows keyed by column name, so that columns added or missing across its versions do not matter.
enum ProxywhirlTableReader {
    /// Every row of `table` in the database at `path`.
    ///
    /// - Throws: `StoreError` when the file cannot be opened as a database or has no such table.
    static func rows(database path: String, table: String) throws(StoreError) -> [[String: SQLiteValue]] {
        var handle: OpaquePointer?
        let opened = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READONLY, nil)
        defer { sqlite3_close_v2(handle) }
        guard opened == SQLITE_OK, let database = handle else {
            throw failure(opened, handle, "open \(path)")
        }
        var statement: OpaquePointer?
        let prepared = sqlite3_prepare_v2(database, "SELECT * FROM \"\(table)\"", -1, &statement, nil)
        defer { sqlite3_finalize(statement) }
        guard prepared == SQLITE_OK, let statement else {
            throw failure(prepared, database, "read table \(table) of \(path)")
        }
        let columnCount = sqlite3_column_count(statement)
        let names = (0..<columnCount).map { String(cString: sqlite3_column_name(statement, $0)) }
        var rows = [[String: SQLiteValue]]()
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { return rows }
            guard status == SQLITE_ROW else { throw failure(status, database, "read table \(table) of \(path)") }
            var row = [String: SQLiteValue]()
            for column in 0..<columnCount {
                row[names[Int(column)]] = value(statement, column)
            }
            rows.append(row)
        }
    }

    private static func value(_ statement: OpaquePointer, _ column: Int32) -> SQLiteValue {
        switch sqlite3_column_type(statement, column) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, column))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(statement, column))
        case SQLITE_TEXT:
            return .text(sqlite3_column_text(statement, column).map { String(cString: $0) } ?? "")
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(statement, column))
            guard count > 0, let pointer = sqlite3_column_blob(statement, column) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: pointer, count: count)))
        default: return .null
        }
    }

    private static func failure(_ code: Int32, _ database: OpaquePointer?, _ what: String) -> StoreError {
        let detail = database.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
        let kind: StoreError.Kind
        switch code & 0xFF {
        case SQLITE_CORRUPT, SQLITE_NOTADB: kind = .corrupt
        case SQLITE_BUSY, SQLITE_LOCKED: kind = .busy
        case SQLITE_PERM, SQLITE_READONLY: kind = .readOnly
        default: kind = .io
        }
        return StoreError(kind, "\(what): \(detail)")
    }
}

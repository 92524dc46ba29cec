import CSQLite

/// A prepared statement: bind parameters (1-based), step, read columns (0-based).
///
/// Owned by one `SQLiteDatabase` and used under the same serialisation as its connection.
final class SQLiteStatement {
    private var handle: OpaquePointer?
    private let database: OpaquePointer

    init(handle: OpaquePointer, database: OpaquePointer) {
        self.handle = handle
        self.database = database
    }

    /// Releases the statement; it cannot be used afterwards.
    func finalize() {
        if let handle {
            sqlite3_finalize(handle)
        }
        handle = nil
    }

    /// Makes the statement ready to run again and clears its parameters.
    func reset() {
        guard let handle else { return }
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    // MARK: Binding

    func bind(_ index: Int32, _ value: Int) {
        sqlite3_bind_int64(handle, index, Int64(value))
    }

    func bind(_ index: Int32, _ value: Double) {
        sqlite3_bind_double(handle, index, value)
    }

    func bind(_ index: Int32, _ value: Double?) {
        if let value {
            sqlite3_bind_double(handle, index, value)
        } else {
            sqlite3_bind_null(handle, index)
        }
    }

    /// Binds text by its UTF-8 bytes and length, so an embedded NUL survives.
    func bind(_ index: Int32, _ value: String) {
        var value = value
        value.withUTF8 { bytes in
            if let base = bytes.baseAddress, bytes.count > 0 {
                base.withMemoryRebound(to: CChar.self, capacity: bytes.count) { chars in
                    _ = sqlite3_bind_text64(
                        handle,
                        index,
                        chars,
                        UInt64(bytes.count),
                        sqliteTransient,
                        UInt8(SQLITE_UTF8)
                    )
                }
            } else {
                _ = sqlite3_bind_text(handle, index, "", 0, sqliteTransient)
            }
        }
    }

    func bind(_ index: Int32, _ value: String?) {
        if let value {
            bind(index, value)
        } else {
            sqlite3_bind_null(handle, index)
        }
    }

    /// Binds bytes as a BLOB (`nil` binds NULL).
    func bindBlob(_ index: Int32, _ value: [UInt8]?) {
        guard let value else {
            sqlite3_bind_null(handle, index)
            return
        }
        if value.isEmpty {
            sqlite3_bind_zeroblob(handle, index, 0)
            return
        }
        value.withUnsafeBytes { bytes in
            _ = sqlite3_bind_blob64(handle, index, bytes.baseAddress, UInt64(bytes.count), sqliteTransient)
        }
    }

    // MARK: Stepping

    /// Advances to the next row: `true` when a row is ready, `false` when the statement is done.
    func step() throws(StoreError) -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW:
            return true
        case SQLITE_DONE:
            return false
        default:
            // sqlite3_reset returns the same error; it also leaves the statement reusable.
            sqlite3_reset(handle)
            throw StoreError(sqliteCode: code, database: database, context: "step")
        }
    }

    /// Runs a statement that returns no rows (or whose rows are ignored) to completion.
    func run() throws(StoreError) {
        while try step() {}
    }

    // MARK: Columns

    /// The column's storage class (`SQLITE_INTEGER`, `SQLITE_FLOAT`, `SQLITE_TEXT`, `SQLITE_BLOB`, `SQLITE_NULL`).
    func columnType(_ column: Int32) -> Int32 {
        sqlite3_column_type(handle, column)
    }

    /// How many columns the statement's rows have.
    var columnCount: Int32 {
        sqlite3_column_count(handle)
    }

    func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    func int(_ column: Int32) -> Int {
        Int(sqlite3_column_int64(handle, column))
    }

    func int64(_ column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    func double(_ column: Int32) -> Double {
        sqlite3_column_double(handle, column)
    }

    func optionalDouble(_ column: Int32) -> Double? {
        isNull(column) ? nil : sqlite3_column_double(handle, column)
    }

    /// The column as text (NULL reads as the empty string).
    func text(_ column: Int32) -> String {
        optionalText(column) ?? ""
    }

    func optionalText(_ column: Int32) -> String? {
        guard !isNull(column), let pointer = sqlite3_column_text(handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    /// The column's bytes, whether it holds a BLOB or TEXT (proxywhirl's tokens may be either).
    func bytes(_ column: Int32) -> [UInt8]? {
        guard !isNull(column) else { return nil }
        // Ask for the pointer first, then the size (SQLite's documented order).
        let pointer = sqlite3_column_blob(handle, column)
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let pointer else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}

/// `SQLITE_TRANSIENT` (a macro the importer cannot see): SQLite copies the bound value at once.
var sqliteTransient: sqlite3_destructor_type {
    unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}

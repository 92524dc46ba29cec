import CSQLite

/// Where `EntryRow.read` takes a row's columns from: a statement's current row, or a row salvaged from the
/// pages of a damaged file. Columns are numbered from 0, as in `SQLiteSchema.entryColumns`; the conversions are
/// SQLite's (NULL reads as 0 or the empty string).
protocol EntryColumnSource {
    func int(_ column: Int32) -> Int
    func double(_ column: Int32) -> Double
    func optionalDouble(_ column: Int32) -> Double?
    func text(_ column: Int32) -> String
    func optionalText(_ column: Int32) -> String?
    func bytes(_ column: Int32) -> [UInt8]?
}

/// Where `EntryRow.bind` puts a row's values: a statement's parameters, or a list of values for a store outside
/// this module (`StoredEntryRow`). Parameters are numbered from 1.
protocol EntryColumnSink {
    func bind(_ index: Int32, _ value: Int)
    func bind(_ index: Int32, _ value: Double)
    func bind(_ index: Int32, _ value: Double?)
    func bind(_ index: Int32, _ value: String)
    func bind(_ index: Int32, _ value: String?)
    func bindBlob(_ index: Int32, _ value: [UInt8]?)
}

extension SQLiteStatement: EntryColumnSource, EntryColumnSink {}

extension SQLiteStatement {
    /// The column as a salvage value (its storage class and contents).
    func salvageValue(_ column: Int32) -> SQLiteSalvage.Value {
        switch columnType(column) {
        case SQLITE_INTEGER: .integer(int64(column))
        case SQLITE_FLOAT: .real(double(column))
        case SQLITE_TEXT: .text(bytes(column) ?? [])
        case SQLITE_BLOB: .blob(bytes(column) ?? [])
        default: .null
        }
    }
}

/// A salvaged row of an entries table, in `SQLiteSchema.entryColumns` order, read like a statement's row.
struct SalvagedEntryRow: EntryColumnSource {
    var values: [SQLiteSalvage.Value]

    private func value(_ column: Int32) -> SQLiteSalvage.Value {
        Int(column) < values.count ? values[Int(column)] : .null
    }

    func int(_ column: Int32) -> Int {
        switch value(column) {
        case .integer(let value): Int(value)
        case .real(let value): value.isFinite ? Int(value.rounded(.towardZero).clamped) : 0
        default: 0
        }
    }

    func double(_ column: Int32) -> Double {
        optionalDouble(column) ?? 0
    }

    func optionalDouble(_ column: Int32) -> Double? {
        switch value(column) {
        case .null: nil
        case .integer(let value): Double(value)
        case .real(let value): value
        default: 0
        }
    }

    func text(_ column: Int32) -> String {
        optionalText(column) ?? ""
    }

    func optionalText(_ column: Int32) -> String? {
        switch value(column) {
        case .null: nil
        case .integer(let value): String(value)
        case .real(let value): String(value)
        case .text(let bytes), .blob(let bytes): String(decoding: bytes, as: UTF8.self)
        }
    }

    func bytes(_ column: Int32) -> [UInt8]? {
        switch value(column) {
        case .null: nil
        case .text(let bytes), .blob(let bytes): bytes
        case .integer(let value): Array(String(value).utf8)
        case .real(let value): Array(String(value).utf8)
        }
    }
}

extension Double {
    /// The value within Int's range (for a REAL read as an integer).
    fileprivate var clamped: Double {
        Swift.min(Swift.max(self, -9.2e18), 9.2e18)
    }
}

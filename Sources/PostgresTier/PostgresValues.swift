import NIOCore
import PostgresNIO
import Tiers

/// Moving values between `StoredEntryRow` and PostgreSQL's wire format (postgres-nio sends parameters and reads
/// results in binary): strings as their UTF-8 bytes, so NUL and any other byte survive.
enum PostgresValues {
    /// A string as a `BYTEA` parameter: its UTF-8, as SQLite L3 stores it.
    static func bytes(_ string: String) -> ByteBuffer {
        ByteBuffer(bytes: Array(string.utf8))
    }

    /// Appends `value` as a parameter of a column of `type`.
    static func append(
        _ value: StoredEntryRow.Value,
        as type: PostgresSchema.ColumnType,
        to binds: inout PostgresBindings
    ) {
        switch (value, type) {
        case (.null, _):
            binds.appendNull()
        case (.text(let bytes), .text), (.bytes(let bytes), .text):
            binds.append(String(decoding: bytes, as: UTF8.self))
        case (.text(let bytes), _), (.bytes(let bytes), _):
            binds.append(ByteBuffer(bytes: bytes))
        case (.integer(let number), .real):
            binds.append(Double(number))
        case (.integer(let number), _):
            binds.append(number)
        case (.real(let number), _):
            binds.append(number)
        }
    }

    /// A result cell as a row value, by its PostgreSQL type.
    static func value(_ cell: PostgresCell) throws(StoreError) -> StoredEntryRow.Value {
        guard let buffer = cell.bytes else { return .null }
        do {
            switch cell.dataType {
            case .int8, .int4, .int2:
                return .integer(try cell.decode(Int64.self))
            case .float8, .float4, .numeric:
                return .real(try cell.decode(Double.self))
            case .bytea:
                return .bytes(Array(buffer.readableBytesView))
            default:
                return .text(Array(buffer.readableBytesView))
            }
        } catch {
            throw PostgresStoreError.map(error, "cannot read column \(cell.columnName)")
        }
    }

    /// A cell as a string (`BYTEA` or `TEXT`: its bytes as UTF-8); nil for NULL.
    static func string(_ cell: PostgresCell) -> String? {
        cell.bytes.map { String(decoding: $0.readableBytesView, as: UTF8.self) }
    }

    /// A cell as a number; nil for NULL.
    static func double(_ cell: PostgresCell) throws(StoreError) -> Double? {
        switch try value(cell) {
        case .integer(let number): Double(number)
        case .real(let number): number
        default: nil
        }
    }

    /// A cell as an integer; 0 for NULL.
    static func integer(_ cell: PostgresCell) throws(StoreError) -> Int64 {
        switch try value(cell) {
        case .integer(let number): number
        case .real(let number): number.isFinite ? Int64(max(min(number, 9.2e18), -9.2e18)) : 0
        default: 0
        }
    }

    /// A `boolean` cell (`pg_try_advisory_xact_lock`'s answer); false for NULL.
    static func boolean(_ cell: PostgresCell) throws(StoreError) -> Bool {
        guard cell.bytes != nil else { return false }
        do {
            return try cell.decode(Bool.self)
        } catch {
            throw PostgresStoreError.map(error, "cannot read column \(cell.columnName)")
        }
    }
}

/// An entry's L3 row as plain values, for a store outside this module (the PostgreSQL L3): the same columns,
/// credential tokens (`ProxyURLSeal`, Fernet) and custom-field JSON as the SQLite L3 row, made and read by the same
/// code (`EntryRow`), so a field added there reaches every store.
public enum StoredEntryRow {
    /// One cell, in SQLite's storage classes: text is the string's UTF-8 (it may hold NUL bytes), bytes are the
    /// credential tokens' ASCII.
    public enum Value: Sendable, Equatable {
        case null
        case integer(Int64)
        case real(Double)
        case text([UInt8])
        case bytes([UInt8])
    }

    /// The columns of `values(of:cipher:)` and `entry(from:cipher:)`, in their order.
    public static let columnNames: [String] = SQLiteSchema.entryColumns.map(\.name)

    /// The row of `entry`, its credentials encrypted with `cipher`'s current key, in `columnNames` order.
    public static func values(of entry: CacheEntry, cipher: CredentialCipher) -> [Value] {
        let collector = Collector(count: columnNames.count)
        EntryRow.bind(entry, to: collector, cipher: cipher)
        return collector.values
    }

    /// The entry a row in `columnNames` order holds, its credentials decrypted with `cipher`.
    ///
    /// - Throws: `.decryption` when a credential token cannot be decrypted (the message names the key, never the
    ///   token).
    public static func entry(from values: [Value], cipher: CredentialCipher) throws(StoreError) -> CacheEntry {
        let row = SalvagedEntryRow(
            values: values.map { value in
                switch value {
                case .null: .null
                case .integer(let number): .integer(number)
                case .real(let number): .real(number)
                case .text(let bytes): .text(bytes)
                case .bytes(let bytes): .blob(bytes)
                }
            }
        )
        return try EntryRow.read(row, cipher: cipher)
    }

    /// Collects what `EntryRow.bind` binds. Used by one call on one thread, never shared.
    private final class Collector: EntryColumnSink {
        var values: [Value]

        init(count: Int) {
            values = Array(repeating: .null, count: count)
        }

        private func set(_ index: Int32, _ value: Value) {
            values[Int(index) - 1] = value
        }

        func bind(_ index: Int32, _ value: Int) { set(index, .integer(Int64(value))) }
        func bind(_ index: Int32, _ value: Double) { set(index, .real(value)) }
        func bind(_ index: Int32, _ value: Double?) { set(index, value.map { .real($0) } ?? .null) }
        func bind(_ index: Int32, _ value: String) { set(index, .text(Array(value.utf8))) }
        func bind(_ index: Int32, _ value: String?) { set(index, value.map { .text(Array($0.utf8)) } ?? .null) }
        func bindBlob(_ index: Int32, _ value: [UInt8]?) { set(index, value.map { .bytes($0) } ?? .null) }
    }
}

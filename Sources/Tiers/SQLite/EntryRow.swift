import EntrySchema

/// Maps a `CacheEntry` to and from a row of an entries table, in the column order of
/// `SQLiteSchema.entryColumns` (parameters 1...23 when binding, columns 0...22 when reading): the key, the fields
/// in `EntryField.all`'s order, each written as its kind says, then the sealed proxy URL and the custom fields.
///
/// Credentials are stored only as Fernet tokens: the token's ASCII bytes in the `*_encrypted`
/// BLOBs, as proxywhirl stores `fernet.encrypt(...)`; NULL when absent. A `proxy_url` with a password
/// is stored masked, the whole URL in `proxy_url_encrypted` (see `ProxyURLSeal`). Custom fields are in
/// `custom_fields` as `CustomFieldsCodec`'s JSON text, NULL when the entry has none.
enum EntryRow {
    /// How many columns (and parameters) an entry takes.
    static let columnCount = Int32(SQLiteSchema.entryColumns.count)

    /// The column names, comma-separated, for SELECT and INSERT lists.
    static let columnList = SQLiteSchema.entryColumns.map(\.name).joined(separator: ", ")

    /// The column of the sealed proxy URL (`proxy_url_encrypted`, after the fields), from 0.
    private static let sealedURLColumn = Int32(1 + EntryField.all.count)
    /// The column of the custom fields, from 0.
    private static let customFieldsColumn = sealedURLColumn + 1

    /// Binds `entry` to parameters 1...`columnCount`, encrypting its credentials with `cipher`.
    static func bind(_ entry: CacheEntry, to statement: some EntryColumnSink, cipher: CredentialCipher) {
        statement.bind(1, entry.key)
        let url = ProxyURLSeal.seal(entry.proxyURL, with: cipher)
        var parameter: Int32 = 2
        for field in EntryField.all {
            switch (field, entry[field]) {
            case (.proxyURL, _): statement.bind(parameter, url.text)
            case (_, .text(let text)):
                if field.isCredential {
                    statement.bindBlob(parameter, encrypt(text, with: cipher))
                } else {
                    statement.bind(parameter, text)
                }
            case (_, .status(let status)): statement.bind(parameter, status.rawValue)
            case (_, .integer(let number)): statement.bind(parameter, number)
            case (_, .time(let time)): statement.bind(parameter, time)
            case (_, .flag(let flag)): statement.bind(parameter, flag ? 1 : 0)
            }
            parameter += 1
        }
        statement.bindBlob(sealedURLColumn + 1, url.token.map { Array($0.utf8) })
        statement.bind(customFieldsColumn + 1, CustomFieldsCodec.encode(entry.customFields))
    }

    /// Reads the entry in columns 0...`columnCount - 1` of the current row (or of a salvaged row).
    ///
    /// A NULL in a required field's column reads as SQLite converts it (0, the empty string), an unknown health
    /// status as `unknown`.
    ///
    /// - Throws: `.decryption` when a credential token cannot be decrypted (the row is then
    ///   treated as corrupt by the cache); the message names the key, never the token.
    static func read(_ statement: some EntryColumnSource, cipher: CredentialCipher) throws(StoreError) -> CacheEntry {
        let key = statement.text(0)
        let proxyURL = try ProxyURLSeal.open(
            text: statement.text(1),
            token: statement.bytes(sealedURLColumn).map { String(decoding: $0, as: UTF8.self) },
            with: cipher,
            key: key
        )
        var entry = CacheEntry(key: key, proxyURL: proxyURL, now: 0, ttlSeconds: nil)
        var column: Int32 = 1
        for field in EntryField.all {
            defer { column += 1 }
            let facts = field.facts
            if field == .proxyURL { continue }
            switch facts.kind {
            case .credential:
                entry[field] = .text(
                    try decrypt(statement.bytes(column), with: cipher, key: key, field: field.rawValue)
                )
            case .text:
                entry[field] = .text(facts.isOptional ? statement.optionalText(column) : statement.text(column))
            case .status:
                entry[field] = .status(statement.optionalText(column).flatMap(HealthStatus.init(rawValue:)) ?? .unknown)
            case .integer:
                entry[field] = .integer(statement.int(column))
            case .time:
                entry[field] = .time(facts.isOptional ? statement.optionalDouble(column) : statement.double(column))
            case .flag:
                entry[field] = .flag(statement.int(column) != 0)
            }
        }
        if let custom = statement.optionalText(customFieldsColumn) {
            // Only damage makes a cell unreadable: the entry is still served, without the fields it lost.
            entry.restoreCustomFields(CustomFieldsCodec.decode(custom) ?? [])
        }
        return entry
    }

    /// The token bytes of `value` encrypted with `cipher`'s current key; `nil` stays `nil`.
    static func encrypt(_ value: String?, with cipher: CredentialCipher) -> [UInt8]? {
        value.map { Array(cipher.encrypt($0).utf8) }
    }

    /// Decrypts stored token bytes (BLOB or TEXT); `nil` (SQL NULL) stays `nil`.
    static func decrypt(
        _ token: [UInt8]?,
        with cipher: CredentialCipher,
        key: String,
        field: String
    ) throws(StoreError) -> String? {
        guard let token else { return nil }
        do {
            return try cipher.decrypt(String(decoding: token, as: UTF8.self))
        } catch {
            throw StoreError(.decryption, "the \(field) of key \(key) cannot be decrypted with any configured key")
        }
    }
}

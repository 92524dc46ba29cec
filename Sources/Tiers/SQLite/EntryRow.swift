/// Maps a `CacheEntry` to and from a row of an entries table, in the column order of
/// `SQLiteSchema.entryColumns` (parameters 1...23 when binding, columns 0...22 when reading).
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

    /// Binds `entry` to parameters 1...`columnCount`, encrypting its credentials with `cipher`.
    static func bind(_ entry: CacheEntry, to statement: some EntryColumnSink, cipher: CredentialCipher) {
        statement.bind(1, entry.key)
        let url = ProxyURLSeal.seal(entry.proxyURL, with: cipher)
        statement.bind(2, url.text)
        statement.bindBlob(3, encrypt(entry.username, with: cipher))
        statement.bindBlob(4, encrypt(entry.password, with: cipher))
        statement.bind(5, entry.source)
        statement.bind(6, entry.fetchTime)
        statement.bind(7, entry.lastAccessed)
        statement.bind(8, entry.accessCount)
        statement.bind(9, entry.ttlSeconds)
        statement.bind(10, entry.expiresAt)
        statement.bind(11, entry.healthStatus.rawValue)
        statement.bind(12, entry.failureCount)
        statement.bind(13, entry.evictedFromL1 ? 1 : 0)
        statement.bind(14, entry.lastHealthCheck)
        statement.bind(15, entry.consecutiveHealthFailures)
        statement.bind(16, entry.consecutiveHealthSuccesses)
        statement.bind(17, entry.recoveryAttempt)
        statement.bind(18, entry.nextCheckTime)
        statement.bind(19, entry.lastHealthError)
        statement.bind(20, entry.totalHealthChecks)
        statement.bind(21, entry.totalHealthCheckFailures)
        statement.bindBlob(22, url.token.map { Array($0.utf8) })
        statement.bind(23, CustomFieldsCodec.encode(entry.customFields))
    }

    /// Reads the entry in columns 0...`columnCount - 1` of the current row (or of a salvaged row).
    ///
    /// - Throws: `.decryption` when a credential token cannot be decrypted (the row is then
    ///   treated as corrupt by the cache); the message names the key, never the token.
    static func read(_ statement: some EntryColumnSource, cipher: CredentialCipher) throws(StoreError) -> CacheEntry {
        let key = statement.text(0)
        let proxyURL = try ProxyURLSeal.open(
            text: statement.text(1),
            token: statement.bytes(21).map { String(decoding: $0, as: UTF8.self) },
            with: cipher,
            key: key
        )
        var entry = CacheEntry(key: key, proxyURL: proxyURL, now: 0, ttlSeconds: nil)
        entry.username = try decrypt(statement.bytes(2), with: cipher, key: key, field: "username")
        entry.password = try decrypt(statement.bytes(3), with: cipher, key: key, field: "password")
        entry.source = statement.text(4)
        entry.fetchTime = statement.double(5)
        entry.lastAccessed = statement.double(6)
        entry.accessCount = statement.int(7)
        entry.ttlSeconds = statement.int(8)
        entry.expiresAt = statement.optionalDouble(9)
        entry.healthStatus = statement.optionalText(10).flatMap(HealthStatus.init(rawValue:)) ?? .unknown
        entry.failureCount = statement.int(11)
        entry.evictedFromL1 = statement.int(12) != 0
        entry.lastHealthCheck = statement.optionalDouble(13)
        entry.consecutiveHealthFailures = statement.int(14)
        entry.consecutiveHealthSuccesses = statement.int(15)
        entry.recoveryAttempt = statement.int(16)
        entry.nextCheckTime = statement.optionalDouble(17)
        entry.lastHealthError = statement.optionalText(18)
        entry.totalHealthChecks = statement.int(19)
        entry.totalHealthCheckFailures = statement.int(20)
        if let custom = statement.optionalText(22) {
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

import BinaryText
import EntrySchema

/// Turns a row of proxywhirl's `cache_entries` (L3) or `l2_cache` (SQLite L2) into an entry.
enum ProxywhirlRow {
    /// What a row holds.
    enum Outcome: Sendable {
        /// The entry with its credentials decrypted, and the fields the row's table has columns for.
        case entry(CacheEntry, fields: Set<CacheEntry.Field>)
        /// A row of this key whose credentials no given key decrypts.
        case undecryptable(key: String)
        /// Not an entry: no key or URL, a value of the wrong type, an unknown health status.
        case broken
    }

    /// Reads `row`, decrypting its credentials with `cipher`.
    static func read(_ row: [String: SQLiteValue], cipher: CredentialCipher) -> Outcome {
        guard var entry = fields(row) else { return .broken }
        do {
            for field in EntryField.all where field.isCredential {
                entry[field] = .text(try credential(row[field.columnName], cipher))
            }
            // A file cachesrvd wrote keeps a URL with a password masked in proxy_url, the whole URL sealed here.
            if let sealed = try credential(row[EntryColumn.sealedProxyURL], cipher) {
                entry.proxyURL = sealed
            }
        } catch {
            return .undecryptable(key: entry.key)
        }
        return .entry(entry, fields: Set(row.keys.compactMap(EntryField.init(columnName:))))
    }

    /// The entry of `row` without its credentials; `nil` when the row is broken.
    ///
    /// A column the row lacks, or a NULL in it, leaves the field as `CacheEntry.init` made it (`last_accessed` is
    /// `fetch_time`, the others their defaults); times are Unix seconds or ISO-8601 text.
    private static func fields(_ row: [String: SQLiteValue]) -> CacheEntry? {
        guard let key = row[EntryColumn.key]?.text, !key.isEmpty,
            let proxyURL = row[EntryField.proxyURL.columnName]?.text,
            let fetchTime = time(row[EntryField.fetchTime.columnName])
        else { return nil }
        var entry = CacheEntry(key: BinaryText.canonical(key), proxyURL: proxyURL, now: fetchTime ?? 0, ttlSeconds: nil)
        for field in EntryField.all where field != .proxyURL && field != .fetchTime && !field.isCredential {
            guard let value = row[field.columnName], value != .null else { continue }
            switch field.kind {
            case .text, .credential:
                // Not text (a number in a text column): the field keeps its default, as proxywhirl's reader would.
                guard let text = value.text else { continue }
                entry[field] = .text(text)
            case .status:
                guard let text = value.text, let parsed = HealthStatus(rawValue: text) else { return nil }
                entry[field] = .status(parsed)
            case .integer:
                guard let number = value.int else { return nil }
                entry[field] = .integer(number)
            case .time:
                guard let seconds = time(value) else { return nil }
                entry[field] = .time(seconds)
            case .flag:
                guard let number = value.int else { return nil }
                entry[field] = .flag(number != 0)
            }
        }
        return entry
    }

    /// `.some(nil)` for a missing or NULL time, `nil` for a broken one; Unix seconds or ISO-8601 text.
    private static func time(_ value: SQLiteValue?) -> Double?? {
        guard let value, value != .null else { return .some(nil) }
        if let seconds = value.double { return .some(seconds) }
        if let text = value.text, let seconds = ISO8601Time.parse(text) { return .some(seconds) }
        return nil
    }

    /// A Fernet token stored as a BLOB (or TEXT) of its bytes, decrypted; `nil` for NULL.
    private static func credential(_ value: SQLiteValue?, _ cipher: CredentialCipher) throws(StoreError) -> String? {
        guard let value, value != .null else { return nil }
        guard let token = value.text else {
            throw StoreError(.decryption, "credential token could not be decrypted with any configured key")
        }
        return try cipher.decrypt(token)
    }
}

import BinaryText
import EntrySchema

/// The decoding side of a shard line, lenient where proxywhirl's lines differ from ours: times as
/// ISO-8601 text or Unix seconds, health-monitoring fields optional, `expires_at` absent (then
/// derived from `fetch_time + ttl_seconds`) or `null` (never expires); `custom_fields` optional (lines written
/// before custom fields existed have none).
struct JSONLLine: Decodable {
    let record: JSONLRecord

    /// A member's name: a field's `columnName` or an `EntryColumn`.
    private struct Name: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }

        init(_ name: String) { stringValue = name }
        init(stringValue: String) { self.init(stringValue) }
        init?(intValue: Int) { nil }
    }

    private struct BadField: Error {}

    /// The fields decoded before the entry is made (`init` derives other fields from them).
    private static let initialFields: [EntryField] = [.proxyURL, .fetchTime, .ttlSeconds]

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Name.self)
        // The empty key is a key like any other (Redis's `SET "" v`). A key an older version wrote as text outside
        // BinaryText's plain range is read in the form the same bytes map to now, so clients reach it.
        let key = BinaryText.canonical(try c.decode(String.self, forKey: Name(EntryColumn.key)))
        let fetchTime = try Self.time(c, Name(EntryField.fetchTime.columnName)) ?? 0
        var entry = CacheEntry(
            key: key,
            proxyURL: try c.decode(String.self, forKey: Name(EntryField.proxyURL.columnName)),
            now: fetchTime,
            ttlSeconds: try c.decodeIfPresent(Int.self, forKey: Name(EntryField.ttlSeconds.columnName))
        )
        // A field left out keeps what `init` made of it (`last_accessed` is `fetch_time`, `expires_at` is
        // `fetch_time + ttl_seconds`, the others their defaults), and so does a required field given as null.
        for field in EntryField.all where !field.isCredential && !Self.initialFields.contains(field) {
            let name = Name(field.columnName)
            guard c.contains(name) else { continue }
            if try c.decodeNil(forKey: name) {
                if field.isOptional { entry[field] = .unset(field) }
                continue
            }
            switch field.kind {
            case .text, .credential:
                entry[field] = .text(try c.decode(String.self, forKey: name))
            case .status:
                guard let parsed = HealthStatus(rawValue: try c.decode(String.self, forKey: name)) else {
                    throw BadField()
                }
                entry[field] = .status(parsed)
            case .integer:
                entry[field] = .integer(try c.decode(Int.self, forKey: name))
            case .time:
                entry[field] = .time(try Self.time(c, name))
            case .flag:
                entry[field] = .flag(try c.decode(Bool.self, forKey: name))
            }
        }
        if let pairs = try c.decodeIfPresent([[String]].self, forKey: Name(EntryColumn.customFields)) {
            guard let fields = CustomFieldsCodec.fields(of: pairs) else { throw BadField() }
            entry.restoreCustomFields(fields)
        }
        record = JSONLRecord(
            entry: entry,
            usernameToken: try Self.token(c, Name(EntryField.username.columnName)),
            passwordToken: try Self.token(c, Name(EntryField.password.columnName)),
            proxyURLToken: try Self.token(c, Name(EntryColumn.sealedProxyURL))
        )
    }

    /// A time given as ISO-8601 text or as Unix seconds; `nil` when absent or null.
    private static func time(_ c: KeyedDecodingContainer<Name>, _ key: Name) throws -> Double? {
        guard c.contains(key), try !c.decodeNil(forKey: key) else { return nil }
        if let seconds = try? c.decode(Double.self, forKey: key) {
            return seconds
        }
        guard let parsed = ISO8601Time.parse(try c.decode(String.self, forKey: key)) else { throw BadField() }
        return parsed
    }

    /// A credential token stored as hex of its bytes (proxywhirl's `token.hex()`); `nil` when absent or null.
    private static func token(_ c: KeyedDecodingContainer<Name>, _ key: Name) throws -> String? {
        guard let hex = try c.decodeIfPresent(String.self, forKey: key) else { return nil }
        guard let bytes = Hex.decode(hex), !bytes.isEmpty, bytes.allSatisfy({ $0 < 0x80 }) else { throw BadField() }
        return String(decoding: bytes, as: UTF8.self)
    }
}

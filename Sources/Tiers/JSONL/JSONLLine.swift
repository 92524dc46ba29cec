import BinaryText

/// The decoding side of a shard line, lenient where proxywhirl's lines differ from ours: times as
/// ISO-8601 text or Unix seconds, health-monitoring fields optional, `expires_at` absent (then
/// derived from `fetch_time + ttl_seconds`) or `null` (never expires); `custom_fields` optional (lines written
/// before custom fields existed have none).
struct JSONLLine: Decodable {
    let record: JSONLRecord

    private enum CodingKeys: String, CodingKey {
        case key
        case proxyURL = "proxy_url"
        case usernameEncrypted = "username_encrypted"
        case passwordEncrypted = "password_encrypted"
        case proxyURLEncrypted = "proxy_url_encrypted"
        case source
        case fetchTime = "fetch_time"
        case lastAccessed = "last_accessed"
        case accessCount = "access_count"
        case ttlSeconds = "ttl_seconds"
        case expiresAt = "expires_at"
        case healthStatus = "health_status"
        case failureCount = "failure_count"
        case evictedFromL1 = "evicted_from_l1"
        case lastHealthCheck = "last_health_check"
        case consecutiveHealthFailures = "consecutive_health_failures"
        case consecutiveHealthSuccesses = "consecutive_health_successes"
        case recoveryAttempt = "recovery_attempt"
        case nextCheckTime = "next_check_time"
        case lastHealthError = "last_health_error"
        case totalHealthChecks = "total_health_checks"
        case totalHealthCheckFailures = "total_health_check_failures"
        case customFields = "custom_fields"
    }

    private struct BadField: Error {}

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        // The empty key is a key like any other (Redis's `SET "" v`). A key an older version wrote as text outside
        // BinaryText's plain range is read in the form the same bytes map to now, so clients reach it.
        let key = BinaryText.canonical(try c.decode(String.self, forKey: .key))
        let fetchTime = try Self.time(c, .fetchTime) ?? 0
        let ttl = try c.decodeIfPresent(Int.self, forKey: .ttlSeconds)
        var entry = CacheEntry(
            key: key,
            proxyURL: try c.decode(String.self, forKey: .proxyURL),
            source: try c.decodeIfPresent(String.self, forKey: .source) ?? "unknown",
            now: fetchTime,
            ttlSeconds: ttl
        )
        entry.lastAccessed = try Self.time(c, .lastAccessed) ?? fetchTime
        entry.accessCount = try c.decodeIfPresent(Int.self, forKey: .accessCount) ?? 0
        if c.contains(.expiresAt) {
            entry.expiresAt = try Self.time(c, .expiresAt)
        }
        if let status = try c.decodeIfPresent(String.self, forKey: .healthStatus) {
            guard let parsed = HealthStatus(rawValue: status) else { throw BadField() }
            entry.healthStatus = parsed
        }
        entry.failureCount = try c.decodeIfPresent(Int.self, forKey: .failureCount) ?? 0
        entry.evictedFromL1 = try c.decodeIfPresent(Bool.self, forKey: .evictedFromL1) ?? false
        entry.lastHealthCheck = try Self.time(c, .lastHealthCheck)
        entry.consecutiveHealthFailures = try c.decodeIfPresent(Int.self, forKey: .consecutiveHealthFailures) ?? 0
        entry.consecutiveHealthSuccesses = try c.decodeIfPresent(Int.self, forKey: .consecutiveHealthSuccesses) ?? 0
        entry.recoveryAttempt = try c.decodeIfPresent(Int.self, forKey: .recoveryAttempt) ?? 0
        entry.nextCheckTime = try Self.time(c, .nextCheckTime)
        entry.lastHealthError = try c.decodeIfPresent(String.self, forKey: .lastHealthError)
        entry.totalHealthChecks = try c.decodeIfPresent(Int.self, forKey: .totalHealthChecks) ?? 0
        entry.totalHealthCheckFailures = try c.decodeIfPresent(Int.self, forKey: .totalHealthCheckFailures) ?? 0
        if let pairs = try c.decodeIfPresent([[String]].self, forKey: .customFields) {
            guard let fields = CustomFieldsCodec.fields(of: pairs) else { throw BadField() }
            entry.restoreCustomFields(fields)
        }
        record = JSONLRecord(
            entry: entry,
            usernameToken: try Self.token(c, .usernameEncrypted),
            passwordToken: try Self.token(c, .passwordEncrypted),
            proxyURLToken: try Self.token(c, .proxyURLEncrypted)
        )
    }

    /// A time given as ISO-8601 text or as Unix seconds; `nil` when absent or null.
    private static func time(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> Double? {
        guard c.contains(key), try !c.decodeNil(forKey: key) else { return nil }
        if let seconds = try? c.decode(Double.self, forKey: key) {
            return seconds
        }
        guard let parsed = ISO8601Time.parse(try c.decode(String.self, forKey: key)) else { throw BadField() }
        return parsed
    }

    /// A credential token stored as hex of its bytes (proxywhirl's `token.hex()`); `nil` when absent or null.
    private static func token(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> String? {
        guard let hex = try c.decodeIfPresent(String.self, forKey: key) else { return nil }
        guard let bytes = Hex.decode(hex), !bytes.isEmpty, bytes.allSatisfy({ $0 < 0x80 }) else { throw BadField() }
        return String(decoding: bytes, as: UTF8.self)
    }
}

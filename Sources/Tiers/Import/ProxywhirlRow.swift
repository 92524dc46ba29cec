import BinaryText

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
            entry.username = try credential(row["username_encrypted"], cipher)
            entry.password = try credential(row["password_encrypted"], cipher)
            // A file cachesrvd wrote keeps a URL with a password masked in proxy_url, the whole URL sealed here.
            if let sealed = try credential(row["proxy_url_encrypted"], cipher) {
                entry.proxyURL = sealed
            }
        } catch {
            return .undecryptable(key: entry.key)
        }
        return .entry(entry, fields: Set(row.keys.compactMap(ProxywhirlCopy.field(named:))))
    }

    /// The entry of `row` without its credentials; `nil` when the row is broken.
    private static func fields(_ row: [String: SQLiteValue]) -> CacheEntry? {
        guard let key = row["key"]?.text, !key.isEmpty, let proxyURL = row["proxy_url"]?.text else { return nil }
        guard let fetchTime = time(row["fetch_time"]),
            let lastAccessed = time(row["last_accessed"]),
            let expiresAt = time(row["expires_at"]),
            let lastHealthCheck = time(row["last_health_check"]),
            let nextCheckTime = time(row["next_check_time"])
        else { return nil }
        var entry = CacheEntry(
            key: BinaryText.canonical(key),
            proxyURL: proxyURL,
            source: row["source"]?.text ?? "unknown",
            now: fetchTime ?? 0,
            ttlSeconds: nil
        )
        entry.lastAccessed = lastAccessed ?? entry.fetchTime
        entry.expiresAt = expiresAt
        if let status = row["health_status"], status != .null {
            guard let text = status.text, let parsed = HealthStatus(rawValue: text) else { return nil }
            entry.healthStatus = parsed
        }
        entry.lastHealthCheck = lastHealthCheck
        entry.nextCheckTime = nextCheckTime
        entry.lastHealthError = row["last_health_error"]?.text
        do {
            entry.ttlSeconds = try int(row["ttl_seconds"])
            entry.accessCount = try int(row["access_count"])
            entry.failureCount = try int(row["failure_count"])
            entry.evictedFromL1 = try int(row["evicted_from_l1"]) != 0
            entry.consecutiveHealthFailures = try int(row["consecutive_health_failures"])
            entry.consecutiveHealthSuccesses = try int(row["consecutive_health_successes"])
            entry.recoveryAttempt = try int(row["recovery_attempt"])
            entry.totalHealthChecks = try int(row["total_health_checks"])
            entry.totalHealthCheckFailures = try int(row["total_health_check_failures"])
        } catch {
            return nil
        }
        return entry
    }

    private struct Broken: Error {}

    /// `.some(nil)` for a missing or NULL time, `nil` for a broken one; Unix seconds or ISO-8601 text.
    private static func time(_ value: SQLiteValue?) -> Double?? {
        guard let value, value != .null else { return .some(nil) }
        if let seconds = value.double { return .some(seconds) }
        if let text = value.text, let seconds = ISO8601Time.parse(text) { return .some(seconds) }
        return nil
    }

    /// 0 for a missing or NULL integer.
    private static func int(_ value: SQLiteValue?) throws(Broken) -> Int {
        guard let value, value != .null else { return 0 }
        guard let int = value.int else { throw Broken() }
        return int
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

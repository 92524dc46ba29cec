import Tiers

/// The entries the store tests of every backend (SQLite, JSONL, PostgreSQL) write and read back, and a cipher.
public enum EntryFixtures {
    /// A cipher with a new random key.
    public static func cipher() -> CredentialCipher {
        CredentialCipher(current: .generate())
    }

    /// An entry with every optional field set to something distinctive, and two custom fields.
    public static func fullEntry(_ key: String, now: Double = 1_700_000_000.25) -> CacheEntry {
        var entry = CacheEntry(
            key: key,
            proxyURL: "http://10.0.0.1:8080/\(key)",
            username: "user-\(key)",
            password: "s3cret-PASSWORD-\(key)",
            source: "source-a",
            now: now,
            ttlSeconds: 3600
        )
        entry.lastAccessed = now + 10.5
        entry.accessCount = 7
        entry.healthStatus = .degraded
        entry.failureCount = 2
        entry.evictedFromL1 = true
        entry.lastHealthCheck = now + 20.125
        entry.consecutiveHealthFailures = 3
        entry.consecutiveHealthSuccesses = 4
        entry.recoveryAttempt = 5
        entry.nextCheckTime = now + 30.5
        entry.lastHealthError = "timeout after 5 s"
        entry.totalHealthChecks = 11
        entry.totalHealthCheckFailures = 6
        // Custom fields, in an order that is not sorted, one with characters JSON escapes.
        _ = entry.restoreCustomFields([
            CustomField(name: "country", value: "de"),
            CustomField(name: "Anonymity", value: "elite \"quoted\"\n\u{1}\u{E9}"),
        ])
        return entry
    }

    /// An entry with no credentials and no optional fields; `ttl` nil never expires.
    public static func plainEntry(_ key: String, now: Double = 1_700_000_000, ttl: Int? = nil) -> CacheEntry {
        CacheEntry(key: key, proxyURL: "socks5://proxy-\(key):1080", now: now, ttlSeconds: ttl)
    }
}

extension CacheEntry {
    /// The hash fields of an entry (HSET/HGET/HGETALL/HDEL), named as in proxywhirl, in canonical order.
    public enum Field: String, CaseIterable, Sendable {
        case proxyURL = "proxy_url"
        case username
        case password
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

        /// Looks a field up by name, ignoring ASCII case; nil for an unknown field.
        public init?(name: some Collection<UInt8>) {
            for field in Field.allCases {
                let raw = field.rawValue.utf8
                guard raw.count == name.count else { continue }
                var same = true
                for (wanted, given) in zip(raw, name) where wanted != Self.lowercased(given) {
                    same = false
                    break
                }
                if same {
                    self = field
                    return
                }
            }
            return nil
        }

        /// Looks a field up by name, ignoring ASCII case; nil for an unknown field.
        public init?(name: String) {
            self.init(name: name.utf8)
        }

        /// Looks a field up by name, ignoring ASCII case.
        ///
        /// - Throws: `TieredCacheError.invalid("unknown field 'name'")` for an unknown field.
        public static func named(_ name: String) throws(TieredCacheError) -> Field {
            guard let field = Field(name: name) else { throw .invalid("unknown field '\(name)'") }
            return field
        }

        /// Whether the field may be unset (`HDEL`): the credentials, the last health error and the optional times.
        public var isOptional: Bool {
            switch self {
            case .username, .password, .lastHealthError, .expiresAt, .lastHealthCheck, .nextCheckTime: true
            default: false
            }
        }

        /// Whether the field holds a number (a time, a count, a TTL, the 0/1 flag): HINCRBY and HINCRBYFLOAT may
        /// change it, within its validation. The others hold text.
        public var isNumeric: Bool {
            switch self {
            case .proxyURL, .username, .password, .source, .healthStatus, .lastHealthError: false
            default: true
            }
        }

        private static func lowercased(_ byte: UInt8) -> UInt8 {
            byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
        }
    }

    /// The field's value as the server replies it, nil when unset.
    ///
    /// Times are decimal seconds in their shortest exact form (`"1764038400.25"`, `"1764038400"`), integers
    /// are decimal, `evicted_from_l1` is `"1"` or `"0"`.
    public func value(of field: Field) -> String? {
        switch field {
        case .proxyURL: proxyURL
        case .username: username
        case .password: password
        case .source: source
        case .fetchTime: Self.text(ofTime: fetchTime)
        case .lastAccessed: Self.text(ofTime: lastAccessed)
        case .accessCount: String(accessCount)
        case .ttlSeconds: String(ttlSeconds)
        case .expiresAt: expiresAt.map(Self.text(ofTime:))
        case .healthStatus: healthStatus.rawValue
        case .failureCount: String(failureCount)
        case .evictedFromL1: evictedFromL1 ? "1" : "0"
        case .lastHealthCheck: lastHealthCheck.map(Self.text(ofTime:))
        case .consecutiveHealthFailures: String(consecutiveHealthFailures)
        case .consecutiveHealthSuccesses: String(consecutiveHealthSuccesses)
        case .recoveryAttempt: String(recoveryAttempt)
        case .nextCheckTime: nextCheckTime.map(Self.text(ofTime:))
        case .lastHealthError: lastHealthError
        case .totalHealthChecks: String(totalHealthChecks)
        case .totalHealthCheckFailures: String(totalHealthCheckFailures)
        }
    }

    /// The set fields with their values, in canonical order (HGETALL, HKEYS, HVALS, HLEN).
    public var fieldValues: [(field: Field, value: String)] {
        var result: [(field: Field, value: String)] = []
        result.reserveCapacity(Field.allCases.count)
        for field in Field.allCases {
            if let value = value(of: field) {
                result.append((field, value))
            }
        }
        return result
    }

    /// Sets a field from its text; on a bad value throws and changes nothing.
    ///
    /// Setting `ttl_seconds` also sets `expires_at = now + ttl`; setting `expires_at` sets `ttl_seconds` to the
    /// remaining seconds, rounded, at least 0.
    ///
    /// - Parameters:
    ///   - field: The field to set.
    ///   - value: Its text, as a client sends it.
    ///   - now: The current time (Unix seconds), for the TTL fields.
    /// - Throws: `TieredCacheError.invalid` with a client-facing message: an unknown status, a negative or
    ///   non-integer TTL or count, a time that is not a finite number, a bool not 0/1. An empty proxy URL is
    ///   allowed: it is the value of a key made by `HSET key country de` or `SET key ""`.
    public mutating func set(_ field: Field, to value: String, now: Double) throws(TieredCacheError) {
        switch field {
        case .proxyURL: proxyURL = value
        case .username: username = value
        case .password: password = value
        case .source: source = value
        case .fetchTime: fetchTime = try Self.time(value, field)
        case .lastAccessed: lastAccessed = try Self.time(value, field)
        case .accessCount: accessCount = try Self.count(value, field)
        case .ttlSeconds:
            let ttl = try Self.count(value, field, limit: Self.longestTTL)
            ttlSeconds = ttl
            expiresAt = now + Double(ttl)
        case .expiresAt:
            let time = try Self.time(value, field)
            expiresAt = time
            ttlSeconds = Self.remainingSeconds(until: time, now: now)
        case .healthStatus:
            guard let status = HealthStatus(rawValue: value.lowercased()) else {
                throw Self.invalid(field, "expected unknown|healthy|degraded|unhealthy|dead")
            }
            healthStatus = status
        case .failureCount: failureCount = try Self.count(value, field)
        case .evictedFromL1: evictedFromL1 = try Self.bool(value, field)
        case .lastHealthCheck: lastHealthCheck = try Self.time(value, field)
        case .consecutiveHealthFailures: consecutiveHealthFailures = try Self.count(value, field)
        case .consecutiveHealthSuccesses: consecutiveHealthSuccesses = try Self.count(value, field)
        case .recoveryAttempt: recoveryAttempt = try Self.count(value, field)
        case .nextCheckTime: nextCheckTime = try Self.time(value, field)
        case .lastHealthError: lastHealthError = value
        case .totalHealthChecks: totalHealthChecks = try Self.count(value, field)
        case .totalHealthCheckFailures: totalHealthCheckFailures = try Self.count(value, field)
        }
    }

    /// Whether every field holds a value `set(_:to:now:)` would accept: finite times up to `latestTime`, counts up
    /// to `largestCount`, a TTL up to `longestTTL`. For rows read back from a damaged file.
    var hasFieldsWithinBounds: Bool {
        var scratch = self
        for (field, value) in fieldValues {
            do {
                try scratch.set(field, to: value, now: 0)
            } catch {
                return false
            }
        }
        return true
    }

    /// Unsets an optional field (`HDEL`); returns whether it was set.
    ///
    /// Unsetting `expires_at` makes the entry permanent (`ttl_seconds` becomes 0).
    ///
    /// - Throws: `TieredCacheError.invalid("field 'x' cannot be deleted")` for a required field.
    public mutating func unset(_ field: Field) throws(TieredCacheError) -> Bool {
        let wasSet = value(of: field) != nil
        switch field {
        case .username: username = nil
        case .password: password = nil
        case .lastHealthError: lastHealthError = nil
        case .expiresAt:
            expiresAt = nil
            ttlSeconds = 0
        case .lastHealthCheck: lastHealthCheck = nil
        case .nextCheckTime: nextCheckTime = nil
        default: throw .invalid("field '\(field.rawValue)' cannot be deleted")
        }
        return wasSet
    }
}

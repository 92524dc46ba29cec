import EntrySchema

extension CacheEntry {
    /// The hash fields of an entry, with their facts (`EntryField`: the one table of them).
    public typealias Field = EntryField
}

extension EntryField {
    /// Looks a field up by name, ignoring ASCII case.
    ///
    /// - Throws: `TieredCacheError.invalid("unknown field 'name'")` for an unknown field.
    public static func named(_ name: String) throws(TieredCacheError) -> EntryField {
        guard let field = EntryField(name: name) else { throw .invalid("unknown field '\(name)'") }
        return field
    }
}

extension CacheEntry {
    /// The field's value as the server replies it, nil when unset.
    ///
    /// Times are decimal seconds in their shortest exact form (`"1764038400.25"`, `"1764038400"`), integers
    /// are decimal, `evicted_from_l1` is `"1"` or `"0"`.
    public func value(of field: Field) -> String? {
        switch self[field] {
        case .text(let text): text
        case .status(let status): status.rawValue
        case .integer(let number): String(number)
        case .time(let time): time.map(Self.text(ofTime:))
        case .flag(let flag): flag ? "1" : "0"
        }
    }

    /// The set fields with their values, in canonical order (HGETALL, HKEYS, HVALS, HLEN).
    public var fieldValues: [(field: Field, value: String)] {
        var result: [(field: Field, value: String)] = []
        result.reserveCapacity(Field.all.count)
        for field in Field.all {
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
        switch field.kind {
        case .text, .credential:
            self[field] = .text(value)
        case .status:
            guard let status = HealthStatus(rawValue: value.lowercased()) else {
                throw Self.invalid(field, "expected unknown|healthy|degraded|unhealthy|dead")
            }
            self[field] = .status(status)
        case .integer:
            self[field] = .integer(try Self.count(value, field, limit: Self.limit(of: field)))
        case .time:
            self[field] = .time(try Self.time(value, field))
        case .flag:
            self[field] = .flag(try Self.bool(value, field))
        }
        switch field {
        case .ttlSeconds: expiresAt = now + Double(ttlSeconds)
        case .expiresAt: ttlSeconds = Self.remainingSeconds(until: expiresAt ?? now, now: now)
        default: break
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
        guard field.isOptional else { throw .invalid("field '\(field.rawValue)' cannot be deleted") }
        let wasSet = value(of: field) != nil
        self[field] = .unset(field)
        if field == .expiresAt {
            ttlSeconds = 0
        }
        return wasSet
    }
}

import Tiers

/// An expiry given with SET or EXPIRE, resolved against the cache's clock.
enum Expiry: Equatable {
    /// Milliseconds from now.
    case relative(milliseconds: Int)
    /// Unix time in milliseconds.
    case absolute(milliseconds: Int)
    /// KEEPTTL: keep the entry's current expiry.
    case keep

    /// The absolute expiry time in seconds, or nil for `.keep`.
    func expiresAt(now: Double) -> Double? {
        switch self {
        case .relative(let ms): return now + Double(ms) / 1000
        case .absolute(let ms): return Double(ms) / 1000
        case .keep: return nil
        }
    }
}

extension CacheEntry {
    /// Sets `expires_at` and `ttl_seconds` (whole seconds left, rounded up) together.
    mutating func setExpiry(at expiresAt: Double?, now: Double) {
        self.expiresAt = expiresAt
        if let expiresAt {
            ttlSeconds = max(0, Int((expiresAt - now).rounded(.up)))
        } else {
            ttlSeconds = 0
        }
    }

    /// Milliseconds left before expiry (>= 0), or nil if the entry never expires.
    func millisecondsLeft(now: Double) -> Int? {
        guard let expiresAt else { return nil }
        return max(0, Int(((expiresAt - now) * 1000).rounded()))
    }
}

extension CommandCall {
    /// Parses an expiry amount for `command`: an integer > 0 that does not overflow once in milliseconds and
    /// whose expiry time stays within `CacheEntry.latestTime` (whether it is relative or absolute, both are
    /// within that bound when the amount is).
    func expiryAmount(_ index: Int, unitMilliseconds: Int, command: String) throws -> Int {
        let value = try integer(index)
        guard value > 0 else { throw CommandError.invalidExpire(command) }
        let (ms, overflow) = value.multipliedReportingOverflow(by: unitMilliseconds)
        guard !overflow, Double(ms) / 1000 <= CacheEntry.latestTime - cache.now() else {
            throw CommandError.invalidExpire(command)
        }
        return ms
    }

    /// A new entry for `key` with `proxyURL` that never expires: what Redis's SET, MSET and HSET of a new key make.
    func newEntry(key: String, proxyURL: String, now: Double) throws -> CacheEntry {
        var entry = CacheEntry(key: key, proxyURL: proxyURL, now: now, ttlSeconds: nil)
        try tier { () throws(TieredCacheError) in try entry.set(.proxyURL, to: proxyURL, now: now) }
        return entry
    }
}

extension CacheEntry {
    /// Gives a new entry the cache's TTL for its source (`--source-ttl`, else `--default-ttl`; none when that is
    /// 0): what the cache verbs (PUT, `cachectl put`, warm) do for an entry given no TTL.
    mutating func applyDefaultTTL(of cache: TieredCache, now: Double) {
        if let ttl = cache.resolvedTTL(source: source) {
            setExpiry(at: now + Double(ttl), now: now)
        }
    }
}

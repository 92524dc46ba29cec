import Redaction

/// One cached proxy: proxywhirl's `CacheEntry`, field for field.
///
/// Times are Unix epoch seconds. `expiresAt == nil` means the entry never expires (after `PERSIST`);
/// otherwise the entry is expired when `now >= expiresAt`.
public struct CacheEntry: Sendable, Equatable {
    /// The cache key.
    public var key: String
    /// The proxy URL; the entry's "string value" for Redis string commands.
    public var proxyURL: String
    /// Optional credentials: kept in memory in the clear, stored on disk only as Fernet tokens.
    public var username: String?
    public var password: String?
    /// Where the proxy came from (a source name; per-source TTLs key on it).
    public var source: String
    public var fetchTime: Double
    public var lastAccessed: Double
    /// Starts at 0, +1 per cache hit.
    public var accessCount: Int
    /// The TTL the entry was given, in seconds (>= 0).
    public var ttlSeconds: Int
    /// When the entry expires; `nil` never.
    public var expiresAt: Double?
    public var healthStatus: HealthStatus
    /// Consecutive failures reported with `HEALTH key fail`.
    public var failureCount: Int
    /// Set when L1 evicted the entry and it was demoted to the disk tiers.
    public var evictedFromL1: Bool
    // Health-monitoring fields (proxywhirl's L3 keeps them; so do all our tiers).
    public var lastHealthCheck: Double?
    public var consecutiveHealthFailures: Int
    public var consecutiveHealthSuccesses: Int
    public var recoveryAttempt: Int
    public var nextCheckTime: Double?
    /// The last health error text: diagnostics, so every URL password in it is masked when it is set
    /// (`http://user:***@host`), before it can reach a tier, a reply or an export.
    public var lastHealthError: String? {
        didSet { lastHealthError = URLPassword.maskedEverywhere(in: lastHealthError) }
    }
    public var totalHealthChecks: Int
    public var totalHealthCheckFailures: Int
    /// The entry's own attributes beyond the schema (`HSET key country de`), in insertion order; names distinct as
    /// bytes, never a schema field's. Empty for most entries, where it costs one pointer.
    public internal(set) var customFields: [CustomField]

    /// Makes a new entry fetched at `now` that lives `ttlSeconds` (or forever when `nil`).
    public init(
        key: String,
        proxyURL: String,
        username: String? = nil,
        password: String? = nil,
        source: String = "unknown",
        now: Double,
        ttlSeconds: Int?
    ) {
        self.key = key
        self.proxyURL = proxyURL
        self.username = username
        self.password = password
        self.source = source
        self.fetchTime = now
        self.lastAccessed = now
        self.accessCount = 0
        self.ttlSeconds = ttlSeconds ?? 0
        self.expiresAt = ttlSeconds.map { now + Double($0) }
        self.healthStatus = .unknown
        self.failureCount = 0
        self.evictedFromL1 = false
        self.lastHealthCheck = nil
        self.consecutiveHealthFailures = 0
        self.consecutiveHealthSuccesses = 0
        self.recoveryAttempt = 0
        self.nextCheckTime = nil
        self.lastHealthError = nil
        self.totalHealthChecks = 0
        self.totalHealthCheckFailures = 0
        self.customFields = []
    }

    /// Whether the entry is expired at `now` (`now >= expiresAt`).
    @inlinable
    public func isExpired(at now: Double) -> Bool {
        guard let expiresAt else { return false }
        return now >= expiresAt
    }
}

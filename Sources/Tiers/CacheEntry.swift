import Redaction

/// One cached proxy: proxywhirl's `CacheEntry`, field for field.
///
/// Times are Unix epoch seconds. `expiresAt == nil` means the entry never expires (after `PERSIST`);
/// otherwise the entry is expired when `now >= expiresAt`.
///
/// Compact in memory (L1 holds millions): the fields every entry uses are stored inline; the ones most entries
/// never set (credentials, the health-monitoring group, the last health error, custom fields) live in one
/// copy-on-write box (`CacheEntry.RareFields`) that is nil while they all hold their defaults; `expiresAt`
/// is a `Double` whose "never" is a NaN no arithmetic makes (`neverExpires`), not a 16-byte `Double?`; the source
/// is a 2-byte code into a shared table of names (`SourceNames`). Every property reads and writes as a stored one
/// would, and `==` compares the values, not the representation.
public struct CacheEntry: Sendable {
    /// The cache key.
    public var key: String
    /// The proxy URL; the entry's "string value" for Redis string commands.
    public var proxyURL: String
    public var fetchTime: Double
    public var lastAccessed: Double
    /// Starts at 0, +1 per cache hit.
    public var accessCount: Int
    /// The TTL the entry was given, in seconds (>= 0).
    public var ttlSeconds: Int
    /// `expiresAt`, with `neverExpires` for nil.
    @usableFromInline var expiry: Double
    /// The rarely set fields; nil while all of them hold their defaults.
    var rare: RareFields?
    /// `source`, as its code in `SourceNames` (`SourceNames.inBox`: the name is in `rare`).
    var sourceCode: UInt16
    public var healthStatus: HealthStatus
    /// Set when L1 evicted the entry and it was demoted to the disk tiers.
    public var evictedFromL1: Bool

    /// The bit pattern `expiry` holds for "never expires": a NaN with a payload of its own, so that a NaN a caller
    /// stores still reads back as a NaN and not as nil.
    @usableFromInline static var neverExpiresBits: UInt64 { 0x7FF4_C0DE_0000_0001 }
    @usableFromInline static var neverExpires: Double { Double(bitPattern: neverExpiresBits) }

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
        self.fetchTime = now
        self.lastAccessed = now
        self.accessCount = 0
        self.ttlSeconds = ttlSeconds ?? 0
        self.expiry = ttlSeconds.map { now + Double($0) } ?? Self.neverExpires
        self.rare = nil
        self.sourceCode = SourceNames.code(for: source)
        self.healthStatus = .unknown
        self.evictedFromL1 = false
        if username != nil || password != nil || sourceCode == SourceNames.inBox {
            var values = RareFields.Values()
            values.username = username
            values.password = password
            values.source = sourceCode == SourceNames.inBox ? source : nil
            self.rare = RareFields(values)
        }
    }

    /// When the entry expires; `nil` never.
    @inlinable
    public var expiresAt: Double? {
        get { expiry.bitPattern == Self.neverExpiresBits ? nil : expiry }
        set { expiry = newValue ?? Self.neverExpires }
    }

    /// Whether the entry is expired at `now` (`now >= expiresAt`).
    @inlinable
    public func isExpired(at now: Double) -> Bool {
        guard let expiresAt else { return false }
        return now >= expiresAt
    }
}

extension CacheEntry: Equatable {
    /// Equal when every field holds an equal value, as the stored fields' own `==` compare them (so a time that
    /// is NaN is equal to nothing); how the values are held does not matter.
    public static func == (lhs: CacheEntry, rhs: CacheEntry) -> Bool {
        lhs.key == rhs.key && lhs.proxyURL == rhs.proxyURL && lhs.source == rhs.source
            && lhs.fetchTime == rhs.fetchTime && lhs.lastAccessed == rhs.lastAccessed
            && lhs.accessCount == rhs.accessCount && lhs.ttlSeconds == rhs.ttlSeconds
            && lhs.expiresAt == rhs.expiresAt && lhs.healthStatus == rhs.healthStatus
            && lhs.evictedFromL1 == rhs.evictedFromL1
            && (lhs.rare?.values ?? defaultRareValues).sameFields(as: rhs.rare?.values ?? defaultRareValues)
    }
}

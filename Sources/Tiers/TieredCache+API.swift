// The contract between the tiered cache and its users (the server). Implementations live in
// TieredCache.swift and its extensions.

/// Whether a call may do blocking disk work.
public enum IOMode: Sendable {
    /// Memory only: a call that would need a disk tier throws `TieredCacheError.wouldBlock`
    /// before it changes anything, so the caller can retry it with `.mayBlock` off the event loop.
    case memoryOnly
    /// On an event loop: the call may also read the disk tiers whose reads never wait (SQLite files of this host,
    /// on connections kept for event loops, see `PersistentStore.readWithoutWaiting`), when every disk tier is
    /// such a tier. A read that would wait (a remote store, a busy connection, a probe or a failure to handle)
    /// throws `TieredCacheError.wouldBlock` before anything changes, as `.memoryOnly` does.
    case localReads
    /// The call may read the disk tiers (run it on a blocking queue, never an event loop).
    case mayBlock
}

/// Errors of the tiered cache.
public enum TieredCacheError: Error, Sendable, Equatable {
    /// The call needs disk work and was made with `.memoryOnly`; nothing was changed.
    case wouldBlock
    /// An entry field or value was rejected; the message is the client-facing text
    /// (without the "ERR " prefix). Nothing was changed.
    case invalid(String)
    /// Every tier that could serve the call is disabled.
    case unavailable(String)
}

/// The outcome of `HEALTH key ok|fail`.
public enum HealthOutcome: Sendable, Equatable {
    /// The key is not cached.
    case notFound
    /// The entry was updated; it now has this status and failure count.
    case updated(status: HealthStatus, failureCount: Int)
    /// The failure threshold was reached and the entry was removed from every tier.
    case removed(failureCount: Int)
}

/// A health report: `HEALTH key ok|fail [response_ms] [error] [check_url]`.
public struct HealthReport: Sendable, Equatable {
    public var ok: Bool
    public var responseTimeMs: Double?
    public var error: String?
    public var checkURL: String?

    public init(ok: Bool, responseTimeMs: Double? = nil, error: String? = nil, checkURL: String? = nil) {
        self.ok = ok
        self.responseTimeMs = responseTimeMs
        self.error = error
        self.checkURL = checkURL
    }
}

/// Figures of one tier.
public struct TierStatistics: Sendable, Equatable {
    public var tier: TierID
    /// The tier runs (configured with `--tiers`).
    public var configured: Bool
    /// The tier is configured but disabled after repeated failures (it is probed and re-enabled).
    public var degraded: Bool
    public var hits: Int
    public var misses: Int
    public var size: Int
    public var evictionsLRU: Int
    public var evictionsTTL: Int
    public var evictionsHealth: Int
    public var evictionsCorruption: Int
    /// Times the tier was disabled and re-enabled, and corrupt files moved aside.
    public var disabledCount: Int
    public var reenabledCount: Int
    public var recoveredCorruptFiles: Int
    /// Entries kept from corrupt files when they were moved aside (read back from the damaged file).
    public var salvagedEntries: Int
    /// Writes queued for the tier's writer and not yet committed.
    public var pendingWrites: Int
    /// Transactions the writer committed.
    public var commits: Int
    /// Time the writer spent in commits (with `--fsync always`, each includes its sync), microseconds; the longest.
    public var commitMicroseconds: Int
    public var slowestCommitMicroseconds: Int
    /// Syncs of the store apart from commits (`--fsync everysec`, and at shutdown), their time and the longest.
    public var syncs: Int
    public var syncMicroseconds: Int
    public var slowestSyncMicroseconds: Int
    /// When the writer last committed a transaction (cache clock, Unix seconds); nil before the first (LASTSAVE).
    public var lastCommitTime: Double?
    /// A short description of the backend ("memory lru", "sqlite /path", "jsonl /dir").
    public var backend: String

    public var hitRate: Double {
        hits + misses == 0 ? 0 : Double(hits) / Double(hits + misses)
    }

    public init(tier: TierID, configured: Bool, backend: String) {
        self.tier = tier
        self.configured = configured
        self.degraded = false
        self.hits = 0
        self.misses = 0
        self.size = 0
        self.evictionsLRU = 0
        self.evictionsTTL = 0
        self.evictionsHealth = 0
        self.evictionsCorruption = 0
        self.disabledCount = 0
        self.reenabledCount = 0
        self.recoveredCorruptFiles = 0
        self.salvagedEntries = 0
        self.pendingWrites = 0
        self.commits = 0
        self.commitMicroseconds = 0
        self.slowestCommitMicroseconds = 0
        self.syncs = 0
        self.syncMicroseconds = 0
        self.slowestSyncMicroseconds = 0
        self.lastCommitTime = nil
        self.backend = backend
    }
}

/// Figures of the whole cache, as proxywhirl's `CacheStatistics` keeps them.
public struct CacheStatistics: Sendable, Equatable {
    /// L1, L2, L3 in that order (unconfigured tiers included, with `configured == false`).
    public var tiers: [TierStatistics]
    public var promotions: Int
    public var demotions: Int

    public init(tiers: [TierStatistics], promotions: Int, demotions: Int) {
        self.tiers = tiers
        self.promotions = promotions
        self.demotions = demotions
    }

    /// sum(hits) / (sum(hits) + max(tier misses)), as proxywhirl computes it.
    public var overallHitRate: Double {
        let configured = tiers.filter(\.configured)
        let hits = configured.reduce(0) { $0 + $1.hits }
        let misses = configured.map(\.misses).max() ?? 0
        return hits + misses == 0 ? 0 : Double(hits) / Double(hits + misses)
    }
}

/// A point in the disk writers' queues: the writes enqueued so far. See `TieredCache.whenDurable`.
public struct DurabilityPoint: Sendable, Equatable {
    /// The sequence number of the last write enqueued to each writer at the time.
    public var sequences: [TierID: UInt64]
    /// The journal sequence to wait for, and whether it must be synced (`always`) or only written.
    public var journal: (sequence: UInt64, synced: Bool)?

    public init(sequences: [TierID: UInt64], journal: (sequence: UInt64, synced: Bool)? = nil) {
        self.sequences = sequences
        self.journal = journal
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.sequences == rhs.sequences && lhs.journal?.sequence == rhs.journal?.sequence
            && lhs.journal?.synced == rhs.journal?.synced
    }
}

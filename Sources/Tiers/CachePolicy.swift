import Synchronization

/// The cache's rules that may change while it runs (CONFIG SET): the TTL the cache verbs give an entry without
/// one, and when health reports remove an entry. Read on every use, so a change applies to the next call.
public final class CachePolicy: Sendable {
    private let defaultTTLSetting: Synchronization.Atomic<Int>
    private let failureThresholdSetting: Synchronization.Atomic<Int>
    private let healthInvalidationSetting: Synchronization.Atomic<Bool>

    init(defaultTTL: Int, failureThreshold: Int, healthInvalidation: Bool) {
        defaultTTLSetting = Synchronization.Atomic(defaultTTL)
        failureThresholdSetting = Synchronization.Atomic(failureThreshold)
        healthInvalidationSetting = Synchronization.Atomic(healthInvalidation)
    }

    /// Seconds; 0 for none (`default-ttl`).
    public var defaultTTL: Int {
        get { defaultTTLSetting.load(ordering: .relaxed) }
        set { defaultTTLSetting.store(newValue, ordering: .relaxed) }
    }

    /// Consecutive failed health reports that remove an entry (`failure-threshold`, at least 1).
    public var failureThreshold: Int {
        get { failureThresholdSetting.load(ordering: .relaxed) }
        set { failureThresholdSetting.store(newValue, ordering: .relaxed) }
    }

    /// Whether reaching the failure threshold removes the entry (`health-invalidation`).
    public var healthInvalidation: Bool {
        get { healthInvalidationSetting.load(ordering: .relaxed) }
        set { healthInvalidationSetting.store(newValue, ordering: .relaxed) }
    }
}

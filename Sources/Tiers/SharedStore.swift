/// Told by a shared store which keys other sidecars changed, so that local copies of them stop being served.
///
/// The tiered cache is one; the calls come from the store's own thread (never an event loop) and may block briefly
/// on L1's shard locks.
public protocol InvalidationTarget: AnyObject, Sendable {
    /// Another sidecar committed changes of these keys to the shared store.
    func invalidate(keys: [String])
    /// What changed is unknown (a lost notification connection, a batch too large to list): drop every local copy.
    func invalidateAll()
}

/// An L3 that several sidecars share (PostgreSQL): its commits are announced to the others, and it announces theirs.
///
/// Without one (the SQLite L3) nothing of this runs: one process owns its file.
public protocol SharedPersistentStore: PersistentStore {
    /// Starts telling `target` of other sidecars' commits, until `close()`. Called once, by the tiered cache.
    func subscribe(_ target: any InvalidationTarget)
    /// The keys this sidecar announced to the others so far (a batch announced as "everything" counts 1).
    var invalidationsSent: Int { get }
    /// Notifications received from other sidecars so far (one each, whatever it lists).
    var notificationsReceived: Int { get }
    /// Whether the store is listening to the others now.
    var isListening: Bool { get }
    /// Sweeps of expired entries (`removeExpired`) this sidecar skipped because another sidecar was sweeping: one
    /// sweep of the shared store runs at a time in a fleet.
    var sweepsSkipped: Int { get }
    /// The entries in the shared store, the whole fleet's, as counted at most about a second ago (nil before the
    /// first count). Never blocks: a stale figure is answered while a new count runs in the background.
    var sharedEntries: Int? { get }
    /// Records one more health failure of `key` (checked at `time`, failing with `error`) in the store, atomically
    /// for the whole fleet: the failure count and the health figures are incremented there, not overwritten. Returns
    /// the new count; at `threshold` (nil: never) the entry is deleted there with its history. The others are told
    /// either way. Nil when the store has no entry for `key`.
    func recordHealthFailure(
        _ key: String,
        time: Double,
        error: String?,
        threshold: Int?
    ) throws(StoreError) -> Int?
}

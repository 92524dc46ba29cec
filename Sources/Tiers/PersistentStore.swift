/// One change that a tier's writer applies inside a batch transaction.
public enum StoreWrite: Sendable, Equatable {
    /// Insert or replace the whole entry (an upsert: L3 keeps `created_at`).
    case put(CacheEntry)
    /// Remove the entry (L3 cascades to its health history).
    case delete(key: String)
    /// Append a health check to the key's history, keeping at most `keep` rows for that key
    /// (stores without a history ignore it).
    case appendHealth(key: String, record: HealthCheckRecord, keep: Int)
}

/// A disk tier (L2 or L3) as the tiered cache drives it.
///
/// Stores are blocking and are called from two kinds of threads: one writer thread per store
/// (`apply`, `removeExpired`, `removeAll`, `evict`, `sync`) and reader threads (`get`, `count`,
/// `scanKeys`, `history`). Implementations must be safe for that (e.g. SQLite WAL with one writer
/// connection and a small pool of reader connections, each guarded by a lock).
/// Errors thrown are `StoreError`.
public protocol PersistentStore: AnyObject, Sendable {
    /// Which tier this store is.
    var tier: TierID { get }
    /// A short description for logs and INFO (e.g. "sqlite /path/l2_cache.db"), never a secret.
    var description: String { get }

    /// Reads one entry with its credentials decrypted. Expired entries are returned too: the
    /// cache decides what to do with them.
    func get(_ key: String) throws(StoreError) -> CacheEntry?
    /// Whether `readWithoutWaiting` can answer at all (a store of this host's files that keeps connections for
    /// event loops). By default: no.
    var readsWithoutWaiting: Bool { get }
    /// `get` for an event loop: answers only if it needs to wait for nothing (no lock another thread holds, no
    /// other process's lock, no network), else `.wouldWait`. A failure is not handled here: it reads as
    /// `.wouldWait`, and the read made again off the loop meets it and handles it. By default: `.wouldWait`.
    func readWithoutWaiting(_ key: String) -> ImmediateRead
    /// Applies the writes in order, in one transaction.
    func apply(_ writes: [StoreWrite]) throws(StoreError)
    /// Applies the writes in order, in one transaction, recording in it (when not nil) that the store now holds
    /// every journaled write up to that journal sequence. Stores without such a record ignore it.
    func apply(_ writes: [StoreWrite], journalThrough: UInt64?) throws(StoreError)
    /// The journal sequence the store last recorded (`apply(_:journalThrough:)`), 0 for a new store, nil for a
    /// store that keeps no such record (it is given every journaled write at start).
    func appliedJournalSequence() throws(StoreError) -> UInt64?
    /// The number of entries.
    func count() throws(StoreError) -> Int
    /// Up to `limit` keys after `cursor` in a stable order (0 starts); returns the next cursor, 0 when done.
    /// Keys present for the whole scan are returned at least once.
    func scanKeys(cursor: UInt64, limit: Int) throws(StoreError) -> (next: UInt64, keys: [String])
    /// Deletes the entries with `expires_at <= now` and returns their keys.
    func removeExpired(now: Double) throws(StoreError) -> [String]
    /// Deletes everything; returns how many entries there were.
    func removeAll() throws(StoreError) -> Int
    /// Deletes entries beyond `maxEntries`, choosing by `policy`; returns the evicted keys.
    func evict(toAtMost maxEntries: Int, policy: EvictionPolicy) throws(StoreError) -> [String]
    /// Forces committed writes to stable storage (used by `FsyncPolicy.everysec`).
    func sync() throws(StoreError)
    /// The newest `limit` health checks of `key`, newest first (stores without a history return []).
    func history(_ key: String, limit: Int) throws(StoreError) -> [HealthCheckRecord]
    /// Rebuilds a store found corrupt: moves the damaged files aside with a timestamp and starts
    /// empty. Returns the path the damaged file was moved to.
    func recoverFromCorruption() throws(StoreError) -> String
    /// `recoverFromCorruption()`, keeping what can be read of the damaged file where the store can (SQLite);
    /// says what was kept and lost. By default: nothing kept, the loss unknown (`lostEntries` 0).
    func recoverFromCorruptionSalvaging() throws(StoreError) -> SalvageReport
    /// Closes files and connections; later calls fail with `StoreError.closed`.
    func close()
}

/// Why a disk tier operation failed.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The file is not a database or is damaged (SQLITE_CORRUPT, SQLITE_NOTADB, a corrupt shard).
        case corrupt
        /// The disk is full (SQLITE_FULL, ENOSPC).
        case full
        /// The file or directory cannot be written (SQLITE_READONLY, EACCES, EROFS).
        case readOnly
        /// Another process holds the lock too long (SQLITE_BUSY, flock).
        case busy
        /// A credential token could not be decrypted with any configured key.
        case decryption
        /// The store was closed.
        case closed
        /// The store's server cannot be reached now (refused, lost or timed out connections; a server starting or
        /// stopping): it may come back.
        case unreachable
        /// The store refused the data itself (a constraint, a value it cannot hold): trying again cannot help, unlike
        /// every other kind, which a store that comes back may accept.
        case rejected
        /// Anything else (an I/O error).
        case io

        /// Whether trying the same operation again cannot succeed: the data itself was refused, or a credential
        /// cannot be decrypted with any key this process has.
        public var isPermanent: Bool { self == .rejected || self == .decryption }
    }

    public var kind: Kind
    /// What failed, for logs; never contains a credential.
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind): \(message)" }
}

/// What `PersistentStore.readWithoutWaiting` found.
public enum ImmediateRead: Sendable {
    /// The store answered: the entry, or nil when it has none.
    case answered(CacheEntry?)
    /// The store could not answer without waiting (or failed): read it again off the event loop.
    case wouldWait
}

extension PersistentStore {
    public var readsWithoutWaiting: Bool { false }

    public func readWithoutWaiting(_ key: String) -> ImmediateRead { .wouldWait }

    public func apply(_ writes: [StoreWrite], journalThrough: UInt64?) throws(StoreError) {
        try apply(writes)
    }

    public func appliedJournalSequence() throws(StoreError) -> UInt64? { nil }

    public func recoverFromCorruptionSalvaging() throws(StoreError) -> SalvageReport {
        SalvageReport(movedTo: try recoverFromCorruption())
    }
}

import Logging
import NIOConcurrencyHelpers
import Synchronization

/// The tiered cache: L1 in memory, then the optional disk tiers L2 and L3.
///
/// Thread-safe. Calls with `.memoryOnly` never touch a disk and may run on an event loop, and so may calls with
/// `.localReads`, which read only disk tiers that answer without waiting; calls with `.mayBlock` may read disk
/// tiers and must run on a blocking queue. Writes are applied to L1
/// at once and handed to one writer per disk tier, which batches them into transactions.
///
/// How it holds together:
/// - L1 (`MemoryTier`) is sharded; every change of a key happens under its shard's lock, and the writes
///   it causes are queued to the disk writers under that same lock, so each writer sees a key's writes in
///   order. A writer's overlay shows queued writes to readers until they are committed.
/// - A key missing from L1 is read from disk WITHOUT the lock; the result is used (promoted) under the lock
///   only if the shard's epoch did not move meanwhile (an eviction or a delete of a non-resident key bumps
///   it), otherwise it is read again.
/// - Each disk tier is a `DiskTier` (its store, fault state and writer); the cache only calls its methods.
/// - Disk faults are counted per tier (`TierHealth`); a disabled tier is skipped, probed and re-enabled, and the
///   writes it lost meanwhile are replayed.
/// - While FLUSHALL clears the disk tiers, disk reads find nothing (see `removeAll()`).
/// - Per-source TTLs are not applied by `put`: the server asks `resolvedTTL(source:)` when the client gave no
///   TTL and builds the entry with it, so an entry given no TTL at all is meant to be permanent.
public final class TieredCache: InvalidationTarget, Sendable {
    /// Settings of the cache; every limit has a named setting and a default.
    public struct Configuration: Sendable {
        /// L1's capacity in entries (`--l1-max-entries`); `nil`: no bound by count.
        public var l1MaxEntries: Int? = nil
        /// L1's bound on its entries' estimated bytes (`--l1-max-memory`, like Redis's maxmemory); `nil`: none.
        /// Default: a quarter of the machine's (or the cgroup's) memory, see `MemoryTier.defaultMaxMemory`.
        public var l1MaxMemory: Int? = MemoryTier.defaultMaxMemory
        /// L2's capacity (`--l2-max-entries`).
        public var l2MaxEntries: Int = 5000
        /// What L2 holds when L3 is below it (`--l2-mode`). Without L3, L2 is the durable tier and takes every write.
        public var l2Mode: L2Mode = .victim
        /// L3's capacity (`--l3-max-entries`); `nil` is unbounded.
        public var l3MaxEntries: Int? = nil
        /// Which entry a full tier evicts first (`--eviction-policy`).
        public var evictionPolicy: EvictionPolicy = .lru
        /// TTL of a new entry given none by a cache verb (`--default-ttl`), seconds; 0 for none.
        public var defaultTTL: Int = 3600
        /// TTL by source, applied when an entry is given no TTL of its own (`--source-ttl`).
        public var sourceTTLs: [String: Int] = [:]
        /// Consecutive failures that remove an entry (`--failure-threshold`).
        public var failureThreshold: Int = 3
        /// Whether reaching `failureThreshold` removes the entry (`--no-health-invalidation`).
        public var healthInvalidation: Bool = true
        /// Consecutive failed operations that disable a disk tier (`--tier-failure-threshold`).
        public var tierFailureThreshold: Int = 3
        /// How often a disabled tier is probed, seconds.
        public var tierProbeInterval: Double = 5
        /// Health checks kept per key in L3's history (`--health-history-limit`).
        public var healthHistoryLimit: Int = 100
        /// When disk writes are synced (`--fsync`).
        public var fsync: FsyncPolicy = .everysec
        /// The most writes one writer transaction takes (`--write-batch-size`).
        public var writeBatchSize: Int = 1024
        /// The size at which the journal starts a new segment file (`--journal-segment-size`), bytes.
        public var journalSegmentSize: Int = 64 << 20
        /// How long a journaled write may wait before the disk writers apply it to L2 and L3
        /// (`--journal-apply-delay`), seconds: repeated writes of a key within it become one row write.
        public var journalApplyWindow: Double = 1
        /// The apply window of an L3 shared with other sidecars (`--fleet-apply-delay`), seconds: the other
        /// sidecars learn of a write only when L3 commits it, so this bounds how stale they can be.
        public var sharedL3ApplyWindow: Double = 0.005
        /// The most writes that may wait for a shared L3 that cannot be reached (`--l3-backlog-limit`): beyond it
        /// write commands are refused until it answers, so nothing acknowledged is ever dropped.
        public var l3BacklogLimit: Int = 100_000
        /// The bounds on an entry's custom fields (`--max-custom-fields`, `--max-custom-field-size`).
        public var customFieldLimits = CustomFieldLimits()

        public init() {}
    }

    /// Figures not kept by L1 or a disk tier.
    struct Counters: Sendable {
        var promotions = 0
        var demotions = 0
        var l1EvictionsTTL = 0
        var l1EvictionsHealth = 0
        var coherenceKeysDropped = 0
        var coherenceKeysKept = 0
        var coherenceDropsAll = 0
        var writesRefused = 0
    }

    public let configuration: Configuration
    /// The durability point of the disk tiers (nil without them, or when the caller gave none).
    public let journal: Journal?
    let clock: any CacheClock
    let logger: Logger
    let l1: MemoryTier
    let l2Tier: DiskTier?
    let l3Tier: DiskTier?
    /// The configured disk tiers, L2 before L3.
    let disks: [DiskTier]
    /// Whether every disk tier's store can be read without waiting (`PersistentStore.readWithoutWaiting`), so
    /// that calls with `.localReads` read them on the event loop.
    let disksReadWithoutWaiting: Bool
    /// Whether L2 is a victim cache of L1 (`L2Mode.victim` with L1, L2 and L3 all present).
    let l2IsVictimCache: Bool
    let counters = NIOLockedValueBox(Counters())
    let isShutDown = NIOLockedValueBox(false)
    /// What the shutdown could not persist, once it has run.
    let shutdownOutcome = NIOLockedValueBox<ShutdownReport?>(nil)
    /// FLUSHALLs running now: while it is not 0, disk reads find nothing (the tiers are being cleared).
    let flushesRunning = NIOLockedValueBox(0)
    /// The rules that may change while running (CONFIG SET), starting from `configuration`'s.
    public let policy: CachePolicy
    /// Told of every key a caller's write changed (`observeChanges`): WATCH.
    let changeObserver = NIOLockedValueBox(ChangeObserver(call: nil))
    /// Whether anyone wants changes yet (`wantChanges`): until then a write pays one atomic load, not the lock.
    let changesWanted = ChangeInterest()

    /// The observer in a struct: a closure kept directly in a generic box is reabstracted on every `inout`
    /// access, and each write-back wraps it in two more thunks, so every call would get slower than the last.
    struct ChangeObserver: Sendable {
        var call: (@Sendable (String) -> Void)?
    }

    /// Creates the cache over L1 and the given disk stores (either may be absent: `--tiers l1` runs L1 alone).
    ///
    /// Starts one writer thread per disk store; call `shutdown()` to commit, sync and close them.
    public init(
        configuration: Configuration,
        l2: (any PersistentStore)? = nil,
        l3: (any PersistentStore)? = nil,
        journal: Journal? = nil,
        clock: any CacheClock = SystemClock(),
        logger: Logger = Logger(label: "cachesrvd.tiers")
    ) {
        self.configuration = configuration
        self.journal = l2 == nil && l3 == nil ? nil : journal
        self.policy = CachePolicy(
            defaultTTL: configuration.defaultTTL,
            failureThreshold: configuration.failureThreshold,
            healthInvalidation: configuration.healthInvalidation
        )
        self.clock = clock
        self.logger = logger
        self.l1 = MemoryTier(
            maxEntries: configuration.l1MaxEntries,
            maxMemory: configuration.l1MaxMemory,
            policy: configuration.evictionPolicy
        )
        func makeTier(_ tier: TierID, _ store: (any PersistentStore)?, maxEntries: Int?) -> DiskTier? {
            guard let store else { return nil }
            return DiskTier(
                tier: tier,
                store: store,
                maxEntries: maxEntries,
                isCache: tier == .l2 && l3 != nil,
                journaled: journal != nil,
                configuration: configuration,
                clock: clock,
                logger: logger
            )
        }
        self.l2Tier = makeTier(.l2, l2, maxEntries: configuration.l2MaxEntries)
        self.l3Tier = makeTier(.l3, l3, maxEntries: configuration.l3MaxEntries)
        self.disks = [l2Tier, l3Tier].compactMap { $0 }
        self.disksReadWithoutWaiting = !disks.isEmpty && disks.allSatisfy(\.readsWithoutWaiting)
        self.l2IsVictimCache = configuration.l2Mode == .victim && l2Tier != nil && l3Tier != nil
        if let journal = self.journal {
            startJournal(journal)
        }
        for disk in disks {
            // Captures L1, not the cache: a weak reference would give the cache a side table, and every retain
            // and release of it (one per command) would take the slow path.
            // A victim L2 that lost a write drops the key: it refills when L1 next evicts it.
            let dropsLostKeys = l2IsVictimCache && disk.id == .l2
            disk.start { [l1] lost in
                dropsLostKeys ? .delete(key: lost.key) : Self.repairWrite(replaying: lost, from: l1)
            }
        }
        if let shared = l3 as? any SharedPersistentStore {
            // The store keeps the cache until it is closed (`shutdown`), which ends the subscription.
            shared.subscribe(self)
        }
    }

    /// Whether any disk tier is configured (if not, no call ever throws `wouldBlock`).
    public var hasDiskTiers: Bool { !disks.isEmpty }

    /// The current time of the cache's clock.
    public func now() -> Double { clock.now() }

    /// The TTL for a new entry of `source` that was given none: the source's TTL, else the default.
    ///
    /// `put` does not apply it (an entry built with `ttlSeconds: nil` is permanent); the server calls this
    /// when a client gives no TTL and builds the entry with the result.
    public func resolvedTTL(source: String) -> Int? {
        let ttl = configuration.sourceTTLs[source] ?? policy.defaultTTL
        return ttl > 0 ? ttl : nil
    }

    /// What a step under an L1 shard lock decided.
    enum Step<R> {
        case done(R)
        case wouldBlock
        /// Read the disk tiers without the lock, then try again (the shard's epoch at that moment).
        case load(epoch: UInt64)
    }

    // MARK: Reads

    /// Looks a key up L1 -> L2 -> L3. A hit below L1 is promoted; a hit bumps `access_count` and
    /// `last_accessed` (kept in L1 and written to the disk tiers when the entry is next written, demoted or the
    /// cache shuts down) and counts in the statistics. An expired entry found
    /// anywhere is removed everywhere (TTL eviction) and reported as absent.
    public func get(_ key: String, mode: IOMode) throws(TieredCacheError) -> CacheEntry? {
        var known: (epoch: UInt64, result: DiskLookup)? = nil
        // The tiers the first disk read read, counted when the call answers: with `.localReads` a read again after
        // an eviction may still throw `wouldBlock`, and then nothing is counted.
        var uncounted: DiskReads? = nil
        while true {
            let now = clock.now()
            let step = l1.withShard(for: key, onEvict: demote) { storage -> Step<CacheEntry?> in
                let step = getStep(key, known: known, mode: mode, now: now, in: &storage)
                // The L1 miss of a call that read the disk, counted when it answers.
                if known != nil, case .done = step { storage.misses += 1 }
                return step
            }
            switch step {
            case .done(let entry):
                if let uncounted { count(uncounted) }
                return entry
            case .wouldBlock:
                throw .wouldBlock
            case .load(let epoch):
                let (result, reads) = try lookupDisk(key, now: now, counting: known == nil, mode: mode)
                if known == nil { uncounted = reads }
                known = (epoch, result)
            }
        }
    }

    /// One step of `get` under the key's shard lock, given what the disk tiers held at `known.epoch`.
    private func getStep(
        _ key: String,
        known: (epoch: UInt64, result: DiskLookup)?,
        mode: IOMode,
        now: Double,
        in storage: inout MemoryTierStorage
    ) -> Step<CacheEntry?> {
        if let slot = storage.slot(of: key) {
            if storage.isExpired(at: slot, now: now) {
                expireResident(slot, in: &storage)
                return .done(nil)
            }
            storage.hits += 1
            // The bump stays in L1: it reaches the disk tiers with the entry's next write, its demotion or the
            // shutdown (writing every hit through cost more than the hit itself).
            return .done(storage.recordHit(of: key, at: slot, now: now))
        }
        if disks.isEmpty {
            storage.misses += 1
            return .done(nil)
        }
        if let known, known.epoch == storage.epoch {
            return .done(settle(known.result, key: key, in: &storage, now: now, bump: true))
        }
        if known == nil, let queued = lookupQueued(key, now: now) {
            storage.misses += 1
            return .done(settle(queued, key: key, in: &storage, now: now, bump: true))
        }
        guard readsDisk(mode) else { return .wouldBlock }
        return .load(epoch: storage.epoch)
    }

    /// Like `get` but changes nothing: no access bump, no statistics, no promotion (TTL, EXISTS, TYPE).
    public func peek(_ key: String, mode: IOMode) throws(TieredCacheError) -> CacheEntry? {
        let now = clock.now()
        let step = l1.shard(for: key).locked { storage -> Step<CacheEntry?> in
            if let slot = storage.slot(of: key) {
                let entry = storage.entry(at: slot)
                return .done(entry.isExpired(at: now) ? nil : entry)
            }
            if disks.isEmpty { return .done(nil) }
            return readsDisk(mode) ? .load(epoch: storage.epoch) : .wouldBlock
        }
        switch step {
        case .done(let entry): return entry
        case .wouldBlock: throw .wouldBlock
        case .load:
            if case .found(let entry, _) = try lookupDisk(key, now: now, counting: false, mode: mode).lookup {
                return entry
            }
            return nil
        }
    }

    // MARK: Writes

    /// Stores a whole entry, as given, written through every enabled tier.
    ///
    /// The TTL is the entry's own: an entry built with `ttlSeconds: nil` never expires. To give a new entry
    /// its source's TTL (or the default), build it with `resolvedTTL(source:)`.
    public func put(_ entry: CacheEntry) {
        l1.withShard(for: entry.key, onEvict: demote) { storage in
            let slot: Int32
            if let resident = storage.slot(of: entry.key) {
                slot = resident
                storage.replace(at: slot, with: entry)
            } else {
                slot = storage.insert(entry)
            }
            writeThrough(.put(entry), heldAt: slot, in: &storage)
        }
        changed(entry.key)
    }

    /// Calls `observer` with the key of every change a caller makes: a put, an update that changed or removed an
    /// entry, a delete of a live entry. Not for what the cache does on its own (demotion, expiry, the sweep).
    public func observeChanges(_ observer: @escaping @Sendable (String) -> Void) {
        changeObserver.withLockedValue { $0.call = observer }
    }

    /// Turns the change observer on (the first WATCH does): from then on every change is reported. Call it before
    /// the change that matters can happen (WATCH registers its keys after this).
    public func wantChanges() {
        changesWanted.want()
    }

    /// The switch `wantChanges` turns, for a holder that must not keep the cache alive.
    public var changeInterest: ChangeInterest { changesWanted }

    func changed(_ key: String) {
        guard changesWanted.isWanted else { return }
        changeObserver.withLockedValue { $0 }.call?(key)
    }
}

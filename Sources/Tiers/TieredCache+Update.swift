import Redaction

// Read-modify-write of one key: update, delete and health reports.

extension TieredCache {
    /// What a mutation does besides changing the entry.
    struct MutationContext {
        let now: Double
        /// A health check to append to L3's history if the entry stays.
        var healthRecord: HealthCheckRecord? = nil
        /// The removal is a health eviction.
        var healthEviction = false
        /// L3 already holds the change (a health failure counted there for the fleet): the entry goes to L1 and L2
        /// only, so that no put can overwrite what other sidecars counted meanwhile.
        var l3Written = false
    }

    /// Reads, changes and writes one key atomically with respect to other callers of this key.
    ///
    /// `body` gets the current unexpired entry (nil if absent) and may change it, set it to nil
    /// (delete everywhere) or leave it; the result is written through only if it changed. Errors
    /// thrown by `body` change nothing. With `.memoryOnly`, throws `wouldBlock` before calling `body`
    /// when the key is not resident in L1 and disk tiers exist (with `.localReads`, when they cannot be read
    /// without waiting).
    public func update<R>(
        _ key: String,
        mode: IOMode,
        _ body: (inout CacheEntry?) throws(TieredCacheError) -> R
    ) throws(TieredCacheError) -> R {
        try mutate(key, mode: mode) { entry, _ throws(TieredCacheError) -> R in try body(&entry) }
    }

    /// Removes a key from every tier; returns whether it existed (unexpired) anywhere.
    public func delete(_ key: String, mode: IOMode) throws(TieredCacheError) -> Bool {
        var known: DiskLookup? = nil
        while true {
            let now = clock.now()
            let step = l1.withShard(for: key, onEvict: demote) { storage -> Step<Bool> in
                if let slot = storage.slot(of: key) {
                    let entry = storage.remove(at: slot)
                    writeThrough(.delete(key: key))
                    guard entry.isExpired(at: now) else {
                        changed(key)
                        return .done(true)
                    }
                    countTTLEviction(on: .l1)
                    return .done(false)
                }
                if disks.isEmpty { return .done(false) }
                if let known {
                    storage.epoch &+= 1
                    writeThrough(.delete(key: key))
                    if known.isLive { changed(key) }
                    return .done(known.isLive)
                }
                return readsDisk(mode) ? .load(epoch: storage.epoch) : .wouldBlock
            }
            switch step {
            case .done(let existed): return existed
            case .wouldBlock: throw .wouldBlock
            case .load: known = try lookupDisk(key, now: now, counting: false, mode: mode).lookup
            }
        }
    }

    /// Applies a health report: `fail` bumps `failure_count` and the health counters, sets
    /// `unhealthy` and records the error; at the failure threshold the entry is removed from every
    /// tier (health eviction) unless health invalidation is off. `ok` sets `healthy` and resets
    /// `failure_count`. Every report on an entry that stays is appended to L3's history; a removed entry's
    /// history goes with it (L3 cascades the delete), so the final failing report is not kept.
    public func reportHealth(
        _ key: String,
        _ report: HealthReport,
        mode: IOMode
    ) throws(TieredCacheError)
        -> HealthOutcome
    {
        let fleetCount = try fleetHealthFailure(key, report, mode: mode, now: clock.now())
        return try mutate(key, mode: mode) { entry, context throws(TieredCacheError) -> HealthOutcome in
            guard var changed = entry else {
                // L3 held it, and deleted it at the fleet's threshold before this sidecar read it back.
                if let fleetCount, policy.healthInvalidation, fleetCount >= policy.failureThreshold {
                    return .removed(failureCount: fleetCount)
                }
                return .notFound
            }
            let now = context.now
            changed.totalHealthChecks += 1
            changed.lastHealthCheck = now
            if report.ok {
                changed.healthStatus = .healthy
                changed.failureCount = 0
                changed.consecutiveHealthFailures = 0
                changed.consecutiveHealthSuccesses += 1
            } else {
                changed.healthStatus = .unhealthy
                changed.failureCount = fleetCount ?? changed.failureCount + 1
                context.l3Written = fleetCount != nil
                changed.consecutiveHealthFailures += 1
                changed.consecutiveHealthSuccesses = 0
                changed.totalHealthCheckFailures += 1
                changed.lastHealthError = report.error
            }
            if !report.ok, policy.healthInvalidation, changed.failureCount >= policy.failureThreshold {
                entry = nil
                context.healthEviction = true
                return .removed(failureCount: changed.failureCount)
            }
            entry = changed
            context.healthRecord = HealthCheckRecord(
                checkTime: now,
                status: changed.healthStatus,
                responseTimeMs: report.responseTimeMs,
                errorMessage: report.error,
                checkURL: report.checkURL
            )
            return .updated(status: changed.healthStatus, failureCount: changed.failureCount)
        }
    }

    /// With an L3 shared by several sidecars, a failure is counted there, atomically for the whole fleet, so that
    /// `--failure-threshold` failures reported anywhere remove the entry everywhere (L3 deletes it at the threshold
    /// and tells the other sidecars). Returns the fleet's count, or nil to count locally as with an L3 of one's own:
    /// an `ok` report, no shared L3, L3 failing (or unreachable, its writes waiting) or not holding the key.
    ///
    /// It first waits for L3's writer, so that L3 holds this sidecar's own writes of the key; `.memoryOnly` throws
    /// `wouldBlock` before anything is counted. The entry this sidecar then keeps goes to L1 and L2 only
    /// (`MutationContext.l3Written`): a put to L3 could undo what other sidecars counted meanwhile, or bring back an
    /// entry one of them removed at the threshold.
    private func fleetHealthFailure(
        _ key: String,
        _ report: HealthReport,
        mode: IOMode,
        now: Double
    ) throws(TieredCacheError) -> Int? {
        // Not while L3's writer holds writes it could not commit: waiting for them would wait for PostgreSQL.
        guard !report.ok, let l3Tier, l3Tier.sharedStore != nil, l3Tier.isAvailable else { return nil }
        guard mode == .mayBlock else { throw .wouldBlock }
        let threshold = policy.healthInvalidation ? policy.failureThreshold : nil
        return l3Tier.recordHealthFailure(
            key,
            time: now,
            // Masked as `CacheEntry.lastHealthError` masks it: the store writes it directly.
            error: URLPassword.maskedEverywhere(in: report.error),
            threshold: threshold
        )
    }

    /// The core of `update`: runs `body` under the key's shard lock on the resident entry, loading and
    /// promoting it from disk first (without the lock) when it is not resident.
    func mutate<R>(
        _ key: String,
        mode: IOMode,
        _ body: (inout CacheEntry?, inout MutationContext) throws(TieredCacheError) -> R
    ) throws(TieredCacheError) -> R {
        var known: (epoch: UInt64, result: DiskLookup)? = nil
        while true {
            let now = clock.now()
            let step = try l1.withShard(for: key, onEvict: demote) {
                storage throws(TieredCacheError) -> Step<R> in
                var slot = storage.slot(of: key)
                if let resident = slot, storage.isExpired(at: resident, now: now) {
                    // Removed from every tier: the key is now absent everywhere.
                    expireResident(resident, in: &storage)
                    slot = nil
                } else if slot == nil, !disks.isEmpty {
                    guard let known, known.epoch == storage.epoch else {
                        return readsDisk(mode) ? .load(epoch: storage.epoch) : .wouldBlock
                    }
                    if settle(known.result, key: key, in: &storage, now: now, bump: false) != nil {
                        slot = storage.slot(of: key)
                    }
                }
                var context = MutationContext(now: now)
                if let slot {
                    return .done(try mutateResident(key, slot, in: &storage, &context, body))
                }
                return .done(try mutateAbsent(key, in: &storage, &context, body))
            }
            switch step {
            case .done(let result): return result
            case .wouldBlock: throw .wouldBlock
            case .load(let epoch): known = (epoch, try lookupDisk(key, now: now, counting: false, mode: mode).lookup)
            }
        }
    }

    private func mutateResident<R>(
        _ key: String,
        _ slot: Int32,
        in storage: inout MemoryTierStorage,
        _ context: inout MutationContext,
        _ body: (inout CacheEntry?, inout MutationContext) throws(TieredCacheError) -> R
    ) throws(TieredCacheError) -> R {
        let current = storage.entry(at: slot)
        var value: CacheEntry? = current
        let result = try body(&value, &context)
        if var changed = value {
            changed.key = key
            if changed != current {
                storage.replace(at: slot, with: changed)
                if context.l3Written {
                    // The shared L3 has it already (fleet-wide health): only L2 follows.
                    if let l2Tier, let l2Write = l2Write(for: .put(changed), heldAt: slot, in: &storage) {
                        l2Tier.enqueue(l2Write)
                    }
                } else {
                    writeThrough(.put(changed), heldAt: slot, in: &storage)
                }
                self.changed(key)
            }
            appendHealthRecord(key, context)
        } else {
            storage.remove(at: slot)
            writeThrough(.delete(key: key))
            changed(key)
            if context.healthEviction { countHealthEviction() }
        }
        return result
    }

    private func mutateAbsent<R>(
        _ key: String,
        in storage: inout MemoryTierStorage,
        _ context: inout MutationContext,
        _ body: (inout CacheEntry?, inout MutationContext) throws(TieredCacheError) -> R
    ) throws(TieredCacheError) -> R {
        var value: CacheEntry? = nil
        let result = try body(&value, &context)
        if var created = value {
            created.key = key
            let slot = storage.insert(created)
            writeThrough(.put(created), heldAt: slot, in: &storage)
            changed(key)
            appendHealthRecord(key, context)
        }
        return result
    }

    private func appendHealthRecord(_ key: String, _ context: MutationContext) {
        guard let record = context.healthRecord, let l3Tier else { return }
        let write = StoreWrite.appendHealth(key: key, record: record, keep: configuration.healthHistoryLimit)
        guard let journal else {
            l3Tier.enqueue(write)
            return
        }
        journal.append(.write(write)) { sequence in
            l3Tier.enqueue(write, journalSequence: sequence)
            // L2 keeps no history; it holds everything up to here as soon as it holds what came before.
            l2Tier?.noteJournalSequence(sequence)
        }
    }
}

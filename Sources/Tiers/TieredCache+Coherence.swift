// Coherence with other sidecars sharing one L3: their commits drop this sidecar's copies in L1 and L2.
//
// What wins: the last commit to the shared L3. A named key is always dropped from L1 and deleted from L2 (not through
// the journal, and never from L3); the next read asks L3, which answers with this sidecar's own write of the key if L3
// does not hold it yet (queued in L3's writer, or lost by it and waiting for repair: that commit comes after the
// other sidecar's, so it is what L3 will hold), else with L3's row. Keeping such a key in L1 instead was tried: a
// write committed but not yet settled by L3's writer then kept a stale copy for good.

extension TieredCache {
    /// Figures of the coherence protocol, for INFO.
    public struct CoherenceFigures: Sendable, Equatable {
        /// Whether L3 is shared with other sidecars.
        public var shared = false
        /// Whether this sidecar is listening to the others now.
        public var listening = false
        /// Keys announced to the other sidecars.
        public var sent = 0
        /// Notifications received from the other sidecars.
        public var received = 0
        /// Keys named by them, dropped here from L1 and L2.
        public var keysDropped = 0
        /// Of those, keys this sidecar had written and L3 did not hold yet (still read from L3's writer: they win).
        public var keysKept = 0
        /// Times every local copy was dropped (start, a lost notification connection, a batch too large to list).
        public var dropsAll = 0
        /// Whether L3 answers now (false while it is disabled after failures, or its writer holds writes it could not
        /// commit).
        public var available = true
        /// Writes waiting for L3 (queued or being committed); while it is unavailable, the replay backlog.
        public var backlog = 0
        /// `Configuration.l3BacklogLimit`.
        public var backlogLimit = 0
        /// Write commands refused because the backlog was at its limit while L3 was unavailable.
        public var writesRefused = 0
        /// Sweeps of expired entries in L3 skipped because another sidecar was sweeping it.
        public var sweepsSkipped = 0
        /// Entries in the shared L3 (every sidecar's), as last counted; nil before the first count.
        public var sharedEntries: Int?
    }

    /// Why a write command must be refused now, if it must (counted): the shared L3 cannot be reached and the writes
    /// waiting for it reached `l3BacklogLimit`. One atomic load while L3 answers.
    public func writeRefusal() -> String? {
        guard let l3Tier, l3Tier.isHolding else { return nil }
        let backlog = l3Tier.pendingCount
        guard backlog >= configuration.l3BacklogLimit else { return nil }
        counters.withLockedValue { $0.writesRefused += 1 }
        return "L3 cannot be reached and \(backlog) writes wait for it (--l3-backlog-limit "
            + "\(configuration.l3BacklogLimit)): writes are refused until it answers"
    }

    /// Drops L1's and L2's copies of keys another sidecar changed in the shared L3 (counted in `coherenceFigures`).
    public func invalidate(keys: [String]) {
        var pending = 0
        for key in keys {
            let ownWrite = l1.withShard(for: key, onEvict: demote) { storage -> Bool in
                // A read that loaded the old copy without the lock must not promote it now.
                storage.epoch &+= 1
                if let slot = storage.slot(of: key) { _ = storage.remove(at: slot) }
                l2Tier?.enqueue(.delete(key: key))
                return hasLocalWriteNotInL3(key)
            }
            if ownWrite { pending += 1 }
        }
        counters.withLockedValue { counters in
            counters.coherenceKeysDropped += keys.count
            counters.coherenceKeysKept += pending
        }
    }

    /// Drops every copy in L1 and empties L2 (readers skip it until its writer has emptied it). L3 and the journal are
    /// untouched; this sidecar's writes that L3 does not hold yet are still read from L3's writer.
    public func invalidateAll() {
        l2Tier?.discardIfCache()
        for shard in l1.shards {
            shard.locked { storage in storage.epoch &+= 1 }
        }
        for key in l1.keys() {
            l1.withShard(for: key, onEvict: demote) { storage in
                guard let slot = storage.slot(of: key) else { return }
                _ = storage.remove(at: slot)
            }
        }
        counters.withLockedValue { $0.coherenceDropsAll += 1 }
    }

    /// The coherence figures (all zero, `shared` false, with an L3 of one's own).
    public var coherenceFigures: CoherenceFigures {
        guard let l3Tier, let shared = l3Tier.sharedStore else { return CoherenceFigures() }
        let counters = counters.withLockedValue { $0 }
        return CoherenceFigures(
            shared: true,
            listening: shared.isListening,
            sent: shared.invalidationsSent,
            received: shared.notificationsReceived,
            keysDropped: counters.coherenceKeysDropped,
            keysKept: counters.coherenceKeysKept,
            dropsAll: counters.coherenceDropsAll,
            available: l3Tier.isAvailable,
            backlog: l3Tier.pendingCount,
            backlogLimit: configuration.l3BacklogLimit,
            writesRefused: counters.writesRefused,
            sweepsSkipped: shared.sweepsSkipped,
            sharedEntries: shared.sharedEntries
        )
    }

    /// Whether this sidecar wrote `key` and L3 does not hold that write yet, as far as L3's writer knows (call it
    /// under the key's shard lock, where the cache queues its writes).
    func hasLocalWriteNotInL3(_ key: String) -> Bool {
        l3Tier?.hasUncommittedWrite(key) ?? false
    }
}

import Tiers

/// The cache's statistics as flat name/value pairs, for STATS and INFO's cache section.
enum CacheFigures {
    static func pairs(_ statistics: CacheStatistics) -> [(String, String)] {
        var pairs: [(String, String)] = []
        for tier in statistics.tiers {
            let prefix = tier.tier.rawValue + "_"
            pairs.append((prefix + "enabled", tier.configured && !tier.degraded ? "1" : "0"))
            pairs.append((prefix + "configured", tier.configured ? "1" : "0"))
            pairs.append((prefix + "degraded", tier.degraded ? "1" : "0"))
            pairs.append((prefix + "backend", tier.backend))
            pairs.append((prefix + "size", String(tier.size)))
            pairs.append((prefix + "hits", String(tier.hits)))
            pairs.append((prefix + "misses", String(tier.misses)))
            pairs.append((prefix + "hit_rate", FieldText.rate(tier.hitRate)))
            pairs.append((prefix + "evictions_lru", String(tier.evictionsLRU)))
            pairs.append((prefix + "evictions_ttl", String(tier.evictionsTTL)))
            pairs.append((prefix + "evictions_health", String(tier.evictionsHealth)))
            pairs.append((prefix + "evictions_corruption", String(tier.evictionsCorruption)))
            pairs.append((prefix + "disabled_count", String(tier.disabledCount)))
            pairs.append((prefix + "reenabled_count", String(tier.reenabledCount)))
            pairs.append((prefix + "recovered_corrupt_files", String(tier.recoveredCorruptFiles)))
            pairs.append((prefix + "salvaged_entries", String(tier.salvagedEntries)))
            pairs.append((prefix + "pending_writes", String(tier.pendingWrites)))
            pairs.append((prefix + "commits", String(tier.commits)))
            pairs.append((prefix + "commit_usec", String(tier.commitMicroseconds)))
            pairs.append((prefix + "slowest_commit_usec", String(tier.slowestCommitMicroseconds)))
            pairs.append((prefix + "syncs", String(tier.syncs)))
            pairs.append((prefix + "sync_usec", String(tier.syncMicroseconds)))
            pairs.append((prefix + "slowest_sync_usec", String(tier.slowestSyncMicroseconds)))
        }
        pairs.append(("promotions", String(statistics.promotions)))
        pairs.append(("demotions", String(statistics.demotions)))
        pairs.append(("overall_hit_rate", FieldText.rate(statistics.overallHitRate)))
        return pairs
    }

    /// The coherence figures of an L3 shared with other sidecars (none with an L3 of one's own), for STATS and INFO.
    static func coherencePairs(_ fleet: TieredCache.CoherenceFigures) -> [(String, String)] {
        guard fleet.shared else { return [] }
        return [
            ("l3_listening", fleet.listening ? "1" : "0"),
            ("l3_invalidations_sent", String(fleet.sent)),
            ("l3_invalidations_received", String(fleet.received)),
            ("l3_invalidated_keys", String(fleet.keysDropped)),
            ("l3_invalidated_keys_kept", String(fleet.keysKept)),
            ("l3_invalidated_all", String(fleet.dropsAll)),
            ("l3_available", fleet.available ? "1" : "0"),
            ("l3_backlog_writes", String(fleet.backlog)),
            ("l3_backlog_limit", String(fleet.backlogLimit)),
            ("l3_writes_refused", String(fleet.writesRefused)),
            ("l3_sweeps_skipped", String(fleet.sweepsSkipped)),
            ("l3_shared_entries", fleet.sharedEntries.map(String.init) ?? "0"),
        ]
    }

    /// The numeric figures again, each named `db0_<figure>` (`db0_l1_size`, `db0_l2_hits`,
    /// `db0_overall_hit_rate`), for INFO's `cachestats` section.
    ///
    /// Prometheus's redis_exporter exports only the INFO fields it knows, and any field whose name starts with
    /// `db` (as a gauge named `redis_<field>`): these names make the tiers' figures appear in its /metrics
    /// (`redis_db0_l1_size`...) without any option. `db0` because the tiers hold database 0.
    static func exporterPairs(_ statistics: CacheStatistics) -> [(String, String)] {
        pairs(statistics).compactMap { name, value in
            Double(value) == nil ? nil : ("db0_" + name, value)
        }
    }
}

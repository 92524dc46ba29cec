import Tiers

/// The text of INFO: Redis's sections that clients expect, plus the cache's own.
enum ServerInfo {
    /// The Redis version we answer as (the protocol level we follow).
    static let redisVersion = "7.0.15"
    /// cachesrvd's own version.
    static let version = "0.1.0"

    /// Every section, in Redis's order (the cache's own before the keyspace).
    static let allSections = [
        "server", "clients", "memory", "persistence", "stats", "replication", "cpu", "commandstats", "errorstats",
        "cache", "cachestats", "keyspace",
    ]
    /// What INFO without arguments (or `default`) reports: all but commandstats (as Redis) and cachestats (the
    /// cache section again, named for redis_exporter).
    static let defaultSections = allSections.filter { $0 != "commandstats" && $0 != "cachestats" }

    /// The sections named (any case; `all`, `everything` and `default` as Redis), in the standard order.
    static func report(_ server: ServerContext, sections requested: [String]) -> String {
        var wanted = Set(requested.map { $0.lowercased() })
        if wanted.isEmpty || wanted.contains("default") {
            wanted.formUnion(defaultSections)
        }
        if wanted.contains("all") || wanted.contains("everything") {
            wanted.formUnion(allSections)
        }
        let statistics = server.cache.statistics()
        var text = ""
        for section in allSections where wanted.contains(section) {
            if !text.isEmpty { text += "\r\n" }
            text += "# " + title(of: section) + "\r\n"
            for (name, value) in lines(section, server: server, statistics: statistics) {
                text += name + ":" + value + "\r\n"
            }
        }
        return text
    }

    /// Redis's section headings: the name capitalized, except `# CPU`.
    static func title(of section: String) -> String {
        section == "cpu" ? "CPU" : section.prefix(1).uppercased() + section.dropFirst()
    }

    private static func lines(
        _ section: String,
        server: ServerContext,
        statistics: CacheStatistics
    )
        -> [(String, String)]
    {
        let configuration = server.configuration
        let now = server.cache.now()
        switch section {
        case "server":
            return [
                ("redis_version", redisVersion),
                ("cachesrvd_version", version),
                ("redis_mode", "standalone"),
                ("os", ProcessFigures.osName()),
                ("arch_bits", String(MemoryLayout<Int>.size * 8)),
                ("process_id", String(server.processID)),
                ("tcp_port", "0"),
                ("unixsocket", configuration.socketPath),
                ("uptime_in_seconds", String(Int(now - server.startedAt))),
                ("uptime_in_days", String(Int(now - server.startedAt) / 86_400)),
                ("executable", "cachesrvd"),
                ("event_loop_threads", String(configuration.eventLoopThreads)),
            ]
        case "clients":
            return [
                ("connected_clients", String(server.clients.connectedCount)),
                ("cluster_connections", "0"),
                ("maxclients", String(server.clients.maxClients)),
                ("client_recent_max_input_buffer", "0"),
                ("client_recent_max_output_buffer", "0"),
                ("blocked_clients", "0"),
                ("tracking_clients", "0"),
                ("clients_in_timeout_table", "0"),
                ("watching_keys", String(server.watches.watchedKeyCount)),
                ("monitors", String(server.monitors.monitorCount)),
                ("client_query_buffer_limit", String(configuration.maxQueryBuffer)),
                ("proto_max_bulk_len", String(configuration.maxBulkLength)),
            ]
        case "memory":
            let rss = ProcessFigures.residentBytes()
            let heap = ProcessFigures.heapBytes()
            let peak = ProcessFigures.peakHeapBytes
            let system = ProcessFigures.systemMemoryBytes()
            // L1's bound stands for Redis's maxmemory: the memory past which the cache evicts (0: none).
            let maxMemory = server.cache.l1MaxMemory ?? 0
            let l1 = server.cache.l1Usage
            return [
                ("used_memory", String(heap)),
                ("used_memory_human", human(heap)),
                ("used_memory_rss", String(rss)),
                ("used_memory_rss_human", human(rss)),
                ("used_memory_peak", String(peak)),
                ("used_memory_peak_human", human(peak)),
                ("total_system_memory", String(system)),
                ("total_system_memory_human", human(system)),
                ("maxmemory", String(maxMemory)),
                ("maxmemory_human", human(maxMemory)),
                ("maxmemory_policy", "allkeys-" + configuration.cache.evictionPolicy.rawValue),
                ("mem_fragmentation_ratio", fixed(heap > 0 ? Double(rss) / Double(heap) : 0, decimals: 2)),
                ("l1_used_bytes", String(l1.bytes)),
                ("l1_used_bytes_human", human(l1.bytes)),
                ("l1_max_memory", String(maxMemory)),
                ("l1_max_memory_human", human(maxMemory)),
                ("l1_entries", String(l1.entries)),
                ("l1_max_entries", String(configuration.cache.l1MaxEntries ?? 0)),
                ("eviction_policy", configuration.cache.evictionPolicy.rawValue),
            ]
        case "persistence":
            let pending = statistics.tiers.reduce(0) { $0 + $1.pendingWrites }
            var lines: [(String, String)] = [
                ("loading", "0"),
                ("async_loading", "0"),
                ("rdb_changes_since_last_save", String(pending)),
                ("rdb_bgsave_in_progress", "0"),
                ("rdb_last_save_time", String(server.lastSave(statistics))),
                ("rdb_last_bgsave_status", statistics.tiers.contains { $0.configured && $0.degraded } ? "err" : "ok"),
                ("aof_enabled", configuration.tiers.count > 1 ? "1" : "0"),
                ("aof_rewrite_in_progress", "0"),
                ("fsync", configuration.cache.fsync.rawValue),
                ("data_dir", configuration.dataDirectory),
                ("l2_backend", configuration.tiers.contains(.l2) ? configuration.l2Backend.rawValue : "off"),
                (
                    "l3_backend",
                    !configuration.tiers.contains(.l3)
                        ? "off" : (configuration.l3Database == nil ? "sqlite" : "postgresql")
                ),
            ]
            for tier in statistics.tiers where tier.tier != .l1 {
                let state = !tier.configured ? "off" : (tier.degraded ? "degraded" : "ok")
                lines.append((tier.tier.rawValue + "_status", state))
                lines.append((tier.tier.rawValue + "_pending_writes", String(tier.pendingWrites)))
            }
            lines += CacheFigures.coherencePairs(server.cache.coherenceFigures)
            if let journal = server.cache.journal {
                let figures = journal.currentFigures
                lines += [
                    ("journal_status", journal.isIntact ? "ok" : "err"),
                    ("journal_segments", String(journal.segmentCount)),
                    ("journal_last_sequence", String(journal.lastAppendedSequence)),
                    ("journal_records_written", String(figures.records)),
                    ("journal_bytes_written", String(figures.bytes)),
                    ("journal_syncs", String(figures.syncs)),
                    ("journal_write_errors", String(figures.writeErrors)),
                    ("journal_segments_deleted", String(figures.segmentsDeleted)),
                    ("journal_replayed_records", String(figures.replayedRecords)),
                ]
            }
            return lines
        case "stats":
            let counters = server.counters.withLockedValue { $0 }
            let errors = server.commandStatistics.errorCounts.values.reduce(counters.protocolErrors, +)
            let hits = statistics.tiers.filter(\.configured).reduce(0) { $0 + $1.hits }
            // A read tries the tiers in order: a key found nowhere is a miss of the last tier.
            let misses = statistics.tiers.last(where: \.configured)?.misses ?? 0
            return [
                ("total_connections_received", String(server.clients.totalConnections)),
                ("total_commands_processed", String(counters.commandsProcessed)),
                ("rejected_connections", String(server.clients.rejectedConnections)),
                ("total_error_replies", String(errors)),
                ("total_error_replies_protocol", String(counters.protocolErrors)),
                ("commands_off_event_loop", String(counters.blockingCommands)),
                ("commands_on_bulk_lane", String(counters.bulkCommands)),
                ("rejected_peers", String(counters.refusedPeers)),
                ("expired_keys", String(statistics.tiers.reduce(0) { $0 + $1.evictionsTTL })),
                ("evicted_keys", String(statistics.tiers.first?.evictionsLRU ?? 0)),
                ("keyspace_hits", String(hits)),
                ("keyspace_misses", String(misses)),
                ("background_sweeps", String(counters.sweeps)),
                ("background_swept_entries", String(counters.expiredSwept)),
            ]
        case "replication":
            // A standalone master with no replicas, in Redis 7.0's fields (tools read role and the offsets).
            return [
                ("role", "master"),
                ("connected_slaves", "0"),
                ("master_failover_state", "no-failover"),
                ("master_replid", server.replicationID),
                ("master_replid2", String(repeating: "0", count: 40)),
                ("master_repl_offset", "0"),
                ("second_repl_offset", "-1"),
                ("repl_backlog_active", "0"),
                ("repl_backlog_size", "0"),
                ("repl_backlog_first_byte_offset", "0"),
                ("repl_backlog_histlen", "0"),
            ]
        case "cpu":
            let cpu = ProcessFigures.cpuSeconds()
            return [
                ("used_cpu_sys", fixed(cpu.system, decimals: 6)),
                ("used_cpu_user", fixed(cpu.user, decimals: 6)),
                ("used_cpu_sys_children", fixed(0, decimals: 6)),
                ("used_cpu_user_children", fixed(0, decimals: 6)),
            ]
        case "commandstats":
            return server.commandStatistics.infoLines
        case "errorstats":
            var errors = server.commandStatistics.errorCounts
            let protocolErrors = server.counters.withLockedValue { $0.protocolErrors }
            if protocolErrors > 0 { errors["ERR", default: 0] += protocolErrors }
            return errors.sorted { $0.key < $1.key }.map { ("errorstat_" + $0.key, "count=\($0.value)") }
        case "cache":
            return CacheFigures.pairs(statistics) + CacheFigures.coherencePairs(server.cache.coherenceFigures)
        case "cachestats":
            return CacheFigures.exporterPairs(statistics)
                + CacheFigures.coherencePairs(server.cache.coherenceFigures).map { ("db0_" + $0.0, $0.1) }
        case "keyspace":
            let keys = (try? server.cache.count()) ?? statistics.tiers.first?.size ?? 0
            return keys == 0 ? [] : [("db0", "keys=\(keys),expires=\(keys),avg_ttl=0")]
        default:
            return []
        }
    }

    static func human(_ bytes: Int) -> String {
        let units = ["B", "K", "M", "G", "T"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes)B" : "\((value * 100).rounded() / 100)\(units[unit])"
    }

    /// `%.Nf` for a non-negative value: `fixed(7.5, decimals: 2)` is `7.50`.
    static func fixed(_ value: Double, decimals: Int) -> String {
        var scale = 1
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int((max(0, value) * Double(scale)).rounded())
        let fraction = String(scaled % scale)
        let padding = String(repeating: "0", count: decimals - fraction.count)
        return "\(scaled / scale)" + (decimals > 0 ? "." + padding + fraction : "")
    }
}

import Tiers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The text of INFO: Redis's sections that clients expect, plus the cache's own.
enum ServerInfo {
    /// The Redis version we answer as (the protocol level we follow).
    static let redisVersion = "7.0.15"
    /// cachesrvd's own version.
    static let version = "0.1.0"

    static let defaultSections = ["server", "clients", "memory", "persistence", "stats", "cache", "keyspace"]

    /// The sections named (any case; `all`, `everything` and `default` as Redis), in the standard order.
    static func report(_ server: ServerContext, sections requested: [String]) -> String {
        var wanted = Set(requested.map { $0.lowercased() })
        if wanted.isEmpty || wanted.contains("default") || wanted.contains("all") || wanted.contains("everything") {
            wanted.formUnion(defaultSections)
        }
        let statistics = server.cache.statistics()
        var text = ""
        for section in defaultSections where wanted.contains(section) {
            if !text.isEmpty { text += "\r\n" }
            text += "# " + section.prefix(1).uppercased() + section.dropFirst() + "\r\n"
            for (name, value) in lines(section, server: server, statistics: statistics) {
                text += name + ":" + value + "\r\n"
            }
        }
        return text
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
                ("os", osName()),
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
                ("maxclients", String(configuration.maxClients)),
                ("client_query_buffer_limit", String(configuration.maxQueryBuffer)),
                ("proto_max_bulk_len", String(configuration.maxBulkLength)),
            ]
        case "memory":
            let rss = residentBytes()
            return [
                ("used_memory_rss", String(rss)),
                ("used_memory_rss_human", human(rss)),
                ("l1_max_entries", String(configuration.cache.l1MaxEntries)),
                ("eviction_policy", configuration.cache.evictionPolicy.rawValue),
            ]
        case "persistence":
            var lines: [(String, String)] = [
                ("loading", "0"),
                ("fsync", configuration.cache.fsync.rawValue),
                ("data_dir", configuration.dataDirectory),
                ("l2_backend", configuration.tiers.contains(.l2) ? configuration.l2Backend.rawValue : "off"),
            ]
            for tier in statistics.tiers where tier.tier != .l1 {
                let state = !tier.configured ? "off" : (tier.degraded ? "degraded" : "ok")
                lines.append((tier.tier.rawValue + "_status", state))
                lines.append((tier.tier.rawValue + "_pending_writes", String(tier.pendingWrites)))
            }
            return lines
        case "stats":
            let counters = server.counters.withLockedValue { $0 }
            let hits = statistics.tiers.filter(\.configured).reduce(0) { $0 + $1.hits }
            let misses = statistics.tiers.filter(\.configured).map(\.misses).max() ?? 0
            return [
                ("total_connections_received", String(server.clients.totalConnections)),
                ("total_commands_processed", String(counters.commandsProcessed)),
                ("rejected_connections", String(server.clients.rejectedConnections)),
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
        case "cache":
            return CacheFigures.pairs(statistics)
        case "keyspace":
            let keys = (try? server.cache.count()) ?? statistics.tiers.first?.size ?? 0
            return keys == 0 ? [] : [("db0", "keys=\(keys),expires=\(keys),avg_ttl=0")]
        default:
            return []
        }
    }

    private static func osName() -> String {
        var name = utsname()
        uname(&name)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
        }
        return "\(field(name.sysname)) \(field(name.release)) \(field(name.machine))"
    }

    /// Resident memory from /proc/self/statm.
    private static func residentBytes() -> Int {
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 128)
        guard fgets(&line, Int32(line.count), file) != nil else { return 0 }
        let fields = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .split(separator: " ")
        guard fields.count >= 2, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
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
}

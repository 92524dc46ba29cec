import CacheProtocol
import NIOCore
import Tiers

extension CommandTable {
    static let serverCommands: [CommandSpec] = [
        CommandSpec(
            "info",
            arity: -1,
            flags: [.readonly, .wholeCache],
            group: "server",
            syntax: "[section ...]",
            summary: "Server, clients, memory, persistence, stats, cache and keyspace figures."
        ) { call in
            let sections = (1..<call.count).map { call.string($0) }
            call.out.writeRESPBulkString(ServerInfo.report(call.server, sections: sections))
        },
        CommandSpec(
            "dbsize",
            arity: 1,
            flags: [.readonly, .wholeCache],
            group: "server",
            summary: "The number of live keys."
        ) { call in
            call.out.writeRESPInteger(try call.tier { () throws(TieredCacheError) in try call.cache.count() })
        },
        CommandSpec(
            "flushall",
            arity: -1,
            flags: [.write, .wholeCache, .bulk],
            group: "server",
            syntax: "[ASYNC | SYNC]",
            summary: "Removes every entry from every tier."
        ) { call in try flush(&call) },
        CommandSpec(
            "flushdb",
            arity: -1,
            flags: [.write, .wholeCache, .bulk],
            group: "server",
            syntax: "[ASYNC | SYNC]",
            summary: "The same as FLUSHALL (there is one database)."
        ) { call in try flush(&call) },
        CommandSpec(
            "config",
            arity: -2,
            flags: [.admin],
            group: "server",
            syntax: "GET parameter [parameter ...]",
            summary: "Reads settings (save, appendonly, maxclients, ...); settings are changed on the command line."
        ) { call in try ConfigCommand.run(&call) },
        CommandSpec(
            "command",
            arity: -1,
            flags: [.connection],
            group: "server",
            syntax: "[COUNT | LIST | INFO [name ...] | DOCS [name ...]]",
            summary: "Describes the commands, from the one table that drives dispatch."
        ) { call in try CommandCommand.run(&call) },
    ]

    private static func flush(_ call: inout CommandCall) throws {
        guard call.count <= 2 else { throw CommandError.syntax }
        if call.count == 2, !["ASYNC", "SYNC"].contains(call.option(1)) { throw CommandError.syntax }
        _ = try call.tier { () throws(TieredCacheError) in try call.cache.removeAll() }
        call.ok()
    }
}

/// CONFIG GET over the settings redis tools ask for, plus ours.
enum ConfigCommand {
    static func run(_ call: inout CommandCall) throws {
        guard call.option(1) == "GET" else {
            if call.option(1) == "SET" {
                throw CommandError("ERR CONFIG SET is not supported: cachesrvd takes its settings on the command line")
            }
            throw CommandError("ERR unknown subcommand '\(call.string(1))'. Try CONFIG HELP.")
        }
        guard call.count >= 3 else { throw CommandError.wrongArity("config|get") }
        let settings = parameters(call.server)
        var matched: [(String, String)] = []
        for index in 2..<call.count {
            let pattern = Array(call.string(index).lowercased().utf8)
            for (name, value) in settings where RedisGlob.matches(pattern, name.utf8) {
                if !matched.contains(where: { $0.0 == name }) { matched.append((name, value)) }
            }
        }
        call.out.writeRESPArrayHeader(matched.count * 2)
        for (name, value) in matched {
            call.out.writeRESPBulkString(name)
            call.out.writeRESPBulkString(value)
        }
    }

    static func parameters(_ server: ServerContext) -> [(String, String)] {
        let configuration = server.configuration
        let cache = configuration.cache
        return [
            ("save", ""),
            ("appendonly", configuration.tiers.count > 1 ? "yes" : "no"),
            ("appendfsync", cache.fsync.rawValue),
            ("databases", "1"),
            ("maxclients", String(configuration.maxClients)),
            ("proto-max-bulk-len", String(configuration.maxBulkLength)),
            ("client-query-buffer-limit", String(configuration.maxQueryBuffer)),
            ("unixsocket", configuration.socketPath),
            ("unixsocketperm", String(configuration.socketMode, radix: 8)),
            ("port", "0"),
            ("dir", configuration.dataDirectory),
            (
                "tiers",
                TierID.allCases.filter { configuration.tiers.contains($0) }.map(\.rawValue).joined(separator: ",")
            ),
            ("l1-max-entries", String(cache.l1MaxEntries)),
            ("l2-max-entries", String(cache.l2MaxEntries)),
            ("l3-max-entries", cache.l3MaxEntries.map(String.init) ?? "0"),
            ("l2-backend", configuration.l2Backend.rawValue),
            ("eviction-policy", cache.evictionPolicy.rawValue),
            ("default-ttl", String(cache.defaultTTL)),
            ("failure-threshold", String(cache.failureThreshold)),
            ("health-invalidation", cache.healthInvalidation ? "yes" : "no"),
            ("tier-failure-threshold", String(cache.tierFailureThreshold)),
            ("health-history-limit", String(cache.healthHistoryLimit)),
            ("max-custom-fields", String(cache.customFieldLimits.maxCount)),
            ("max-custom-field-size", String(cache.customFieldLimits.maxFieldSize)),
            ("cleanup-interval", FieldText.number(configuration.cleanupInterval)),
            ("max-pending-writes", String(configuration.maxPendingWrites)),
            ("bulk-command-keys", String(configuration.bulkCommandKeys)),
            ("slowlog-log-slower-than", String(configuration.slowlogSlowerThan)),
            ("slowlog-max-len", String(configuration.slowlogMaxLength)),
            ("latency-monitor-threshold", String(configuration.latencyMonitorThreshold)),
        ]
    }
}

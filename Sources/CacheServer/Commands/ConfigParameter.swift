import Tiers

/// One setting CONFIG GET shows and, when it may change while the server runs, CONFIG SET changes: declared once,
/// here, for both.
struct ConfigParameter: Sendable {
    let name: String
    let get: @Sendable (ServerContext) -> String
    /// Checks a value and returns how to apply it; nil for a setting fixed at start.
    let parse: (@Sendable (ServerContext, String) throws(ConfigValueError) -> @Sendable (ServerContext) -> Void)?

    /// Why CONFIG SET refused a value, in Redis's words (after "CONFIG SET failed (possibly related to argument
    /// 'name') - ").
    struct ConfigValueError: Error {
        let reason: String
    }

    static func fixed(_ name: String, _ get: @escaping @Sendable (ServerContext) -> String) -> ConfigParameter {
        ConfigParameter(name: name, get: get, parse: nil)
    }

    /// An integer setting within `range`.
    static func integer(
        _ name: String,
        _ range: ClosedRange<Int>,
        get: @escaping @Sendable (ServerContext) -> Int,
        set: @escaping @Sendable (ServerContext, Int) -> Void
    ) -> ConfigParameter {
        ConfigParameter(name: name, get: { String(get($0)) }) { _, text throws(ConfigValueError) in
            guard let value = RedisNumber.parseInteger(text.utf8) else {
                throw ConfigValueError(reason: "argument couldn't be parsed into an integer")
            }
            guard range.contains(value) else {
                throw ConfigValueError(
                    reason: "argument must be between \(range.lowerBound) and \(range.upperBound) inclusive"
                )
            }
            return { server in set(server, value) }
        }
    }

    /// A yes/no setting.
    static func boolean(
        _ name: String,
        get: @escaping @Sendable (ServerContext) -> Bool,
        set: @escaping @Sendable (ServerContext, Bool) -> Void
    ) -> ConfigParameter {
        ConfigParameter(name: name, get: { get($0) ? "yes" : "no" }) { _, text throws(ConfigValueError) in
            switch text.lowercased() {
            case "yes": return { server in set(server, true) }
            case "no": return { server in set(server, false) }
            default: throw ConfigValueError(reason: "argument must be 'yes' or 'no'")
            }
        }
    }

    /// L1's memory bound (`--l1-max-memory`), in bytes; CONFIG SET takes Redis's sizes (`512mb`, `1gb`, 0 for
    /// none) and evicts down to a lower bound at once.
    static func memory(_ name: String) -> ConfigParameter {
        ConfigParameter(name: name, get: { String($0.cache.l1MaxMemory ?? 0) }) { _, text throws(ConfigValueError) in
            guard let bytes = MemoryTier.parseMemorySize(text) else {
                throw ConfigValueError(reason: "argument must be a memory value")
            }
            return { server in server.cache.changeL1MaxMemory(to: bytes == 0 ? nil : bytes) }
        }
    }

    /// Every setting, in the order CONFIG GET * lists them.
    static let all: [ConfigParameter] = [
        .fixed("save") { _ in "" },
        .fixed("appendonly") { $0.configuration.tiers.count > 1 ? "yes" : "no" },
        .fixed("appendfsync") { $0.configuration.cache.fsync.rawValue },
        .fixed("databases") { _ in "1" },
        .integer(
            "maxclients",
            1...1_000_000,
            get: { $0.clients.maxClients },
            // Never above what the open-file limit allowed at start.
            set: { server, value in server.clients.maxClients = min(value, server.configuration.maxClients) }
        ),
        .fixed("proto-max-bulk-len") { String($0.configuration.maxBulkLength) },
        .fixed("client-query-buffer-limit") { String($0.configuration.maxQueryBuffer) },
        .fixed("unixsocket") { $0.configuration.socketPath },
        .fixed("unixsocketperm") { String($0.configuration.socketMode, radix: 8) },
        .fixed("port") { _ in "0" },
        .fixed("dir") { $0.configuration.dataDirectory },
        .fixed("tiers") { server in
            TierID.allCases.filter { server.configuration.tiers.contains($0) }.map(\.rawValue).joined(separator: ",")
        },
        .fixed("l1-max-entries") { String($0.configuration.cache.l1MaxEntries ?? 0) },
        .memory("l1-max-memory"),
        // Redis's names for the same bound, read by redis-cli, redis_exporter and other tools.
        .memory("maxmemory"),
        .fixed("maxmemory-policy") { "allkeys-" + $0.configuration.cache.evictionPolicy.rawValue },
        .fixed("l2-max-entries") { String($0.configuration.cache.l2MaxEntries) },
        .fixed("l2-mode") { $0.configuration.cache.l2Mode.rawValue },
        .fixed("l3-max-entries") { $0.configuration.cache.l3MaxEntries.map(String.init) ?? "0" },
        .fixed("l2-backend") { $0.configuration.l2Backend.rawValue },
        .fixed("eviction-policy") { $0.configuration.cache.evictionPolicy.rawValue },
        .integer(
            "default-ttl",
            0...CacheEntry.longestTTL,
            get: { $0.cache.policy.defaultTTL },
            set: { server, value in server.cache.policy.defaultTTL = value }
        ),
        .integer(
            "failure-threshold",
            1...1_000_000,
            get: { $0.cache.policy.failureThreshold },
            set: { server, value in server.cache.policy.failureThreshold = value }
        ),
        .boolean(
            "health-invalidation",
            get: { $0.cache.policy.healthInvalidation },
            set: { server, value in server.cache.policy.healthInvalidation = value }
        ),
        .fixed("max-custom-fields") { String($0.configuration.cache.customFieldLimits.maxCount) },
        .fixed("max-custom-field-size") { String($0.configuration.cache.customFieldLimits.maxFieldSize) },
        ConfigParameter(
            name: "loglevel",
            get: { server in
                LogLevelNames.redis(server.configuration.logLevel?.current() ?? .info)
            }
        ) { server, text throws(ConfigValueError) in
            guard let control = server.configuration.logLevel else {
                throw ConfigValueError(reason: "can't set immutable config")
            }
            guard let level = LogLevelNames.level(redisName: text) else {
                throw ConfigValueError(
                    reason: "argument(s) must be one of the following: debug, verbose, notice, warning"
                )
            }
            return { _ in control.change(level) }
        },
        .fixed("tier-failure-threshold") { String($0.configuration.cache.tierFailureThreshold) },
        .fixed("health-history-limit") { String($0.configuration.cache.healthHistoryLimit) },
        .fixed("cleanup-interval") { FieldText.number($0.configuration.cleanupInterval) },
        .integer(
            "max-pending-writes",
            1...100_000_000,
            get: { $0.live.maxPendingWrites },
            set: { server, value in server.live.maxPendingWrites = value }
        ),
        .integer(
            "bulk-command-keys",
            1...1_000_000,
            get: { $0.live.bulkCommandKeys },
            set: { server, value in server.live.bulkCommandKeys = value }
        ),
        .integer(
            "slowlog-log-slower-than",
            -1...Int(Int64.max),
            get: { $0.slowLog.slowerThan },
            set: { server, value in server.slowLog.slowerThan = value }
        ),
        .integer(
            "slowlog-max-len",
            0...Int.max,
            get: { $0.slowLog.maxLength },
            set: { server, value in server.slowLog.maxLength = value }
        ),
        .integer(
            "latency-monitor-threshold",
            0...Int(Int64.max),
            get: { $0.latency.threshold },
            set: { server, value in server.latency.threshold = value }
        ),
    ]
}

import ArgumentParser
import CacheServer
import Foundation
import Logging
import PostgresTier
import Tiers

#if canImport(Glibc)
import Glibc
#endif

/// The settings of `cachesrvd serve`, one option per `ServerConfiguration` field.
struct ServeOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "A configuration file: one setting per line, an option's name without dashes and its value.",
            discussion: "Options given on the command line win. SIGHUP reloads the file.",
            valueName: "file"
        )
    )
    var config: String?

    @Option(
        help:
            "Unix socket path. Default: $CACHESRVD_SOCKET, else $XDG_RUNTIME_DIR/cachesrvd.sock, else /run/user/<uid>/cachesrvd.sock when private, else /tmp/cachesrvd-<uid>/cachesrvd.sock (a 0700 directory)."
    )
    var socket: String?

    @Option(help: "Socket file permissions (octal), applied through the umask at bind.")
    var socketMode: String = "600"

    @Option(
        help:
            "Where L2 and L3 live. Default: $CACHESRVD_DATA_DIR, else $XDG_STATE_HOME/cachesrvd, else ~/.local/state/cachesrvd."
    )
    var dataDir: String?

    @Option(help: "Tiers to run, comma-separated (l1 always runs): l1 | l1,l2 | l1,l3 | l1,l2,l3.")
    var tiers: String = "l1,l2,l3"

    @Option(help: "L2 backend: sqlite (l2_cache.db) or jsonl (16 shard files).")
    var l2Backend: ServerConfiguration.L2Backend = .sqlite

    @Option(
        help:
            "L1 capacity, entries; 0: no bound by count (the default: --l1-max-memory bounds L1, as Redis's maxmemory does)."
    )
    var l1MaxEntries: Int = 0

    @Option(
        help: ArgumentHelp(
            "L1's bound on its entries' estimated bytes, as Redis's maxmemory: L1 evicts with the eviction policy past it; 0: no bound.",
            discussion:
                "Bytes, or a number with a unit (case-insensitive): b; k, m, g (powers of 1000); kb, mb, gb (powers of 1024). E.g. 512mb, 1gb. Default: a quarter of physical memory, or of the cgroup's memory limit when that is lower (at least 64mb).",
            valueName: "bytes"
        )
    )
    var l1MaxMemory: String?

    @Option(help: "L2 capacity, entries.")
    var l2MaxEntries: Int = 5000

    @Option(
        help: ArgumentHelp(
            "What L2 holds when L3 is below it: victim or write-through.",
            discussion:
                "victim (the default): what L1 evicts; a write of a key L1 holds goes to L3 alone. write-through: every write, as proxywhirl does (twice the disk writes). Without L3, L2 takes every write either way."
        )
    )
    var l2Mode: L2Mode = .victim

    @Option(help: "L3 capacity, entries (0: unbounded).")
    var l3MaxEntries: Int = 0

    @OptionGroup var l3Url: L3URLOption

    @Option(help: "Which entry a full tier evicts: lru, lfu or fifo.")
    var evictionPolicy: EvictionPolicy = .lru

    @Option(
        help:
            "TTL the cache verbs (PUT, cachectl put and warm) give an entry that brings none, seconds; 0: none. SET, MSET and HSET keep a key until it is deleted, as Redis does."
    )
    var defaultTTL: Int = 3600

    @Option(help: "TTL for one source, SOURCE=SECONDS (repeatable); applies when an entry gives no TTL.")
    var sourceTTL: [String] = []

    @Option(help: "Consecutive health failures that remove an entry.")
    var failureThreshold: Int = 3

    @Flag(help: "Keep entries however often their health checks fail.")
    var noHealthInvalidation = false

    @Option(help: "Consecutive failed operations that disable a disk tier until it works again.")
    var tierFailureThreshold: Int = 3

    @Option(help: "Health checks kept per key in L3's history.")
    var healthHistoryLimit: Int = 100

    @Option(help: "Most custom fields (HSET of a field outside the schema) one entry may hold.")
    var maxCustomFields: Int = 64

    @Option(help: "Most bytes of name plus value one custom field may take.")
    var maxCustomFieldSize: Int = 8192

    @Option(help: "When disk writes are synced: always (group commit), everysec or no.")
    var fsync: FsyncPolicy = .everysec

    @Option(help: "Writes a disk tier may have queued before writing clients wait for it to catch up.")
    var maxPendingWrites: Int = 1_000_000

    @Option(
        help:
            "Size at which the journal (the disk tiers' durability point) starts a new segment file, like --l1-max-memory (e.g. 64mb)."
    )
    var journalSegmentSize: String = "64mb"

    @Option(
        help:
            "Seconds a journaled write may wait before the disk writers apply it to L2 and L3 (writes of a key within it become one row write)."
    )
    var journalApplyDelay: Double = 1

    @Option(
        help:
            "With --l3-url: seconds a journaled write may wait before it is committed to the shared PostgreSQL L3, which is when the other sidecars learn of it."
    )
    var fleetApplyDelay: Double = 0.005

    @Option(
        help:
            "With --l3-url: the most writes that may wait in the journal for PostgreSQL while it cannot be reached; beyond it write commands are refused (IOERR) until it answers."
    )
    var l3BacklogLimit: Int = 100_000

    @Option(
        help:
            "With --l3-url: seconds a PostgreSQL statement may run (its statement_timeout); a connection silent for 2 s more is closed and L3 counts a failure."
    )
    var l3Timeout: Double = 5

    @Option(
        help: "Commands naming more keys than this run one at a time on the bulk lane, never holding every disk thread."
    )
    var bulkCommandKeys: Int = 64

    @Flag(
        inversion: .prefixedNo,
        help:
            "Read L2 and L3 on the event loop when they are SQLite files of this host (an L1 miss then waits for no other thread); with --no-event-loop-disk-reads every L1 miss is read on a blocking thread."
    )
    var eventLoopDiskReads = true

    @Option(help: "Seconds between background sweeps of expired entries (0: off).")
    var cleanupInterval: Double = 60

    @Option(
        help:
            "File holding the credential encryption key (URL-safe base64 of 32 bytes; owner-only, chmod 600). Default: $CACHESRVD_ENCRYPTION_KEY, else <data-dir>/encryption.key, made on first start."
    )
    var keyFile: String?

    @Option(help: "Most clients connected at once (lowered at start to what the open-file limit allows).")
    var maxClients: Int = 10_000

    @Option(
        name: .customLong("allow-uid"),
        help: ArgumentHelp(
            "A user (name or uid) allowed to connect besides the server's own user and root (repeatable).",
            valueName: "user"
        )
    )
    var allowUID: [String] = []

    @Option(
        name: .customLong("allow-gid"),
        help: ArgumentHelp(
            "A group (name or gid): peers whose primary group it is may connect (repeatable). Default: none.",
            valueName: "group"
        )
    )
    var allowGID: [String] = []

    @Option(
        help: ArgumentHelp(
            "A file holding the password clients give with AUTH or HELLO (Redis's requirepass); owner-only mode.",
            valueName: "file"
        )
    )
    var requirepassFile: String?

    @Option(help: "Largest bulk argument, bytes.")
    var protoMaxBulkLen: Int = 512 * 1024 * 1024

    @Option(help: "Most arguments in one request.")
    var maxArguments: Int = 1024 * 1024

    @Option(help: "Most unparsed request bytes buffered per client before it is disconnected.")
    var clientQueryBufferLimit: Int = 1024 * 1024 * 1024

    @Option(help: "Event loop threads (default: half the cores, at least 1).")
    var threads: Int = ServeOptions.defaultThreads

    /// Half the cores: the journal and the disk writers need a core of their own, and so do the clients of a
    /// sidecar on the same host. On two cores a second event loop doubled pipelined throughput but made p99
    /// latency five to ten times redis-server's, as three busy threads took turns on two cores (docs/benchmarks.md).
    static let defaultThreads = max(1, ProcessInfo.processInfo.activeProcessorCount / 2)

    @Option(help: "Log commands in SLOWLOG that run at least this long, microseconds (negative: none, 0: all).")
    var slowlogLogSlowerThan: Int = 10_000

    @Option(help: "Most entries SLOWLOG keeps.")
    var slowlogMaxLen: Int = 128

    @Option(help: "Record latencies for LATENCY that reach this many milliseconds (0: off).")
    var latencyMonitorThreshold: Int = 0

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(help: ArgumentHelp("Log to this file instead of stderr; SIGHUP and SIGUSR1 reopen it.", valueName: "file"))
    var logFile: String?

    func validate() throws {
        _ = try parsedTiers()
        _ = try parsedSourceTTLs()
        _ = try parsedSocketMode()
        if l1MaxEntries < 0 { throw ValidationError("--l1-max-entries must be 0 (no bound by count) or more") }
        _ = try parsedL1MaxMemory()
        if l2MaxEntries < 1 { throw ValidationError("--l2-max-entries must be at least 1") }
        if l3MaxEntries < 0 { throw ValidationError("--l3-max-entries must be 0 (unbounded) or more") }
        if defaultTTL < 0 { throw ValidationError("--default-ttl must be 0 (no default) or more seconds") }
        if failureThreshold < 1 { throw ValidationError("--failure-threshold must be at least 1") }
        if tierFailureThreshold < 1 { throw ValidationError("--tier-failure-threshold must be at least 1") }
        if healthHistoryLimit < 1 { throw ValidationError("--health-history-limit must be at least 1") }
        if maxCustomFields < 0 { throw ValidationError("--max-custom-fields must be 0 (none allowed) or more") }
        if maxCustomFieldSize < 1 { throw ValidationError("--max-custom-field-size must be at least 1") }
        if cleanupInterval < 0 { throw ValidationError("--cleanup-interval must be 0 (off) or more") }
        if maxPendingWrites < 1 { throw ValidationError("--max-pending-writes must be at least 1") }
        _ = try parsedJournalSegmentSize()
        if !(journalApplyDelay >= 0 && journalApplyDelay <= 60) {
            throw ValidationError("--journal-apply-delay must be between 0 and 60 seconds")
        }
        if !(fleetApplyDelay >= 0 && fleetApplyDelay <= 60) {
            throw ValidationError("--fleet-apply-delay must be between 0 and 60 seconds")
        }
        if l3BacklogLimit < 1 { throw ValidationError("--l3-backlog-limit must be at least 1") }
        if !(l3Timeout >= 0.1 && l3Timeout <= 3600) {
            throw ValidationError("--l3-timeout must be between 0.1 and 3600 seconds")
        }
        if bulkCommandKeys < 1 { throw ValidationError("--bulk-command-keys must be at least 1") }
        if maxClients < 1 { throw ValidationError("--max-clients must be at least 1") }
        if protoMaxBulkLen < 1 { throw ValidationError("--proto-max-bulk-len must be at least 1") }
        if maxArguments < 1 { throw ValidationError("--max-arguments must be at least 1") }
        if clientQueryBufferLimit < 1024 { throw ValidationError("--client-query-buffer-limit must be at least 1024") }
        if slowlogMaxLen < 0 { throw ValidationError("--slowlog-max-len must be 0 or more") }
        if latencyMonitorThreshold < 0 {
            throw ValidationError("--latency-monitor-threshold must be 0 (off) or more milliseconds")
        }
        if threads < 1 || threads > 64 { throw ValidationError("--threads must be between 1 and 64") }
        _ = try parsedAllowedUIDs()
        _ = try parsedAllowedGIDs()
        if Logger.Level(rawValue: logLevel.lowercased()) == nil {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func parsedTiers() throws -> Set<TierID> {
        var tiers: Set<TierID> = [.l1]
        for name in self.tiers.split(separator: ",") {
            guard let tier = TierID(rawValue: name.trimmingWhitespace().lowercased()) else {
                throw ValidationError("--tiers takes l1, l2 and l3, comma-separated; got '\(name)'")
            }
            tiers.insert(tier)
        }
        return tiers
    }

    /// `--journal-segment-size` in bytes: at least 64 KiB.
    func parsedJournalSegmentSize() throws -> Int {
        guard let bytes = MemoryTier.parseMemorySize(journalSegmentSize), bytes >= 65536 else {
            throw ValidationError(
                "--journal-segment-size takes bytes or a number with a unit b, k, kb, m, mb, g or gb, at least 64kb; got '\(journalSegmentSize)'"
            )
        }
        return bytes
    }

    /// `--l1-max-memory`: the bound in bytes, nil for none (0); the machine's default when not given.
    func parsedL1MaxMemory() throws -> Int? {
        guard let l1MaxMemory else { return MemoryTier.defaultMaxMemory }
        guard let bytes = MemoryTier.parseMemorySize(l1MaxMemory) else {
            throw ValidationError(
                "--l1-max-memory takes bytes or a number with a unit b, k, kb, m, mb, g or gb (e.g. 512mb, 1gb; 0: no bound); got '\(l1MaxMemory)'"
            )
        }
        return bytes == 0 ? nil : bytes
    }

    func parsedSourceTTLs() throws -> [String: Int] {
        var ttls: [String: Int] = [:]
        for item in sourceTTL {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty, let seconds = Int(parts[1]), seconds >= 1 else {
                throw ValidationError("--source-ttl takes SOURCE=SECONDS with SECONDS >= 1; got '\(item)'")
            }
            ttls[String(parts[0])] = seconds
        }
        return ttls
    }

    /// `--allow-uid`: names or numbers, always with the server's own user and root (who own the socket anyway).
    func parsedAllowedUIDs() throws -> Set<UInt32> {
        Set([UInt32(getuid()), 0]).union(
            try allowUID.map { name in
                if let uid = UInt32(name) { return uid }
                guard let entry = getpwnam(name) else { throw ValidationError("--allow-uid: no such user '\(name)'") }
                return entry.pointee.pw_uid
            }
        )
    }

    /// `--allow-gid`: names or numbers.
    func parsedAllowedGIDs() throws -> Set<UInt32> {
        Set(
            try allowGID.map { name in
                if let gid = UInt32(name) { return gid }
                guard let entry = getgrnam(name) else { throw ValidationError("--allow-gid: no such group '\(name)'") }
                return entry.pointee.gr_gid
            }
        )
    }

    func parsedSocketMode() throws -> UInt32 {
        guard let mode = UInt32(socketMode, radix: 8), mode <= 0o777, mode & 0o600 == 0o600 else {
            throw ValidationError(
                "--socket-mode takes octal permissions that include owner read/write, e.g. 600 or 660"
            )
        }
        return mode
    }
}

extension Substring {
    func trimmingWhitespace() -> String {
        String(self.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}

extension EvictionPolicy: ExpressibleByArgument {}
extension L2Mode: ExpressibleByArgument {}
extension FsyncPolicy: ExpressibleByArgument {}
extension ServerConfiguration.L2Backend: ExpressibleByArgument {}

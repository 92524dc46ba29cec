import Logging
import PostgresTier
import Tiers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Settings of a cachesrvd server. Every limit is a named setting with a default.
public struct ServerConfiguration: Sendable {
    /// The Unix socket path (`--socket`).
    public var socketPath: String
    /// A listening socket inherited from the service manager (socket activation); `socketPath` is then only a name
    /// and the socket file is the manager's: never created, replaced or removed by the server.
    public var inheritedListener: Int32? = nil
    /// Where readiness, shutdown and watchdog pings go (`NOTIFY_SOCKET`); does nothing when not set.
    public var notifier = SystemdNotifier(environment: [:])
    /// Permission bits of the socket file (`--socket-mode`), applied through the umask at bind so the socket is
    /// never briefly more open than this.
    public var socketMode: UInt32 = 0o600
    /// Where the disk tiers live (`--data-dir`).
    public var dataDirectory: String
    /// Which tiers run (`--tiers`); L1 always runs.
    public var tiers: Set<TierID> = [.l1, .l2, .l3]
    /// The L2 backend (`--l2-backend`).
    public var l2Backend: L2Backend = .sqlite
    /// The PostgreSQL database that holds L3 (`--l3-url`, `CACHESRVD_L3_URL`); nil keeps L3 in the SQLite file
    /// `<data-dir>/cachesrvd.db`. Its `description` masks the password.
    public var l3Database: PostgresURL? = nil
    /// Seconds a statement of the PostgreSQL L3 may run (`--l3-timeout`), see `PostgresStore.Configuration.timeout`.
    public var l3Timeout: Double = 5
    /// A file holding the credential encryption key (`--key-file`).
    public var keyFile: String? = nil
    /// Who may connect and the password they must give (`--allow-uid`, `--allow-gid`, `--requirepass-file`).
    /// By default only the server's own user and root may connect, and no password is asked.
    public var access = AccessControl.Settings(allowedUIDs: [UInt32(getuid()), 0])
    /// The most clients connected at once (`--max-clients`).
    public var maxClients: Int = 10_000
    /// The longest inline request line, bytes (Redis's 64 KiB).
    public var maxInlineLength: Int = 64 * 1024
    /// The largest bulk argument, bytes (`--proto-max-bulk-len`, Redis's 512 MB).
    public var maxBulkLength: Int = 512 * 1024 * 1024
    /// The most arguments in one request (`--max-arguments`).
    public var maxArguments: Int = 1024 * 1024
    /// The most bytes of unparsed requests buffered for one client (`--client-query-buffer-limit`); past it the
    /// client is disconnected.
    public var maxQueryBuffer: Int = 1024 * 1024 * 1024
    /// Replies buffered for a client before the server stops reading its requests until it catches up
    /// (`--client-output-buffer-limit`).
    public var outputBufferHighWater: Int = 1024 * 1024
    /// Writes a disk tier's writer may have queued before clients that write wait for it to catch up
    /// (`--max-pending-writes`).
    public var maxPendingWrites: Int = 1_000_000
    /// A command naming more keys than this runs on the bulk lane, one at a time, so that a few clients deleting
    /// or reading huge key lists cannot hold every disk thread (`--bulk-command-keys`).
    public var bulkCommandKeys: Int = 64
    /// Whether an event loop reads L2 and L3 itself when every disk tier answers without waiting (SQLite files of
    /// this host), instead of handing each L1 miss to a blocking thread and back (`--no-event-loop-disk-reads`
    /// turns it off).
    public var eventLoopDiskReads: Bool = true
    /// How often expired entries are swept in the background, seconds; 0 disables (`--cleanup-interval`).
    public var cleanupInterval: Double = 60
    /// Event loop threads (`--threads`).
    public var eventLoopThreads: Int = 2
    /// How long a graceful shutdown waits for clients to finish commands in flight, seconds.
    public var shutdownGracePeriod: Double = 10
    /// Commands that run at least this long are logged in SLOWLOG, microseconds; negative logs none, 0 logs every
    /// command (`--slowlog-log-slower-than`, Redis's `slowlog-log-slower-than`).
    public var slowlogSlowerThan: Int = 10_000
    /// The most entries SLOWLOG keeps (`--slowlog-max-len`).
    public var slowlogMaxLength: Int = 128
    /// Latencies at least this long are recorded for LATENCY, milliseconds; 0 turns the monitor off
    /// (`--latency-monitor-threshold`).
    public var latencyMonitorThreshold: Int = 0
    /// The tiered cache's settings.
    public var cache: TieredCache.Configuration = .init()
    /// The log level as the process keeps it, for CONFIG GET/SET `loglevel`; nil when the server does not own its
    /// logging (tests).
    public var logLevel: LogLevelControl? = nil

    /// Reads and changes the process's log level.
    public struct LogLevelControl: Sendable {
        public var current: @Sendable () -> Logger.Level
        public var change: @Sendable (Logger.Level) -> Void

        public init(current: @escaping @Sendable () -> Logger.Level, change: @escaping @Sendable (Logger.Level) -> Void)
        {
            self.current = current
            self.change = change
        }
    }

    /// The L2 backend.
    public enum L2Backend: String, Sendable, CaseIterable {
        case sqlite
        case jsonl
    }

    public init(socketPath: String, dataDirectory: String) {
        self.socketPath = socketPath
        self.dataDirectory = dataDirectory
    }
}

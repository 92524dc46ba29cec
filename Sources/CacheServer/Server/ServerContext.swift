import Dispatch
import NIOConcurrencyHelpers
import Tiers

/// What every connection shares: the cache, the settings, the command table, the clients and the counters.
final class ServerContext: Sendable {
    let configuration: ServerConfiguration
    let cache: TieredCache
    let commands: CommandTable
    let clients: ClientRegistry
    /// Who may connect and whether they must authenticate (reloadable).
    let access: AccessControl
    let startedAt: Double
    let processID: Int32
    /// The bulk lane: commands over many keys or the whole cache (`CommandFlags.bulk`, more than
    /// `bulkCommandKeys` keys, the background sweep) run here one at a time, so they can take at most one thread
    /// from the disk commands of other clients, which keep the shared blocking pool.
    let bulkLane = DispatchQueue(label: "cachesrvd.bulk", qos: .utility)
    /// Server-wide counters that INFO reports.
    let counters = NIOLockedValueBox(Counters())
    /// Per-command and per-error figures (INFO commandstats, errorstats).
    let commandStatistics: CommandStatistics
    /// SLOWLOG.
    let slowLog: SlowLog
    /// LATENCY.
    let latency: LatencyMonitor
    /// Keeps EXEC isolated from every other command.
    let gate = TransactionGate()
    /// WATCH.
    let watches: WatchRegistry
    /// MONITOR.
    let monitors: MonitorFeed
    /// Limits CONFIG SET may change.
    let live: LiveSettings
    /// How a request runs on an event loop: reading the disk tiers that answer without waiting
    /// (`ServerConfiguration.eventLoopDiskReads`), or memory only.
    let eventLoopMode: IOMode
    /// INFO replication's `master_replid`: 40 random hex digits, new at every start, as Redis makes it.
    let replicationID = String((0..<40).map { _ in "0123456789abcdef".randomElement()! })

    struct Counters: Sendable {
        var commandsProcessed = 0
        var protocolErrors = 0
        /// Connections refused by --allow-uid/--allow-gid.
        var refusedPeers = 0
        /// Refusals since the last one logged, and when that was (refusals are logged at most once a second).
        var refusedSinceLogged = 0
        var refusalLoggedAt = -Double.infinity
        var blockingCommands = 0
        /// Of those, the ones that ran on the bulk lane.
        var bulkCommands = 0
        var expiredSwept = 0
        var sweeps = 0
    }

    init(configuration: ServerConfiguration, cache: TieredCache, processID: Int32) {
        self.configuration = configuration
        self.cache = cache
        self.commands = CommandTable.standard
        self.commandStatistics = CommandStatistics(table: commands)
        self.slowLog = SlowLog(slowerThan: configuration.slowlogSlowerThan, maxLength: configuration.slowlogMaxLength)
        self.latency = LatencyMonitor(threshold: configuration.latencyMonitorThreshold)
        self.clients = ClientRegistry(maxClients: configuration.maxClients)
        self.access = AccessControl(configuration.access)
        self.monitors = MonitorFeed(socketPath: configuration.socketPath)
        // Not the cache itself: the cache holds the registry through its change observer, and a weak reference
        // would give the cache a side table (every retain and release of it, one per command, on the slow path).
        let interest = cache.changeInterest
        self.watches = WatchRegistry(beforeFirstWatch: { interest.want() })
        self.live = LiveSettings(configuration)
        self.eventLoopMode = configuration.eventLoopDiskReads ? .localReads : .memoryOnly
        let watches = self.watches
        cache.observeChanges { key in watches.touch(CollectionOfOne(key)) }
        self.startedAt = cache.now()
        self.processID = processID
    }
}

extension ServerContext {
    /// CONFIG RESETSTAT: the figures INFO counts since start (commands, errors, refused peers, protocol errors,
    /// commandstats, errorstats) start again from zero. The cache's own hit and miss counts are kept.
    func resetStatistics() {
        commandStatistics.reset()
        counters.withLockedValue { counters in
            counters.commandsProcessed = 0
            counters.protocolErrors = 0
            counters.refusedPeers = 0
            counters.blockingCommands = 0
            counters.bulkCommands = 0
            counters.expiredSwept = 0
            counters.sweeps = 0
        }
    }
}

extension ServerContext {
    /// LASTSAVE and INFO's `rdb_last_save_time`: the Unix time of the last commit of a disk tier, or of the
    /// server's start when none committed yet.
    func lastSave(_ statistics: CacheStatistics) -> Int {
        // The journal is where a write becomes durable: its last write to disk counts as a save too.
        let journaled = cache.journal?.currentFigures.lastWriteTime
        let committed = (statistics.tiers.compactMap(\.lastCommitTime) + [journaled].compactMap { $0 }).max()
        return Int((committed ?? startedAt).rounded(.down))
    }
}

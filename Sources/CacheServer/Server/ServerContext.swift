import NIOConcurrencyHelpers
import Tiers

/// What every connection shares: the cache, the settings, the command table, the clients and the counters.
final class ServerContext: Sendable {
    let configuration: ServerConfiguration
    let cache: TieredCache
    let commands: CommandTable
    let clients: ClientRegistry
    let startedAt: Double
    let processID: Int32
    /// Server-wide counters that INFO reports.
    let counters = NIOLockedValueBox(Counters())
    /// Per-command and per-error figures (INFO commandstats, errorstats).
    let commandStatistics: CommandStatistics
    /// SLOWLOG.
    let slowLog: SlowLog
    /// LATENCY.
    let latency: LatencyMonitor

    struct Counters: Sendable {
        var commandsProcessed = 0
        var protocolErrors = 0
        var blockingCommands = 0
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
        self.startedAt = cache.now()
        self.processID = processID
    }
}

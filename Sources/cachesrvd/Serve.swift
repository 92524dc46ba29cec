import ArgumentParser
import CacheServer
import Foundation
import Logging
import ServiceLifecycle
import Tiers

/// `cachesrvd serve`: runs the server until SIGTERM/SIGINT.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server (the default).")

    @OptionGroup var options: ServeOptions

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let level = Logger.Level(rawValue: options.logLevel.lowercased()) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "cachesrvd")
        // Applied before anything else allocates much; evaluated outside the log call, whose message is lazy.
        let malloc = MallocTuning.apply(environment: environment)
        logger.debug("\(malloc)")
        let configuration = try options.makeConfiguration(environment: environment)
        let cache: TieredCache
        do {
            cache = try TierFactory.makeCache(configuration, environment: environment, logger: logger)
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
        let server = CacheServer(configuration: configuration, cache: cache, logger: logger)
        // The server binds inside the group, after SIGTERM/SIGINT are trapped.
        let group = ServiceGroup(
            configuration: .init(
                services: [server],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch let error as ServerStartupError {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
    }
}

extension ServeOptions {
    func makeConfiguration(environment: [String: String]) throws -> ServerConfiguration {
        var configuration = ServerConfiguration(
            socketPath: socket ?? SocketPath.defaultPath(environment: environment),
            dataDirectory: dataDir ?? Self.defaultDataDirectory(environment: environment)
        )
        configuration.socketMode = try parsedSocketMode()
        configuration.tiers = try parsedTiers()
        configuration.l2Backend = l2Backend
        configuration.keyFile = keyFile
        configuration.maxClients = maxClients
        configuration.maxBulkLength = protoMaxBulkLen
        configuration.maxArguments = maxArguments
        configuration.maxQueryBuffer = clientQueryBufferLimit
        configuration.cleanupInterval = cleanupInterval
        configuration.maxPendingWrites = maxPendingWrites
        configuration.eventLoopThreads = threads
        configuration.cache.l1MaxEntries = l1MaxEntries
        configuration.cache.l2MaxEntries = l2MaxEntries
        configuration.cache.l3MaxEntries = l3MaxEntries == 0 ? nil : l3MaxEntries
        configuration.cache.evictionPolicy = evictionPolicy
        configuration.cache.defaultTTL = defaultTTL
        configuration.cache.sourceTTLs = try parsedSourceTTLs()
        configuration.cache.failureThreshold = failureThreshold
        configuration.cache.healthInvalidation = !noHealthInvalidation
        configuration.cache.tierFailureThreshold = tierFailureThreshold
        configuration.cache.healthHistoryLimit = healthHistoryLimit
        configuration.cache.fsync = fsync
        return configuration
    }

    /// `$CACHESRVD_DATA_DIR`, else `$XDG_STATE_HOME/cachesrvd`, else `~/.local/state/cachesrvd`.
    static func defaultDataDirectory(environment: [String: String]) -> String {
        if let explicit = environment["CACHESRVD_DATA_DIR"], !explicit.isEmpty { return explicit }
        if let state = environment["XDG_STATE_HOME"], !state.isEmpty { return state + "/cachesrvd" }
        if let home = environment["HOME"], !home.isEmpty { return home + "/.local/state/cachesrvd" }
        return "/tmp/cachesrvd-\(getuid())-data"
    }
}

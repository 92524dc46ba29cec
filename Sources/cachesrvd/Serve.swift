import ArgumentParser
import CacheServer
import Foundation
import LocalSocket
import Logging
import ServiceLifecycle
import Tiers
import UnixSignals

/// `cachesrvd serve`: runs the server until SIGTERM/SIGINT; SIGHUP reloads, SIGUSR1 reopens the log file.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server (the default).",
        discussion: """
            SIGTERM or SIGINT: stop accepting, finish the commands in flight, drain the disk writers, exit. \
            SIGHUP: reload --config (log level and file, --allow-uid/--allow-gid, --requirepass-file; other \
            settings need a restart and a reload says so) and reopen the log file. SIGUSR1: reopen the log file. \
            Under systemd: socket activation (LISTEN_FDS) and sd_notify (READY, STOPPING, WATCHDOG) are supported.
            """
    )

    @OptionGroup var options: ServeOptions

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        // Trapped before anything else, so neither signal can kill the server once it answers.
        let signals = await UnixSignalsSequence(trapping: .sighup, .sigusr1)
        let commandLine = Self.commandLineArguments()
        let options: ServeOptions
        let output: LogOutput
        do {
            options = try Self.effectiveOptions(self.options, commandLine: commandLine)
            output = try LogOutput(level: options.parsedLogLevel, path: options.logFile)
        } catch let error as ConfigFileError {
            throw ValidationError(error.description)
        }
        LoggingSystem.bootstrap { LogOutputHandler(label: $0, output: output) }
        let logger = Logger(label: "cachesrvd")
        // Applied before anything else allocates much; evaluated outside the log call, whose message is lazy.
        let malloc = MallocTuning.apply(environment: environment)
        logger.debug("\(malloc)")
        var configuration = try options.makeConfiguration(environment: environment)
        configuration.logLevel = .init(current: { output.level }, change: { output.setLevel($0) })
        do {
            configuration.inheritedListener = try SocketActivation.inheritedListener(environment: environment)
            configuration.notifier = SystemdNotifier(environment: environment)
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
        let cache: TieredCache
        do {
            cache = try TierFactory.makeCache(configuration, environment: environment, logger: logger)
            let fitted = try FileDescriptorLimit.fit(
                maxClients: configuration.maxClients,
                eventLoops: configuration.eventLoopThreads
            )
            configuration.maxClients = fitted.maxClients
            if let asked = fitted.lowered {
                logger.warning(
                    "the open-file limit is \(fitted.limit): max clients lowered from \(asked) to \(fitted.maxClients)"
                )
            } else {
                logger.info("open-file limit \(fitted.limit): up to \(fitted.maxClients) clients")
            }
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
        let server = CacheServer(configuration: configuration, cache: cache, logger: logger)
        let reload = ReloadService(
            signals: signals,
            options: options,
            commandLine: commandLine,
            server: server,
            output: output,
            logger: logger
        )
        // The server binds inside the group, after SIGTERM/SIGINT are trapped.
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: server),
                    .init(service: reload, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        var failure: ExitCode?
        do {
            try await group.run()
        } catch let error as ServerStartupError {
            logger.critical("cannot start: \(error)")
            failure = ExitCode(1)
        } catch {
            logger.critical("stopped on an error: \(error)")
            failure = ExitCode(1)
        }
        // However the group ended, the cache is shut down and lost writes decide the status (they matter most).
        let report = cache.shutdown()
        if report.lostData {
            let lost = report.losses.filter(\.lostData).map(\.summary).joined(separator: "; ")
            logger.critical("exiting with status \(Self.lostWritesExitStatus): writes were lost (\(lost))")
            throw ExitCode(Self.lostWritesExitStatus)
        }
        if let failure { throw failure }
    }

    /// The arguments `serve` was given (after the subcommand name when there is one).
    static func commandLineArguments() -> [String] {
        var arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "serve" { arguments.removeFirst() }
        return arguments
    }

    /// The options with `--config`'s file applied under the command line's.
    static func effectiveOptions(_ parsed: ServeOptions, commandLine: [String]) throws -> ServeOptions {
        guard let path = parsed.config else { return parsed }
        let file = try ConfigFile(path: path)
        do {
            return try ServeOptions.parse(file.arguments(overriddenBy: commandLine) + commandLine)
        } catch {
            throw ConfigFileError("\(path): \(ServeOptions.message(for: error))")
        }
    }

    /// The exit status when acknowledged writes could not be persisted before the server stopped (EX_IOERR).
    static let lostWritesExitStatus: Int32 = 74
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
        configuration.l3Database = try l3Url.parsed(environment: environment)
        configuration.keyFile = keyFile
        configuration.maxClients = maxClients
        configuration.access = try accessSettings()
        configuration.maxBulkLength = protoMaxBulkLen
        configuration.maxArguments = maxArguments
        configuration.maxQueryBuffer = clientQueryBufferLimit
        configuration.cleanupInterval = cleanupInterval
        configuration.maxPendingWrites = maxPendingWrites
        configuration.bulkCommandKeys = bulkCommandKeys
        configuration.eventLoopDiskReads = eventLoopDiskReads
        configuration.eventLoopThreads = threads
        configuration.slowlogSlowerThan = slowlogLogSlowerThan
        configuration.slowlogMaxLength = slowlogMaxLen
        configuration.latencyMonitorThreshold = latencyMonitorThreshold
        configuration.cache.l1MaxEntries = l1MaxEntries == 0 ? nil : l1MaxEntries
        configuration.cache.l1MaxMemory = try parsedL1MaxMemory()
        configuration.cache.journalSegmentSize = try parsedJournalSegmentSize()
        configuration.cache.journalApplyWindow = journalApplyDelay
        configuration.cache.sharedL3ApplyWindow = fleetApplyDelay
        configuration.cache.l3BacklogLimit = l3BacklogLimit
        configuration.l3Timeout = l3Timeout
        configuration.cache.l2MaxEntries = l2MaxEntries
        configuration.cache.l2Mode = l2Mode
        configuration.cache.l3MaxEntries = l3MaxEntries == 0 ? nil : l3MaxEntries
        configuration.cache.evictionPolicy = evictionPolicy
        configuration.cache.defaultTTL = defaultTTL
        configuration.cache.sourceTTLs = try parsedSourceTTLs()
        configuration.cache.failureThreshold = failureThreshold
        configuration.cache.healthInvalidation = !noHealthInvalidation
        configuration.cache.tierFailureThreshold = tierFailureThreshold
        configuration.cache.healthHistoryLimit = healthHistoryLimit
        configuration.cache.fsync = fsync
        configuration.cache.customFieldLimits = CustomFieldLimits(
            maxCount: maxCustomFields,
            maxFieldSize: maxCustomFieldSize
        )
        return configuration
    }

    /// Who may connect and the password, read from `--requirepass-file`.
    func accessSettings() throws -> AccessControl.Settings {
        do {
            return AccessControl.Settings(
                allowedUIDs: try parsedAllowedUIDs(),
                allowedGIDs: try parsedAllowedGIDs(),
                password: try requirepassFile.map { try SecretFile.read($0, option: "--requirepass-file") }
            )
        } catch let error as ConfigFileError {
            throw ValidationError(error.description)
        }
    }

    var parsedLogLevel: Logger.Level { Logger.Level(rawValue: logLevel.lowercased()) ?? .info }

    /// `$CACHESRVD_DATA_DIR`, else `$XDG_STATE_HOME/cachesrvd`, else `~/.local/state/cachesrvd`.
    static func defaultDataDirectory(environment: [String: String]) -> String {
        if let explicit = environment["CACHESRVD_DATA_DIR"], !explicit.isEmpty { return explicit }
        if let state = environment["XDG_STATE_HOME"], !state.isEmpty { return state + "/cachesrvd" }
        if let home = environment["HOME"], !home.isEmpty { return home + "/.local/state/cachesrvd" }
        return "/tmp/cachesrvd-\(getuid())-data"
    }
}

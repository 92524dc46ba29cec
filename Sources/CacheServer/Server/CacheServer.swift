import Dispatch
import LocalSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle
import Tiers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The cachesrvd server: a Unix socket served by SwiftNIO event loops over a tiered cache.
///
/// Run it as a `Service`: `bind()` first (startup errors surface there), then `run()` serves until a graceful
/// shutdown: stop accepting, let every connection finish the commands in flight, drain the disk writers, remove the
/// socket file.
public final class CacheServer: Service, Sendable {
    public let configuration: ServerConfiguration
    private let context: ServerContext
    private let logger: Logger
    private let group: MultiThreadedEventLoopGroup
    /// Commands that need the disk run on per-connection serial queues that all target this one.
    private let blockingQueue = DispatchQueue(label: "cachesrvd.blocking", qos: .userInitiated, attributes: .concurrent)
    private let state = NIOLockedValueBox(State())

    private struct State {
        var serverChannel: (any Channel)?
        var connections: [ObjectIdentifier: any Channel] = [:]
        var sweepTask: RepeatedTask?
        var watchdogTask: RepeatedTask?
        var socketLock: SocketLock?
        var sweeping = false
        var stopped = false
    }

    public init(configuration: ServerConfiguration, cache: TieredCache, logger: Logger) {
        self.configuration = configuration
        self.context = ServerContext(configuration: configuration, cache: cache, processID: getpid())
        self.logger = logger
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.eventLoopThreads))
    }

    /// Binds the socket. Throws `ServerStartupError` with a clear message when the path is unusable or a live
    /// server already answers on it (which is left alone).
    public func bind() async throws {
        let bootstrap = makeBootstrap()
        let channel: any Channel
        if let descriptor = configuration.inheritedListener {
            do {
                channel = try await bootstrap.withBoundSocket(descriptor).get()
            } catch {
                throw ServerStartupError("cannot serve the socket inherited from the service manager: \(error)")
            }
        } else {
            channel = try await bindSocketFile(bootstrap)
        }
        state.withLockedValue { $0.serverChannel = channel }
        startSweeping()
        startWatchdog()
        logger.info(
            "cachesrvd ready",
            metadata: [
                "socket.path": "\(listeningPath)",
                "socket.activated": "\(configuration.inheritedListener != nil)",
                "cache.tiers": "\(TierID.allCases.filter { configuration.tiers.contains($0) }.map(\.rawValue))",
                "cache.fsync": "\(configuration.cache.fsync.rawValue)",
                "clients.max": "\(configuration.maxClients)",
            ]
        )
        configuration.notifier.notify("READY=1\nSTATUS=serving on \(listeningPath)\nMAINPID=\(getpid())")
    }

    /// The path clients connect to: the inherited socket's own, else `--socket`.
    var listeningPath: String {
        if let descriptor = configuration.inheritedListener {
            let path = SocketActivation.boundPath(of: descriptor)
            return path.isEmpty ? configuration.socketPath : path
        }
        return configuration.socketPath
    }

    private func makeBootstrap() -> ServerBootstrap {
        let server = context
        let logger = self.logger
        let blockingQueue = self.blockingQueue
        let state = self.state
        let flushers = Dictionary(
            uniqueKeysWithValues: group.makeIterator().map { loop in
                (ObjectIdentifier(loop), RoundFlusher(eventLoop: loop))
            }
        )
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 511)
            // A client that half-closes (nc, a script's shutdown(SHUT_WR)) still gets every reply.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 64 * 1024, high: 256 * 1024))
            .childChannelInitializer { channel in
                let id = ObjectIdentifier(channel)
                state.withLockedValue { $0.connections[id] = channel }
                channel.closeFuture.whenComplete { _ in
                    _ = state.withLockedValue { $0.connections.removeValue(forKey: id) }
                }
                // Who connected is read before the handler exists, so nothing is read from a refused peer.
                return channel.peerCredentials().flatMapThrowing { peer in
                    let handler = ConnectionHandler(
                        server: server,
                        peer: peer,
                        blockingTarget: blockingQueue,
                        flusher: flushers[ObjectIdentifier(channel.eventLoop)]!,
                        logger: logger
                    )
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
    }

    /// Creates the socket file: in a private directory when the path is the default one in /tmp, never over another
    /// user's socket, another server's live socket or a file that is not a socket.
    private func bindSocketFile(_ bootstrap: ServerBootstrap) async throws -> any Channel {
        let path = configuration.socketPath
        guard path.utf8.count <= SocketPath.maxLength else {
            throw ServerStartupError(
                "socket path is \(path.utf8.count) bytes, longer than the kernel's limit of \(SocketPath.maxLength): \(path)"
            )
        }
        if SocketPath.directory(of: path) == SocketPath.fallbackDirectory() {
            do {
                try PrivateDirectory.ensure(SocketPath.fallbackDirectory())
            } catch {
                throw ServerStartupError("\(error)")
            }
        }
        // Held for as long as the server runs: two servers starting on one path cannot both find the socket stale
        // and the second unlink the first one's fresh socket.
        let lock = try SocketLock(socketPath: path)
        state.withLockedValue { $0.socketLock = lock }
        switch SocketPath.occupant(of: path) {
        case .free:
            break
        case .liveServer:
            throw ServerStartupError("another server is already answering on \(path); leaving it alone")
        case .notASocket:
            throw ServerStartupError("\(path) exists and is not a socket; refusing to replace it")
        case .otherOwner(let uid):
            throw ServerStartupError("\(path) is a socket of uid \(uid), not ours; refusing to replace it")
        case .unreachable(let code):
            throw ServerStartupError(
                "\(path) exists and cannot be checked (\(String(cString: strerror(code)))); refusing to replace it"
            )
        case .staleSocket:
            logger.info("removing stale socket file", metadata: ["socket.path": "\(path)"])
            unlink(path)
        }
        // The umask makes the socket file owner-only (or --socket-mode) from the moment it exists.
        let previousMask = umask(mode_t(~configuration.socketMode & 0o777))
        defer { umask(previousMask) }
        do {
            let channel = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: false).get()
            chmod(path, mode_t(configuration.socketMode))
            return channel
        } catch {
            throw ServerStartupError("cannot listen on \(path): \(error)")
        }
    }

    /// `WATCHDOG=1` at half the interval the service manager asked for, from an event loop: a stuck loop stops the
    /// pings and the manager restarts the server.
    private func startWatchdog() {
        guard let interval = configuration.notifier.watchdogInterval else { return }
        let notifier = configuration.notifier
        let period = TimeAmount.microseconds(max(1, Int64(interval * 500_000)))
        let task = group.next().scheduleRepeatedTask(initialDelay: period, delay: period) { _ in
            notifier.notify("WATCHDOG=1")
        }
        state.withLockedValue { $0.watchdogTask = task }
    }

    /// Binds (unless `bind()` was called), then serves until a graceful shutdown (SIGTERM/SIGINT through the
    /// service group) or cancellation. Binding here, after the service group trapped the signals, means a SIGTERM
    /// that arrives as soon as the socket answers still shuts the server down gracefully.
    public func run() async throws {
        if state.withLockedValue({ $0.serverChannel == nil }) {
            do {
                try await bind()
            } catch {
                // The socket path may belong to a live server: leave it alone, release only what we hold.
                context.cache.shutdown()
                try? await group.shutdownGracefully()
                throw error
            }
        }
        try? await gracefulShutdown()
        await stop()
    }

    /// Stops accepting, waits for connections to finish what they were doing (up to the grace period), drains the
    /// disk writers and removes the socket file. Idempotent.
    public func stop() async {
        let (serverChannel, alreadyStopped) = state.withLockedValue { state in
            defer { state.stopped = true }
            state.sweepTask?.cancel()
            state.watchdogTask?.cancel()
            return (state.serverChannel, state.stopped)
        }
        guard !alreadyStopped else { return }
        configuration.notifier.notify("STOPPING=1\nSTATUS=draining clients and disk writers")
        // Stop accepting first, so no connection arrives after the list below is taken.
        try? await serverChannel?.close()
        let connections = state.withLockedValue { Array($0.connections.values) }
        logger.info("shutting down", metadata: ["clients": "\(connections.count)"])
        for connection in connections {
            connection.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
        let deadline = NIODeadline.now() + .milliseconds(Int64(configuration.shutdownGracePeriod * 1000))
        for connection in connections {
            let closed = connection.closeFuture
            let timeout = connection.eventLoop.scheduleTask(deadline: deadline) { connection.close(promise: nil) }
            try? await closed.get()
            timeout.cancel()
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            blockingQueue.async(flags: .barrier) { continuation.resume() }
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            context.bulkLane.async { continuation.resume() }
        }
        context.cache.shutdown()
        if configuration.inheritedListener == nil {
            unlink(configuration.socketPath)  // an inherited socket is the service manager's
        }
        state.withLockedValue { $0.socketLock = nil }  // released only after the socket file is gone
        try? await group.shutdownGracefully()
        logger.info("cachesrvd stopped")
    }

    /// Replaces who may connect and the password (a reload); connections already admitted keep their state.
    public func updateAccess(_ settings: AccessControl.Settings) {
        context.access.replace(with: settings)
    }

    /// The background sweep of expired entries, every `cleanupInterval` seconds, off the event loops.
    private func startSweeping() {
        guard configuration.cleanupInterval > 0 else { return }
        let interval = TimeAmount.milliseconds(Int64(configuration.cleanupInterval * 1000))
        let server = context
        let state = self.state
        let logger = self.logger
        let queue = server.bulkLane
        let task = group.next().scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            let start = state.withLockedValue { state -> Bool in
                guard !state.sweeping, !state.stopped else { return false }
                state.sweeping = true
                return true
            }
            guard start else { return }
            queue.async {
                defer { state.withLockedValue { $0.sweeping = false } }
                do {
                    let removed = try server.cache.removeExpired()
                    server.counters.withLockedValue {
                        $0.sweeps += 1
                        $0.expiredSwept += removed
                    }
                    if removed > 0 { logger.debug("swept expired entries", metadata: ["count": "\(removed)"]) }
                } catch {
                    logger.warning("background sweep failed", metadata: ["error": "\(error)"])
                }
            }
        }
        state.withLockedValue { $0.sweepTask = task }
    }
}

/// Why the server could not start; the message is for the person who started it.
public struct ServerStartupError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PostgresNIO
import Tiers

/// One connection slot: a connection opened on first use (and again after it was lost), behind a lock that
/// serialises its use.
///
/// `@unchecked Sendable`: `connection` and `isClosed` are read and written only while `lock` is held.
final class PostgresConnectionSlot: @unchecked Sendable {
    private let lock = NIOLock()
    private var connection: PostgresConnection?
    private var isClosed = false
    private let id: Int

    init(id: Int) {
        self.id = id
    }

    /// Runs `body` with a session on this slot's connection, connecting first when there is none. A connection
    /// found lost is dropped, so the next call connects again (the tier's retries bring it back).
    func withSession<Result>(
        _ pool: PostgresConnectionPool,
        _ body: (PostgresSession) throws(StoreError) -> Result
    ) throws(StoreError) -> Result {
        lock.lock()
        defer { lock.unlock() }
        guard !isClosed else { throw StoreError(.closed, "store is closed") }
        if let current = connection, current.isClosed {
            connection = nil
        }
        let open: PostgresConnection
        if let connection {
            open = connection
        } else {
            open = try pool.connect(id: id)
            connection = open
        }
        let session = PostgresSession(connection: open, logger: pool.logger, deadline: pool.timeout + 2)
        do {
            return try body(session)
        } catch {
            if session.isLost || open.isClosed {
                connection = nil
                _ = try? open.close().wait()
            }
            throw error
        }
    }

    /// Closes the connection; later uses throw `.closed`.
    func close() {
        lock.lock()
        defer { lock.unlock() }
        isClosed = true
        if let connection {
            _ = try? connection.close().wait()
        }
        connection = nil
    }
}

/// The connections of one PostgreSQL store, on an event loop group of its own: one writer connection (the tier's
/// writer thread) and a few reader connections, so reads never wait behind a batch. Every call blocks its thread
/// until PostgreSQL answers.
///
/// Sendable: the slots guard their connections; the group and the configuration are immutable.
final class PostgresConnectionPool: Sendable {
    let logger: Logger
    /// Seconds a statement may run (the server's `statement_timeout`); see `PostgresSession.deadline`.
    let timeout: Double
    private let group: MultiThreadedEventLoopGroup
    private let connectionConfiguration: PostgresConnection.Configuration
    private let redactedURL: String
    private let writer: PostgresConnectionSlot
    private let readers: [PostgresConnectionSlot]
    private let nextReader = NIOLockedValueBox(0)
    private let shutDown = NIOLockedValueBox(false)

    /// Makes the pool; connects nothing yet.
    ///
    /// - Throws: `.io` when TLS cannot be set up.
    init(url: PostgresURL, readerCount: Int, timeout: Double, logger: Logger) throws(StoreError) {
        self.logger = logger
        self.timeout = timeout
        self.redactedURL = url.redacted
        self.connectionConfiguration = try Self.configuration(url, timeout: timeout)
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.writer = PostgresConnectionSlot(id: 0)
        self.readers = (1...max(1, readerCount)).map { PostgresConnectionSlot(id: $0) }
    }

    /// Runs `body` on the writer connection.
    func withWriter<Result>(_ body: (PostgresSession) throws(StoreError) -> Result) throws(StoreError) -> Result {
        try writer.withSession(self, body)
    }

    /// Runs `body` on one of the reader connections, round-robin.
    func withReader<Result>(_ body: (PostgresSession) throws(StoreError) -> Result) throws(StoreError) -> Result {
        let index = nextReader.withLockedValue { next in
            defer { next = (next + 1) % readers.count }
            return next
        }
        return try readers[index].withSession(self, body)
    }

    /// Opens a connection (called by a slot, under its lock).
    func connect(id: Int) throws(StoreError) -> PostgresConnection {
        let opened: PostgresConnection?
        do {
            // The connection's own timeout covers reaching the server; this one the whole start-up, authentication
            // included, so a server that accepts and then says nothing cannot hold the caller.
            opened = try PostgresConnection.connect(
                on: group.next(),
                configuration: connectionConfiguration,
                id: id,
                logger: logger
            ).wait(
                atMost: Double(connectionConfiguration.options.connectTimeout.nanoseconds) / 1e9 + timeout,
                expired: {}
            ) { late in
                let closing: EventLoopFuture<Void> = late.close()
                _ = closing
            }
        } catch {
            throw PostgresStoreError.map(error, "cannot connect to PostgreSQL at \(redactedURL)")
        }
        guard let opened else {
            throw StoreError(.unreachable, "cannot connect to PostgreSQL at \(redactedURL): no answer during start-up")
        }
        return opened
    }

    /// Closes every connection and stops the event loop; idempotent.
    func close() {
        let first = shutDown.withLockedValue { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        writer.close()
        for reader in readers { reader.close() }
        try? group.syncShutdownGracefully()
    }

    private static func configuration(
        _ url: PostgresURL,
        timeout: Double
    ) throws(StoreError) -> PostgresConnection.Configuration {
        var configuration: PostgresConnection.Configuration
        switch url.endpoint {
        case .tcp(let host, let port):
            configuration = PostgresConnection.Configuration(
                host: host,
                port: port,
                username: url.user,
                password: url.password,
                database: url.database,
                tls: try PostgresTLS.mode(url.tlsMode)
            )
        case .unixSocket:
            configuration = PostgresConnection.Configuration(
                unixSocketPath: url.socketPath ?? "",
                username: url.user,
                password: url.password,
                database: url.database
            )
        }
        configuration.options.connectTimeout = .milliseconds(Int64(url.connectTimeout * 1000))
        configuration.options.additionalStartupParameters = [
            ("application_name", "cachesrvd"),
            // The server cancels a statement (a lock wait included) that runs longer; the connection stays usable.
            ("statement_timeout", "\(Int(timeout * 1000))"),
        ]
        return configuration
    }
}

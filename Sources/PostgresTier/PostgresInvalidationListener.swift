import Dispatch
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO
import Tiers

/// Listens on its own connection for the other sidecars' invalidation notices (`PostgresInvalidation`) and hands
/// them to the cache, in the order PostgreSQL delivered them, on a serial queue of its own (never the event loop).
///
/// A notice can only be missed while the connection is down, so every local copy is dropped (`invalidateAll`) when
/// the connection is lost and again each time LISTEN is re-established: what changed meanwhile is unknown. At start
/// too: a sidecar that was stopped or killed starts with an L2 the others may have changed.
///
/// `@unchecked Sendable`: `state` is guarded by `lock`; everything else is immutable.
final class PostgresInvalidationListener: @unchecked Sendable {
    private struct State {
        var target: (any InvalidationTarget)?
        var connection: PostgresConnection?
        var stopped = false
        var listening = false
        var received = 0
    }

    private let pool: PostgresConnectionPool
    private let sidecarID: String
    private let retryInterval: Double
    private let logger: Logger
    private let lock = NIOLock()
    private var state = State()
    private let queue = DispatchQueue(label: "cachesrvd.l3.invalidations")
    private let exited = DispatchSemaphore(value: 0)
    private let wakeUp = DispatchSemaphore(value: 0)

    init(pool: PostgresConnectionPool, sidecarID: String, retryInterval: Double, logger: Logger) {
        self.pool = pool
        self.sidecarID = sidecarID
        self.retryInterval = retryInterval
        self.logger = logger
    }

    var isListening: Bool { lock.withLock { state.listening } }
    var received: Int { lock.withLock { state.received } }

    /// Drops every local copy (the L2 of a restarted sidecar may be stale): at once with `dropAtOnce`, else when
    /// listening first works (a start while PostgreSQL cannot be reached: meanwhile the sidecar serves its copies, its
    /// own last writes among them); then listens on a thread of its own until `stop()`.
    func start(_ target: any InvalidationTarget, dropAtOnce: Bool) {
        lock.withLock { state.target = target }
        if dropAtOnce { target.invalidateAll() }
        let thread = Thread { [self] in
            self.run(dropWhenListening: !dropAtOnce)
            self.exited.signal()
        }
        thread.name = "cachesrvd.l3.listen"
        thread.start()
    }

    /// Closes the connection and waits for the thread; forgets the target. Idempotent.
    func stop() {
        let (connection, wasRunning) = lock.withLock { () -> (PostgresConnection?, Bool) in
            let wasRunning = !state.stopped && state.target != nil
            state.stopped = true
            return (state.connection, wasRunning)
        }
        _ = try? connection?.close().wait()
        wakeUp.signal()
        if wasRunning { exited.wait() }
        queue.sync {}
        lock.withLock { state.target = nil }
    }

    private var isStopped: Bool { lock.withLock { state.stopped } }

    private func run(dropWhenListening: Bool) {
        var lostBefore = dropWhenListening
        while !isStopped {
            do {
                let connection = try pool.connect(id: 1000)
                let registered = lock.withLock { () -> Bool in
                    guard !state.stopped else { return false }
                    state.connection = connection
                    return true
                }
                guard registered else {
                    _ = try? connection.close().wait()
                    return
                }
                connection.addListener(channel: PostgresInvalidation.channel) { [self] _, message in
                    let payload = message.payload
                    queue.async { self.handle(payload) }
                }
                let listening = try connection.query(
                    PostgresQuery(unsafeSQL: "LISTEN \(PostgresInvalidation.channel)"),
                    logger: logger
                ).wait(atMost: pool.timeout + 2) {
                    let closing: EventLoopFuture<Void> = connection.close()
                    _ = closing
                }
                guard listening != nil else {
                    throw StoreError(.unreachable, "no answer to LISTEN within \(pool.timeout + 2) s")
                }
                lock.withLock { state.listening = true }
                if lostBefore {
                    logger.warning("listening to the other sidecars again: dropping every local copy of L3")
                    queue.async { self.target?.invalidateAll() }
                }
                lostBefore = true
                try? connection.closeFuture.wait()
                if !isStopped {
                    // Deaf from now on. The local copies are still served (PostgreSQL is likely down for every
                    // sidecar: nobody can change L3); what others changed meanwhile is dropped once listening is back.
                    logger.warning(
                        "lost the connection listening to the other sidecars: every local copy is dropped when it is back"
                    )
                }
            } catch {
                logger.warning(
                    "cannot listen to the other sidecars' invalidations; retrying",
                    metadata: ["error": "\(PostgresStoreError.map(error, "LISTEN failed"))"]
                )
                lostBefore = true
            }
            let connection = lock.withLock { () -> PostgresConnection? in
                state.listening = false
                defer { state.connection = nil }
                return state.connection
            }
            _ = try? connection?.close().wait()
            guard !isStopped else { return }
            _ = wakeUp.wait(timeout: .now() + retryInterval)
        }
    }

    private var target: (any InvalidationTarget)? { lock.withLock { state.target } }

    private func handle(_ payload: String) {
        guard PostgresInvalidation.sender(of: payload) != sidecarID else { return }
        lock.withLock { state.received += 1 }
        guard let target else { return }
        switch PostgresInvalidation.parse(payload) {
        case .keys(_, let keys): target.invalidate(keys: keys)
        case .everything, nil: target.invalidateAll()
        }
    }
}

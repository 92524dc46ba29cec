import CacheProtocol
import NIOConcurrencyHelpers
import NIOCore

/// A connected client: its identity, its `ConnectionState`, and what other connections may read or do to it.
///
/// `@unchecked Sendable`: the connection runs one command at a time, moving between its event loop and its
/// blocking queue with a happens-before edge each way (`EventLoop.execute` / `DispatchQueue.async`), so `state` is
/// never touched concurrently. `info` is read by other connections (CLIENT LIST), so it sits in a lock, and so does
/// the way to close the connection (CLIENT KILL).
final class ClientSession: @unchecked Sendable {
    struct Info: Sendable {
        var name: String = ""
        var libraryName: String = ""
        var libraryVersion: String = ""
        var lastCommand: String = ""
        /// When the last command arrived (CLIENT LIST `idle`).
        var lastCommandAt: Double = 0
        var noEvict = false
        var noTouch = false
        /// Mirrors of the connection state for CLIENT LIST (`flags`, `multi`, `watch`, `resp`).
        var protocolVersion = 2
        var queuedCommands: Int? = nil
        var watchedKeys = 0
        var isMonitor = false
    }

    let id: Int
    let connectedAt: Double
    let peer: String
    private let lockedInfo: NIOLockedValueBox<Info>
    /// How to reach the connection from other threads. The closures sit in a struct: kept directly in a generic
    /// box, each `inout` access would wrap them in more reabstraction thunks.
    private struct Reach: Sendable {
        var close: (@Sendable () -> Void)?
        var monitorSink: MonitorFeed.Sink?
    }

    private let reach = NIOLockedValueBox(Reach())

    /// Everything the connection remembers between commands (protocol, authentication, transaction, watches).
    var state: ConnectionState

    init(id: Int, connectedAt: Double, peer: String, authenticated: Bool = true) {
        self.id = id
        self.state = ConnectionState(authenticated: authenticated)
        self.connectedAt = connectedAt
        self.peer = peer
        self.lockedInfo = NIOLockedValueBox(Info(lastCommandAt: connectedAt))
    }

    var info: Info {
        lockedInfo.withLockedValue { $0 }
    }

    func updateInfo(_ body: (inout Info) -> Void) {
        lockedInfo.withLockedValue { body(&$0) }
    }

    /// A command arrived: records it for CLIENT LIST (`cmd`, `idle`) with what the connection state now shows.
    func recordCommand(_ name: String, at time: Double) {
        // The four figures, not a copy of the whole state (which retained and released its every array per command).
        let protocolVersion = state.protocolVersion.rawValue
        let queuedCommands = state.transaction?.queued.count
        let watchedKeys = state.watched.count
        let isMonitor = state.isMonitor
        lockedInfo.withLockedValue { info in
            info.lastCommand = name
            info.lastCommandAt = time
            info.protocolVersion = protocolVersion
            info.queuedCommands = queuedCommands
            info.watchedKeys = watchedKeys
            info.isMonitor = isMonitor
        }
    }

    /// How to close the connection from elsewhere (CLIENT KILL); set by the connection handler.
    func setCloser(_ close: (@Sendable () -> Void)?) {
        reach.withLockedValue { $0.close = close }
    }

    /// How to write MONITOR lines to this connection from any thread; set by the connection handler.
    func setMonitorSink(_ sink: MonitorFeed.Sink?) {
        reach.withLockedValue { $0.monitorSink = sink }
    }

    var monitorLineSink: MonitorFeed.Sink? {
        reach.withLockedValue { $0.monitorSink }
    }

    /// Closes the connection (CLIENT KILL); returns whether it was still open.
    func kill() -> Bool {
        guard let close = reach.withLockedValue({ $0.close }) else { return false }
        close()
        return true
    }
}

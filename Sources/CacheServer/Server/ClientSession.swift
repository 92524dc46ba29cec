import CacheProtocol
import NIOConcurrencyHelpers
import NIOCore

/// Per-connection state that commands read and change.
///
/// `@unchecked Sendable`: the connection runs one command at a time, moving between its event loop and its
/// blocking queue with a happens-before edge each way (`EventLoop.execute` / `DispatchQueue.async`), so the unlocked
/// fields are never touched concurrently. `info` is read by other connections (CLIENT LIST), so it sits in a lock.
final class ClientSession: @unchecked Sendable {
    struct Info: Sendable {
        var name: String = ""
        var libraryName: String = ""
        var libraryVersion: String = ""
        var lastCommand: String = ""
    }

    let id: Int
    let connectedAt: Double
    let peer: String
    private let lockedInfo = NIOLockedValueBox(Info())

    /// The protocol the client speaks: RESP2 until it says `HELLO 3`.
    var protocolVersion = RESPVersion.resp2
    /// The client may run commands: it gave the password, or none is required.
    var authenticated: Bool
    /// Commands queued by MULTI, or nil outside a transaction.
    var transaction: [[ByteBuffer]]? = nil
    /// A command queued in the open transaction was rejected: EXEC must abort.
    var transactionFailed = false

    init(id: Int, connectedAt: Double, peer: String, authenticated: Bool = true) {
        self.id = id
        self.authenticated = authenticated
        self.connectedAt = connectedAt
        self.peer = peer
    }

    var info: Info {
        get { lockedInfo.withLockedValue { $0 } }
    }

    func updateInfo(_ body: (inout Info) -> Void) {
        lockedInfo.withLockedValue { body(&$0) }
    }
}

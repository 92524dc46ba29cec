import LocalSocket
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

extension Channel {
    /// The kernel's `SO_PEERCRED` for an accepted Unix socket: who connected. Fails (nil) for channels that are not
    /// sockets or on systems without it; callers refuse such peers.
    func peerCredentials() -> EventLoopFuture<PeerCredentials?> {
        #if os(Linux)
        guard let provider = self as? any SocketOptionProvider else {
            return eventLoop.makeSucceededFuture(nil)
        }
        let future: EventLoopFuture<PeerCredentials.Raw> = provider.unsafeGetSocketOption(
            level: NIOBSDSocket.OptionLevel(rawValue: SOL_SOCKET),
            name: NIOBSDSocket.Option(rawValue: PeerCredentials.Raw.option)
        )
        return future.map { PeerCredentials($0) }.recover { _ in nil }
        #else
        return eventLoop.makeSucceededFuture(nil)
        #endif
    }
}

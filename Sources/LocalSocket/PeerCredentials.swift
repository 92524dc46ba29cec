#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Who is at the other end of a connected Unix socket, as the kernel vouches (`SO_PEERCRED`): the credentials the
/// peer had when it connected (client side) or called listen (server side).
public struct PeerCredentials: Equatable, Sendable, CustomStringConvertible {
    public var pid: pid_t
    public var uid: uid_t
    public var gid: gid_t

    public init(pid: pid_t, uid: uid_t, gid: gid_t) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    /// Reads the peer's credentials of a connected Unix socket, or nil when the kernel gives none.
    public static func of(descriptor fd: Int32) -> PeerCredentials? {
        #if os(Linux)
        var credentials = Raw()
        var length = socklen_t(MemoryLayout<Raw>.size)
        guard getsockopt(fd, SOL_SOCKET, Raw.option, &credentials, &length) == 0,
            length == socklen_t(MemoryLayout<Raw>.size)
        else { return nil }
        return PeerCredentials(credentials)
        #else
        return nil
        #endif
    }

    /// Linux's `struct ucred`, which Glibc's Swift module does not import (it needs _GNU_SOURCE): the same three
    /// 32-bit fields in the same order.
    public struct Raw: Sendable {
        public var pid: Int32 = 0
        public var uid: UInt32 = 0
        public var gid: UInt32 = 0

        public init() {}

        /// `SO_PEERCRED` (asm-generic/socket.h).
        public static let option: Int32 = 17
    }

    public init(_ raw: Raw) {
        self.init(pid: raw.pid, uid: raw.uid, gid: raw.gid)
    }

    public var description: String { "pid \(pid), uid \(uid), gid \(gid)" }
}

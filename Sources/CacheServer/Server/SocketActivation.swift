#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// systemd's socket activation (`sd_listen_fds`): the listening socket is inherited as descriptor 3 when
/// `LISTEN_PID` names this process and `LISTEN_FDS` is at least 1.
public enum SocketActivation {
    /// The first inherited descriptor.
    static let firstDescriptor: Int32 = 3

    /// The listening socket handed over by the service manager, or nil when the process was not socket-activated.
    ///
    /// - Throws: `ServerStartupError` when activation variables are present but unusable (more than one socket,
    ///   a descriptor that is not a listening Unix stream socket).
    public static func inheritedListener(environment: [String: String]) throws -> Int32? {
        guard let pid = environment["LISTEN_PID"].flatMap({ Int32($0) }), pid == getpid(),
            let count = environment["LISTEN_FDS"].flatMap({ Int($0) }), count >= 1
        else { return nil }
        guard count == 1 else {
            throw ServerStartupError("socket activation passed \(count) sockets; cachesrvd listens on exactly one")
        }
        let fd = firstDescriptor
        var type: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        var listening: Int32 = 0
        var listeningLength = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) == 0,
            type == Int32(SOCK_STREAM.rawValue),
            getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &listeningLength) == 0, listening == 1,
            localAddressFamily(fd) == AF_UNIX
        else {
            throw ServerStartupError("socket activation: descriptor 3 is not a listening Unix stream socket")
        }
        // Close-on-exec, as sd_listen_fds does: nothing this process starts should inherit it.
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return fd
    }

    /// The path a listening Unix socket is bound to (empty when it has none).
    public static func boundPath(of fd: Int32) -> String {
        var address = sockaddr_un()
        var length = socklen_t(MemoryLayout<sockaddr_un>.size)
        let status = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard status == 0 else { return "" }
        return withUnsafeBytes(of: address.sun_path) { raw in
            let bytes = raw.prefix(while: { $0 != 0 })
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    private static func localAddressFamily(_ fd: Int32) -> Int32 {
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return status == 0 ? Int32(address.ss_family) : -1
    }
}

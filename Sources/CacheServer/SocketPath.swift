#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the server listens and where clients connect: one rule for both.
public enum SocketPath {
    /// The longest path the kernel takes in `sockaddr_un.sun_path`, without the terminating NUL.
    public static let maxLength = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    /// `$CACHESRVD_SOCKET`, else `$XDG_RUNTIME_DIR/cachesrvd.sock`, else `/tmp/cachesrvd-<uid>.sock`.
    public static func defaultPath(environment: [String: String]) -> String {
        if let explicit = environment["CACHESRVD_SOCKET"], !explicit.isEmpty {
            return explicit
        }
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty {
            return runtime.hasSuffix("/") ? runtime + "cachesrvd.sock" : runtime + "/cachesrvd.sock"
        }
        return "/tmp/cachesrvd-\(getuid()).sock"
    }

    /// What is at a socket path before the server binds it.
    enum Occupant: Equatable {
        /// Nothing: bind.
        case free
        /// A socket file no server answers on: remove it, then bind.
        case staleSocket
        /// A live server answers: leave it alone.
        case liveServer
        /// Something that is not a socket: refuse.
        case notASocket
    }

    /// Whether a server accepts connections on the socket at `path` (the maintenance commands refuse to run then).
    public static func serverAnswers(at path: String) -> Bool {
        occupant(of: path) == .liveServer
    }

    /// Checks the path by connecting to it (never unlinks a live server's socket).
    static func occupant(of path: String) -> Occupant {
        var info = stat()
        guard lstat(path, &info) == 0 else { return .free }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else { return .notASocket }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return .staleSocket }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(maxLength))
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return connected == 0 ? .liveServer : .staleSocket
    }
}

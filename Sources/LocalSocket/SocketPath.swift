#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the server listens and where clients connect: one rule for both.
public enum SocketPath {
    /// The longest path the kernel takes in `sockaddr_un.sun_path`, without the terminating NUL.
    public static let maxLength = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    /// The socket's file name inside a runtime directory.
    public static let fileName = "cachesrvd.sock"

    /// The default socket path. Never a bare name in a shared directory, where another user could bind it first:
    ///
    /// 1. `$CACHESRVD_SOCKET`;
    /// 2. `$XDG_RUNTIME_DIR/cachesrvd.sock`;
    /// 3. `/run/user/<uid>/cachesrvd.sock` when that directory is private to the user (systemd-logind makes it);
    /// 4. `/tmp/cachesrvd-<uid>/cachesrvd.sock`: a directory the server creates with mode 0700 and checks
    ///    (`PrivateDirectory`) before it binds; clients check the socket's owner and the server's uid instead.
    ///
    /// - Parameters:
    ///   - environment: Looks up an environment variable; empty values count as unset.
    ///   - uid: The user the path is for.
    ///   - isPrivate: Whether a directory is private to `uid` (the real check by default; tests pass their own).
    public static func defaultPath(
        environment: (String) -> String?,
        uid: uid_t = getuid(),
        isPrivate: (String, uid_t) -> Bool = { PrivateDirectory.check($0, owner: $1) == nil }
    ) -> String {
        if let explicit = environment("CACHESRVD_SOCKET"), !explicit.isEmpty {
            return explicit
        }
        if let runtime = environment("XDG_RUNTIME_DIR"), !runtime.isEmpty {
            return runtime.hasSuffix("/") ? runtime + fileName : runtime + "/" + fileName
        }
        let userRuntime = "/run/user/\(uid)"
        if isPrivate(userRuntime, uid) {
            return userRuntime + "/" + fileName
        }
        return fallbackDirectory(uid: uid) + "/" + fileName
    }

    /// `defaultPath` over a dictionary.
    public static func defaultPath(environment: [String: String]) -> String {
        defaultPath(environment: { environment[$0] })
    }

    /// The private directory in /tmp used when there is no runtime directory.
    public static func fallbackDirectory(uid: uid_t = getuid()) -> String {
        "/tmp/cachesrvd-\(uid)"
    }

    /// The directory part of a socket path ("." for a bare name).
    public static func directory(of path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }

    /// What is at a socket path before a server binds it.
    public enum Occupant: Equatable, Sendable {
        /// Nothing: bind.
        case free
        /// A socket file of ours that no server answers on: remove it, then bind.
        case staleSocket
        /// A live server answers: leave it alone.
        case liveServer
        /// Something that is not a socket: refuse.
        case notASocket
        /// A socket file owned by another user: never ours to remove, whether or not a server answers there.
        case otherOwner(uid_t)
        /// The connect failed for another reason than "nobody listens" (permissions, ...): not provably stale.
        case unreachable(errno: Int32)
    }

    /// Whether a server may be serving at `path`, for the maintenance commands that must not change files under a
    /// live server. Fails closed: whoever owns the socket, only "no such file" and "nobody listens" (ECONNREFUSED)
    /// count as no server; any other answer (a live server, a permission error) counts as one.
    public static func serverMayAnswer(at path: String) -> Bool {
        var info = stat()
        if lstat(path, &info) != 0 { return errno != ENOENT }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return true }
        defer { close(fd) }
        return connect(fd, path: path) != ECONNREFUSED
    }

    /// Checks the path by connecting to it. Only a socket file owned by `uid` whose connect is refused with
    /// ECONNREFUSED is stale: a failure such as EACCES says nothing about whether a server lives there.
    public static func occupant(of path: String, uid: uid_t = getuid()) -> Occupant {
        var info = stat()
        guard lstat(path, &info) == 0 else { return .free }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else { return .notASocket }
        guard info.st_uid == uid else { return .otherOwner(info.st_uid) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return .unreachable(errno: errno) }
        defer { close(fd) }
        let result = connect(fd, path: path)
        if result == 0 { return .liveServer }
        return result == ECONNREFUSED ? .staleSocket : .unreachable(errno: result)
    }

    /// Connects `fd` to the Unix socket at `path`; returns 0 or the errno.
    public static func connect(_ fd: Int32, path: String) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count <= maxLength, !bytes.contains(0) else { return ENAMETOOLONG }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                #if canImport(Glibc) || canImport(Musl)
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                #else
                Darwin.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                #endif
            }
        }
        return status == 0 ? 0 : errno
    }
}

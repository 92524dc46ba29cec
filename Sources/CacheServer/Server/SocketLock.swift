#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive `flock` on `<socket>.lock`, held while a server checks, replaces and serves a socket path, so that
/// two servers starting on one path at once never both take the socket for stale. The file is left in place (removing
/// a lock file others may be opening would undo the lock); it holds nothing.
final class SocketLock: Sendable {
    private let descriptor: Int32

    /// - Throws: `ServerStartupError` when another server holds the path, or the lock file cannot be opened (it is
    ///   never followed through a symbolic link).
    init(socketPath: String) throws {
        let path = socketPath + ".lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            throw ServerStartupError("cannot open the lock file \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw ServerStartupError(
                "another server is already answering (or starting) on \(socketPath); leaving it alone"
            )
        }
        descriptor = fd
    }

    deinit {
        close(descriptor)  // releases the lock
    }
}

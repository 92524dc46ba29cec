#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A directory only its owner can enter: where a socket in a shared place like /tmp is safe from other users.
public enum PrivateDirectory {
    /// Why a directory is not private to `owner`, or nil when it is: it must be a real directory (not a symbolic
    /// link), owned by `owner`, with no permission bits for group or others.
    public static func check(_ path: String, owner: uid_t) -> String? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return "\(path) does not exist" }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { return "\(path) is not a directory" }
        guard info.st_uid == owner else { return "\(path) is owned by uid \(info.st_uid), not \(owner)" }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            return "\(path) has mode \(String(mode, radix: 8)): group or others may enter it (want 700)"
        }
        return nil
    }

    /// Creates the directory with mode 0700 unless it exists, then checks that it is private to the current user.
    ///
    /// - Throws: `PrivateDirectory.Failure` naming what is wrong (another user's directory, a symbolic link, loose
    ///   permissions); nothing is changed then, since the directory is not ours to fix.
    public static func ensure(_ path: String) throws(Failure) {
        if mkdir(path, 0o700) != 0, errno != EEXIST {
            throw Failure("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        if let problem = check(path, owner: getuid()) {
            throw Failure("refusing to use \(path) for the socket: \(problem)")
        }
    }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String

        init(_ description: String) {
            self.description = description
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Refuses a key file that others could read or replace, as ssh refuses such a private key: a file
/// holding a credential key must belong to the user reading it (or to root) and must not be readable
/// or writable by its group or by others.
///
/// Root owning a file another user reads is accepted: root can read every key anyway. A file owned by
/// any other user is refused even with mode 0600, because its owner can change it at will.
public enum KeyFileCheck {
    /// The permission bits a key file must not have: any access for group or others.
    public static let forbiddenBits: mode_t = 0o077

    /// Checks the file open on `fd` (so that the file checked is the file read).
    ///
    /// - Returns: `nil` when the file may be used, else why not with the fix, e.g. "mode 0644 lets
    ///   group and others read it: run chmod 600 /path".
    public static func problem(withOpenFile fd: Int32, path: String) -> String? {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return "cannot inspect: \(String(cString: strerror(errno)))" }
        return problem(mode: info.st_mode, owner: info.st_uid, path: path, reader: geteuid())
    }

    /// The check itself, on a file's `mode` and `owner` as read by the user `reader`.
    public static func problem(mode: mode_t, owner: uid_t, path: String, reader: uid_t) -> String? {
        if owner != reader && owner != 0 {
            return "is owned by uid \(owner), not by uid \(reader) that reads it (nor root): "
                + "another user must not control the key; run chown \(reader) \(path) && chmod 600 \(path)"
        }
        let permissions = mode & 0o777
        guard permissions & forbiddenBits != 0 else { return nil }
        let octal = String(permissions, radix: 8)
        let padded = String(repeating: "0", count: max(0, 4 - octal.count)) + octal
        return "mode \(padded) lets \(who(permissions)) access it: a key file must be private; run chmod 600 \(path)"
    }

    private static func who(_ permissions: mode_t) -> String {
        switch (permissions & 0o070 != 0, permissions & 0o007 != 0) {
        case (true, true): "group and others"
        case (true, false): "its group"
        default: "others"
        }
    }
}

import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A file holding a secret (the requirepass password): it must be a regular file that only its owner can read or
/// write, owned by this user or root, as ssh demands of private keys.
enum SecretFile {
    /// The file's bytes without one trailing newline.
    ///
    /// - Throws: `ConfigFileError` with the reason and the fix; the secret itself never appears in a message.
    static func read(_ path: String, option: String) throws -> [UInt8] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw ConfigFileError("\(option): cannot read \(path): \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw ConfigFileError("\(option): \(path) is not a regular file")
        }
        guard info.st_uid == getuid() || info.st_uid == 0 else {
            throw ConfigFileError("\(option): \(path) is owned by uid \(info.st_uid), not by this user or root")
        }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw ConfigFileError(
                "\(option): \(path) has mode \(String(mode, radix: 8)): group or others may read it; "
                    + "run chmod 600 \(path)"
            )
        }
        guard var bytes = FileManager.default.contents(atPath: path).map(Array.init) else {
            throw ConfigFileError("\(option): cannot read \(path)")
        }
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard !bytes.isEmpty else { throw ConfigFileError("\(option): \(path) is empty") }
        return bytes
    }
}

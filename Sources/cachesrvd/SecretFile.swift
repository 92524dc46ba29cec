import Foundation
import Tiers

#if canImport(Glibc)
import Glibc
#endif

/// A file holding a secret (the requirepass password), held to the rule of key files (`KeyFileCheck`): owned by
/// this user or root, no access for group or others.
enum SecretFile {
    /// The file's bytes without one trailing newline.
    ///
    /// - Throws: `ConfigFileError` with the reason and the fix; the secret itself never appears in a message.
    static func read(_ path: String, option: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ConfigFileError("\(option): cannot read \(path): \(String(cString: strerror(errno)))")
        }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw ConfigFileError("\(option): \(path) is not a regular file")
        }
        // The file checked is the file read: both go through the same descriptor.
        if let problem = KeyFileCheck.problem(withOpenFile: fd, path: path) {
            throw ConfigFileError("\(option): \(path) \(problem)")
        }
        guard var bytes = try? handle.readToEnd().map(Array.init) ?? [] else {
            throw ConfigFileError("\(option): cannot read \(path)")
        }
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard !bytes.isEmpty else { throw ConfigFileError("\(option): \(path) is empty") }
        return bytes
    }
}

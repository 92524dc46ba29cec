import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// This sidecar's identity in a shared L3: a random UUID made once and kept in `<data-dir>/sidecar-id` (mode 0600),
/// so it survives restarts. The PostgreSQL L3 keys this host's journal sequence by it.
public enum SidecarID {
    /// The file's name in the data directory.
    public static let fileName = "sidecar-id"

    /// The identity kept in `directory`, made and written (atomically) when there is none.
    ///
    /// - Throws: `ServerStartupError` when the file cannot be read or written, or holds something else.
    public static func loadOrCreate(dataDirectory directory: String) throws -> String {
        let path = directory + "/" + fileName
        if let data = FileManager.default.contents(atPath: path) {
            let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard UUID(uuidString: text) != nil else {
                throw ServerStartupError("\(path) does not hold a sidecar id (a UUID): remove it to make a new one")
            }
            return text.lowercased()
        }
        let id = UUID().uuidString.lowercased()
        let temporary = path + ".tmp-\(getpid())"
        guard
            FileManager.default.createFile(
                atPath: temporary,
                contents: Data((id + "\n").utf8),
                attributes: [.posixPermissions: 0o600]
            ), rename(temporary, path) == 0
        else {
            unlink(temporary)
            throw ServerStartupError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        return id
    }
}

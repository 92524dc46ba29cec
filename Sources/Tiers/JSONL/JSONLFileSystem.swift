#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The POSIX calls the JSONL tier makes, each turning `errno` into a `StoreError`.
enum JSONLFileSystem {
    /// Reads the whole file; `nil` when it does not exist.
    static func readFile(_ path: String) throws(StoreError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw error("open \(path)")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw error("stat \(path)") }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw StoreError(.corrupt, "\(path) is not a regular file")
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity(Int(info.st_size))
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw error("read \(path)")
            }
            if count == 0 { return bytes }
            bytes += buffer[0..<count]
        }
    }

    /// Writes all of `bytes` to `fd`.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(StoreError) {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if count < 0 {
                if errno == EINTR { continue }
                throw error("write \(path)")
            }
            offset += count
        }
    }

    /// `open(2)`, for types whose own `open`/`close` methods hide the C functions.
    static func openFile(_ path: String, _ flags: Int32, mode: mode_t = 0o600) -> Int32 {
        open(path, flags | O_CLOEXEC, mode)
    }

    /// `close(2)`.
    static func closeFile(_ fd: Int32) {
        _ = close(fd)
    }

    /// Opens (creating) `path` for appending.
    static func openForAppend(_ path: String) throws(StoreError) -> Int32 {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw error("open \(path)") }
        return fd
    }

    /// Flushes `fd` to stable storage.
    static func sync(_ fd: Int32, path: String) throws(StoreError) {
        guard fsync(fd) == 0 else { throw error("fsync \(path)") }
    }

    /// Flushes a directory, so that renames and created files in it survive a crash.
    static func syncDirectory(_ path: String) throws(StoreError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw error("open directory \(path)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw error("fsync directory \(path)") }
    }

    /// The inode and size of `path`; `nil` when it does not exist.
    static func identity(_ path: String) throws(StoreError) -> FileIdentity? {
        var info = stat()
        if stat(path, &info) != 0 {
            if errno == ENOENT { return nil }
            throw error("stat \(path)")
        }
        return FileIdentity(inode: UInt64(info.st_ino), size: Int64(info.st_size))
    }

    /// Creates `path` (and its parents) as directories when missing.
    static func makeDirectories(_ path: String) throws(StoreError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
                throw error("create directory \(prefix)")
            }
        }
    }

    /// Takes the exclusive `flock` on `fd`, waiting up to about `timeoutMilliseconds` for another
    /// process to release it.
    static func lockExclusive(_ fd: Int32, path: String, timeoutMilliseconds: Int = 10_000) throws(StoreError) {
        var waited = 0
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else { throw error("flock \(path)") }
            guard waited < timeoutMilliseconds else {
                throw StoreError(.busy, "flock \(path): held by another process for over \(timeoutMilliseconds) ms")
            }
            usleep(1000)
            waited += 1
        }
    }

    /// Releases the `flock` on `fd`.
    static func unlock(_ fd: Int32) {
        _ = flock(fd, LOCK_UN)
    }

    /// Now as `YYYYMMDDTHHMMSSZ` (for names of files moved aside).
    static func utcTimestamp() -> String {
        let seconds = Int64(time(nil))
        let (year, month, day) = ISO8601Time.civil(fromDays: seconds / 86_400)
        let second = seconds % 86_400
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return pad(year, 4) + pad(month, 2) + pad(day, 2) + "T" + pad(second / 3600, 2) + pad(second % 3600 / 60, 2)
            + pad(second % 60, 2) + "Z"
    }

    /// A `StoreError` for the current `errno`.
    static func error(_ what: String) -> StoreError {
        let code = errno
        let kind: StoreError.Kind
        switch code {
        case ENOSPC, EDQUOT: kind = .full
        case EACCES, EPERM, EROFS: kind = .readOnly
        case EWOULDBLOCK: kind = .busy
        default: kind = .io
        }
        return StoreError(kind, "\(what): \(String(cString: strerror(code)))")
    }
}

/// Which file a path named and how long it was: tells whether another process changed a shard.
struct FileIdentity: Equatable, Sendable {
    var inode: UInt64
    var size: Int64
}

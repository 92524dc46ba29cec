#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading a whole local file (or stdin) with POSIX calls; failures are exit 74.
enum FileIO {
    /// The contents of `path`, or of stdin when `path` is `-`.
    ///
    /// - Throws: `CacheCtlError` with exit 74 naming the path and the system's reason.
    static func readAll(_ path: String) throws(CacheCtlError) -> [UInt8] {
        let fd = path == "-" ? 0 : open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path, "open", errno: errno) }
        defer {
            if fd != 0 {
                close(fd)
            }
        }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 256 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if count == 0 {
                return contents
            }
            if count < 0 {
                if errno == EINTR {
                    continue
                }
                throw .io(path, "read", errno: errno)
            }
            contents.append(contentsOf: chunk[0..<count])
        }
    }
}

/// Writes a file all at once or not at all: into `PATH.tmp-PID`, renamed over `PATH` by `commit()`; a writer
/// dropped before `commit()` removes its temporary file. `-` writes straight to stdout.
///
/// Used from one thread only.
final class FileWriter {
    private let path: String
    private let temporaryPath: String?
    private var descriptor: Int32
    private var buffer: [UInt8] = []
    private var committed = false

    /// Opens the temporary file (or stdout for `-`).
    ///
    /// - Parameters:
    ///   - path: The file to write, or `-`.
    ///   - permissions: The new file's mode before the umask, e.g. 0o600 for a file holding credentials.
    /// - Throws: `CacheCtlError` with exit 74.
    init(path: String, permissions: mode_t) throws(CacheCtlError) {
        self.path = path
        if path == "-" {
            temporaryPath = nil
            descriptor = 1
            return
        }
        let temporary = "\(path).tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, permissions)
        guard fd >= 0 else { throw .io(path, "create", errno: errno) }
        temporaryPath = temporary
        descriptor = fd
    }

    deinit {
        if let temporaryPath, !committed {
            close(descriptor)
            unlink(temporaryPath)
        }
    }

    /// Appends `bytes`; they reach the file in chunks of 64 KiB, and all of them by `commit()`.
    func append(_ bytes: [UInt8]) throws(CacheCtlError) {
        buffer += bytes
        if buffer.count >= 64 * 1024 {
            try drain()
        }
    }

    /// Writes what is buffered, then (for a real file) syncs, closes and renames it into place.
    func commit() throws(CacheCtlError) {
        try drain()
        guard let temporaryPath else {
            committed = true
            return
        }
        if fsync(descriptor) != 0 {
            throw .io(path, "sync", errno: errno)
        }
        let closed = close(descriptor)
        committed = true
        guard closed == 0 else {
            let code = errno
            unlink(temporaryPath)
            throw .io(path, "close", errno: code)
        }
        guard rename(temporaryPath, path) == 0 else {
            let code = errno
            unlink(temporaryPath)
            throw .io(path, "write", errno: code)
        }
    }

    private func drain() throws(CacheCtlError) {
        var offset = 0
        while offset < buffer.count {
            let written = buffer.withUnsafeBytes { bytes in
                write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            }
            if written < 0 {
                if errno == EINTR {
                    continue
                }
                throw .io(path == "-" ? "stdout" : path, "write", errno: errno)
            }
            offset += written
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

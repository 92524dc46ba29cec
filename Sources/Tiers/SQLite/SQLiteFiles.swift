#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// File-system chores of the SQLite tiers: directories, permissions, moving a damaged database
/// aside. Plain POSIX calls, no Foundation. None of them opens or closes a file of a database with
/// open connections (that would drop SQLite's POSIX locks): `moveAside` runs only while every
/// connection is closed, `createPrivateFile` opens only a file it creates.
enum SQLiteFiles {
    /// The companion files SQLite keeps beside a WAL database.
    static let companionSuffixes = ["-wal", "-shm"]

    /// Creates `path` and its missing parents with mode 0700 (existing directories are left as they are).
    static func ensureDirectory(_ path: String) throws(StoreError) {
        guard !path.isEmpty else { return }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
                throw posixError("create directory \(prefix)")
            }
            prefix += "/"
        }
    }

    /// The directory part of `path` ("." when it has none).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let parent = String(path[..<slash])
        return parent.isEmpty ? "/" : parent
    }

    /// Creates an empty file with mode 0600 if none exists, so SQLite (which gives its -wal and
    /// -shm files the database file's mode) never makes credential files readable by others.
    ///
    /// An existing file is not opened at all (`O_EXCL`): closing a descriptor of a database that a
    /// connection of this process has open would drop that connection's POSIX locks.
    static func createPrivateFile(_ path: String) throws(StoreError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            if errno == EEXIST { return }
            throw posixError("create \(path)")
        }
        close(fd)
    }

    /// Moves the database at `path` and its -wal/-shm files to `<path>.corrupt-<UTC timestamp>`
    /// (plus the suffix), keeping them a pair SQLite can still open for inspection.
    ///
    /// - Returns: the new path of the database file.
    static func moveAside(_ path: String) throws(StoreError) -> String {
        let base = "\(path).corrupt-\(utcTimestamp())"
        var target = base
        var attempt = 1
        while access(target, F_OK) == 0 {
            target = "\(base).\(attempt)"
            attempt += 1
        }
        if rename(path, target) != 0 && errno != ENOENT {
            throw posixError("move \(path) aside")
        }
        for suffix in companionSuffixes where rename(path + suffix, target + suffix) != 0 && errno != ENOENT {
            throw posixError("move \(path)\(suffix) aside")
        }
        return target
    }

    /// Now as `YYYYMMDDTHHMMSSZ`.
    static func utcTimestamp() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%Y%m%dT%H%M%SZ", &parts)
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A `StoreError` from the current `errno`.
    static func posixError(_ what: String) -> StoreError {
        let code = errno
        let kind: StoreError.Kind
        switch code {
        case ENOSPC, EDQUOT:
            kind = .full
        case EACCES, EPERM, EROFS:
            kind = .readOnly
        default:
            kind = .io
        }
        return StoreError(kind, "\(what): \(String(cString: strerror(code))) (errno \(code))")
    }
}

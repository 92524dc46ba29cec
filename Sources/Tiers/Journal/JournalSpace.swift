#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The space of the next journal segment, zeroed and synced before records are written into it (`--fsync always`).
///
/// Appending to a file changes its size, and each `fdatasync` must then commit the new size to the file system's
/// own journal besides writing the records. Records written over zeros that are already on the disk change no
/// metadata, so the sync writes the records alone, which made it faster on ext4 (docs/benchmarks.md has the
/// figures). The journal prepares this space as a file beside its segments (not a segment by its name) while the
/// current segment fills, and renames it into place when it starts the next segment, so a rotation never waits for
/// the zeros.
enum JournalSpace {
    /// The prepared file's name in the journal's directory.
    static let spareName = "journal-spare.tmp"

    /// The free space the disk must have for the file to be prepared: twice its size, so that the zeros leave the
    /// stores at least as much as they take (checked once, before the writes).
    static func freeSpaceNeeded(for bytes: Int) -> Int { 2 * bytes }

    /// Creates (or empties) `path` and fills it with `bytes` zeros, synced. Returns false, and leaves no file, when
    /// the disk has less than `freeSpaceNeeded(for:)` free, a write or the sync fails, or `cancelled` (asked before
    /// each MiB) says to stop.
    static func prepare(at path: String, bytes: Int, cancelled: () -> Bool = { false }) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        let prepared =
            hasRoom(fd, for: bytes) && zeroFill(fd, bytes: bytes, cancelled: cancelled) && fdatasync(fd) == 0
        close(fd)
        if !prepared { unlink(path) }
        return prepared
    }

    private static func hasRoom(_ fd: Int32, for bytes: Int) -> Bool {
        var info = statvfs()
        guard fstatvfs(fd, &info) == 0 else { return false }
        return Double(info.f_bavail) * Double(info.f_frsize) >= Double(freeSpaceNeeded(for: bytes))
    }

    private static func zeroFill(_ fd: Int32, bytes: Int, cancelled: () -> Bool) -> Bool {
        let chunk = [UInt8](repeating: 0, count: min(bytes, 1 << 20))
        var done = 0
        while done < bytes {
            if cancelled() { return false }
            let count = chunk.withUnsafeBytes { raw in
                pwrite(fd, raw.baseAddress!, min(raw.count, bytes - done), off_t(done))
            }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return false }
            done += count
        }
        return true
    }
}

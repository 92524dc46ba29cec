import BinaryText
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One shard file (`shard_NN.jsonl`) of the JSONL tier with its in-memory index.
///
/// Writes append one line per put (a later line for a key wins when the file is read); the
/// file is rewritten (temp file, fsync per policy, rename) only to drop lines: for a batch that
/// deletes, or when superseded lines outnumber live ones. Every change of the file happens with
/// `shard_NN.lock` held by `flock`, and first checks whether another process changed the file
/// since this one last saw it (then the index is reloaded from the file).
///
/// `@unchecked Sendable`: every member is used only with `lock` held (`JSONLStore` takes it).
final class JSONLShard: @unchecked Sendable {
    /// An indexed entry: the record, its insertion order (kept across rewrites) and its scan position.
    struct Slot {
        var record: JSONLRecord
        var sequence: UInt64
        var scanHash: UInt32
        /// The record's line as it is in the file (newline included): a rewrite copies it instead of encoding.
        var line: [UInt8]
    }

    let number: Int
    let directory: String
    let path: String
    let lockPath: String
    let lock = NIOLock()

    /// key -> entry; the live state of the shard.
    var slots: [String: Slot] = [:]
    /// Lines in the file, live, superseded and corrupt.
    private(set) var lineCount = 0
    /// Corrupt lines skipped by every load so far.
    private(set) var corruptLinesSkipped = 0
    /// Why the file could not be read (a shard-level failure), until `reset()`.
    private(set) var failure: StoreError?
    /// Written since the last `sync()`: the file, and the directory (a created or renamed file).
    var fileNeedsSync = false
    var directoryNeedsSync = false
    var isClosed = false
    /// How long to wait for another process's `flock` before failing with `.busy`.
    var lockTimeoutMilliseconds = 10_000

    private var nextSequence: UInt64 = 0
    private var appendFD: Int32 = -1
    private var lockFD: Int32 = -1
    /// The file as this process last left it; a difference means another process changed it.
    private var known: FileIdentity?
    private var endsWithNewline = true

    init(number: Int, directory: String) {
        self.number = number
        self.directory = directory
        let name = number < 10 ? "shard_0\(number)" : "shard_\(number)"
        self.path = directory + "/" + name + ".jsonl"
        self.lockPath = directory + "/" + name + ".lock"
    }

    /// The shard (0-15) of `key`, as proxywhirl picks it: `int(md5(key).hexdigest(), 16) % 16`,
    /// i.e. the low nibble of the digest's last byte; and the key's position in a scan.
    static func locate(_ key: String) -> (shard: Int, scanHash: UInt32) {
        // The MD5 of the key's bytes (``BinaryText``), as proxywhirl hashes its text: a key written as text by an
        // older version stays in its shard when it is read in its escaped form.
        let digest = BinaryText.withBytes(of: key) { MD5.digest($0) }
        let scanHash = digest[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return (Int(digest[15] & 0x0F), scanHash)
    }

    /// Opens the lock file and loads the index. A shard file that cannot be read is recorded in
    /// `failure` (operations on it then throw) rather than thrown, so the store still opens.
    func open() throws(StoreError) {
        let fd = JSONLFileSystem.openFile(lockPath, O_RDWR | O_CREAT)
        guard fd >= 0 else { throw JSONLFileSystem.error("open \(lockPath)") }
        lockFD = fd
        do {
            try withFileLock { () throws(StoreError) in try load() }
        } catch  where error.kind == .corrupt || error.kind == .io {
            failure = error
        }
    }

    /// Runs `body` with the exclusive `flock` on the lock file held.
    func withFileLock<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        guard !isClosed else { throw StoreError(.closed, "JSONL store is closed") }
        try JSONLFileSystem.lockExclusive(lockFD, path: lockPath, timeoutMilliseconds: lockTimeoutMilliseconds)
        defer { JSONLFileSystem.unlock(lockFD) }
        return try body()
    }

    /// Throws if the store was closed or the shard is broken.
    func checkUsable() throws(StoreError) {
        if isClosed { throw StoreError(.closed, "JSONL store is closed") }
        if let failure { throw failure }
    }

    /// Reloads the index when another process changed the file. Call with the file lock held.
    func refreshIfChanged() throws(StoreError) {
        if try JSONLFileSystem.identity(path) != known {
            try load()
        }
    }

    /// Reads the file into the index. Call with the file lock held.
    func load() throws(StoreError) {
        closeAppendFile()
        slots = [:]
        lineCount = 0
        endsWithNewline = true
        known = nil
        guard let bytes = try JSONLFileSystem.readFile(path) else { return }
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            let line = bytes[start..<end]
            start = end + 1
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") }) {
                continue
            }
            lineCount += 1
            guard let record = JSONLEntryCodec.decode(line) else {
                corruptLinesSkipped += 1
                continue
            }
            insert(record, line: Array(line) + [UInt8(ascii: "\n")])
        }
        endsWithNewline = bytes.last.map { $0 == UInt8(ascii: "\n") } ?? true
        known = FileIdentity(inode: try JSONLFileSystem.identity(path)?.inode ?? 0, size: Int64(bytes.count))
    }

    /// Sets `record` (encoded as `line`) in the index, keeping the insertion order of a key already present.
    func insert(_ record: JSONLRecord, line: [UInt8]) {
        if var slot = slots[record.key] {
            slot.record = record
            slot.line = line
            slots[record.key] = slot
        } else {
            slots[record.key] = Slot(
                record: record,
                sequence: nextSequence,
                scanHash: Self.locate(record.key).scanHash,
                line: line
            )
            nextSequence += 1
        }
    }

    /// Appends encoded lines to the file. Call with the file lock held.
    func append(_ lines: [UInt8], lineCount added: Int, policy: FsyncPolicy) throws(StoreError) {
        if appendFD < 0 {
            let existed = known != nil
            appendFD = try JSONLFileSystem.openForAppend(path)
            if !existed { directoryNeedsSync = true }
        }
        let bytes = endsWithNewline ? lines : [UInt8(ascii: "\n")] + lines
        do {
            try JSONLFileSystem.writeAll(appendFD, bytes, path: path)
        } catch {
            // Part of the batch may be in the file: make the next operation reload it.
            known = FileIdentity(inode: 0, size: -1)
            throw error
        }
        lineCount += added
        endsWithNewline = true
        if let current = try JSONLFileSystem.identity(path) {
            known = current
        }
        if policy == .always {
            try syncNow()
        } else {
            fileNeedsSync = true
        }
    }

    /// Rewrites the file from the index: temp file, fsync (unless policy `.no`), rename over the
    /// shard. Call with the file lock held.
    func rewrite(policy: FsyncPolicy) throws(StoreError) {
        var bytes = [UInt8]()
        for slot in slots.values.sorted(by: { $0.sequence < $1.sequence }) {
            bytes.append(contentsOf: slot.line)
        }
        let temporary = path + ".tmp"
        let fd = JSONLFileSystem.openFile(temporary, O_WRONLY | O_CREAT | O_TRUNC)
        guard fd >= 0 else { throw JSONLFileSystem.error("open \(temporary)") }
        do {
            try JSONLFileSystem.writeAll(fd, bytes, path: temporary)
            if policy != .no {
                try JSONLFileSystem.sync(fd, path: temporary)
            }
        } catch {
            JSONLFileSystem.closeFile(fd)
            unlink(temporary)
            throw error
        }
        JSONLFileSystem.closeFile(fd)
        guard rename(temporary, path) == 0 else {
            let error = JSONLFileSystem.error("rename \(temporary)")
            unlink(temporary)
            throw error
        }
        closeAppendFile()
        lineCount = slots.count
        endsWithNewline = true
        known = try JSONLFileSystem.identity(path)
        fileNeedsSync = false
        if policy == .always {
            try JSONLFileSystem.syncDirectory(directory)
        } else {
            directoryNeedsSync = true
        }
    }

    /// Flushes the file if written since the last sync.
    func syncNow() throws(StoreError) {
        if appendFD >= 0 {
            try JSONLFileSystem.sync(appendFD, path: path)
        }
        if directoryNeedsSync {
            try JSONLFileSystem.syncDirectory(directory)
            directoryNeedsSync = false
        }
        fileNeedsSync = false
    }

    /// Forgets the index and the failure (after the files were moved aside).
    func reset() {
        closeAppendFile()
        slots = [:]
        lineCount = 0
        known = nil
        endsWithNewline = true
        failure = nil
        fileNeedsSync = false
    }

    /// Closes the files; later operations throw `.closed`.
    func close() {
        closeAppendFile()
        if lockFD >= 0 {
            JSONLFileSystem.closeFile(lockFD)
            lockFD = -1
        }
        isClosed = true
    }

    private func closeAppendFile() {
        if appendFD >= 0 {
            JSONLFileSystem.closeFile(appendFD)
            appendFD = -1
        }
    }
}

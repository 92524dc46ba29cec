#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension JSONLMigration {
    /// The suffix a shard file gets once its entries were migrated, so that a later migration does
    /// not import it again (`shard_03.jsonl` becomes `shard_03.jsonl.migrated`).
    public static let migratedSuffix = ".migrated"

    /// The names of the shard files (`shard_*.jsonl`) in `directory`, sorted; empty when there are
    /// none or the directory cannot be listed.
    public static func shardFileNames(in directory: String) -> [String] {
        guard let stream = opendir(directory) else { return [] }
        defer { closedir(stream) }
        var names = [String]()
        while let item = readdir(stream) {
            let name = withUnsafeBytes(of: item.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasPrefix("shard_") && name.hasSuffix(".jsonl") {
                names.append(name)
            }
        }
        return names.sorted()
    }

    /// Moves the shard files of `directory` into `store`: migrates their entries (see
    /// `migrate(shardsIn:cipher:into:)`), syncs the store, then renames each shard file to
    /// `<name>.migrated` (`<name>.migrated.1`, ... when that exists already).
    ///
    /// While it runs it holds the `flock` of every shard that has a lock file (`shard_NN.lock`, as
    /// the JSONL tier takes for each write), so a JSONL tier of another process cannot write a shard
    /// between the read and the rename. Entries skipped (expired, undecryptable, corrupt lines) stay
    /// in the renamed files. If the process dies after the store committed and before the renames,
    /// running it again puts the same entries again (puts are upserts: nothing is duplicated).
    ///
    /// - Parameters:
    ///   - directory: the directory holding the shards.
    ///   - cipher: decrypts the shards' credentials.
    ///   - store: where the entries go.
    /// - Returns: how many entries were migrated, how many lines were skipped, and how many shard
    ///   files were renamed (0 when there were none: nothing was done).
    /// - Throws: `StoreError` when a shard cannot be read, locked or renamed, or the store fails.
    public static func migrateShardFiles(
        in directory: String,
        cipher: CredentialCipher,
        into store: any PersistentStore
    ) throws(StoreError) -> (migrated: Int, skipped: Int, files: Int) {
        let names = shardFileNames(in: directory)
        guard !names.isEmpty else { return (0, 0, 0) }
        var lockFDs = [Int32]()
        defer {
            for fd in lockFDs {
                JSONLFileSystem.unlock(fd)
                JSONLFileSystem.closeFile(fd)
            }
        }
        for name in names {
            let lockPath = directory + "/" + name.dropLast(".jsonl".count) + ".lock"
            let fd = JSONLFileSystem.openFile(lockPath, O_RDWR)
            guard fd >= 0 else { continue }  // no lock file: no JSONL tier of ours ever used this shard
            lockFDs.append(fd)
            try JSONLFileSystem.lockExclusive(fd, path: lockPath)
        }
        let (migrated, skipped) = try migrate(shardsIn: directory, cipher: cipher, into: store)
        try store.sync()
        for name in names {
            let path = directory + "/" + name
            try renameFile(path, to: freeName(path + migratedSuffix))
        }
        try JSONLFileSystem.syncDirectory(directory)
        return (migrated, skipped, names.count)
    }

    /// `path`, or `path.1`, `path.2`, ... : the first that does not exist.
    private static func freeName(_ path: String) -> String {
        var candidate = path
        var attempt = 1
        while access(candidate, F_OK) == 0 {
            candidate = "\(path).\(attempt)"
            attempt += 1
        }
        return candidate
    }

    private static func renameFile(_ path: String, to target: String) throws(StoreError) {
        guard rename(path, target) == 0 else {
            throw JSONLFileSystem.error("rename \(path) to \(target)")
        }
    }
}

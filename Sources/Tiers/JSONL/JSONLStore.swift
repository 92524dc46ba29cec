import Logging
import NIOConcurrencyHelpers

/// The L2 tier on 16 JSONL shard files (`--l2-backend jsonl`), in proxywhirl's format:
/// `shard_00.jsonl` ... `shard_15.jsonl`, shard = md5(key) mod 16, one JSON object per line,
/// credentials as hex of their Fernet tokens.
///
/// Better than proxywhirl's tier, which rewrote a whole shard for every put: a put appends one
/// line (the later line for a key wins on load), and a shard is rewritten atomically only to drop
/// lines (a batch with deletes, or when dead lines outnumber live ones). A batch touches each
/// shard at most once. An index per shard, loaded at open, answers reads; a write first checks
/// whether another process changed the shard and reloads it if so.
///
/// Times are kept at microsecond precision (the ISO-8601 text has six decimals, like Python's
/// `isoformat()`), so an entry read back can differ from the one put below a microsecond.
///
/// Threads: each shard's index and files are guarded by that shard's `NIOLock`; the cipher by a
/// locked box. A batch is atomic per shard, not across shards.
public final class JSONLStore: PersistentStore {
    public let tier: TierID = .l2
    public let description: String
    /// The directory holding the shards.
    public let directory: String

    let shards: [JSONLShard]
    let fsync: FsyncPolicy
    let logger: Logger
    let cipherBox: NIOLockedValueBox<CredentialCipher>

    /// The number of shard files.
    public static let shardCount = 16

    /// Opens (creating when missing) the shards in `directory` and loads their index.
    ///
    /// - Parameters:
    ///   - directory: the L2 directory (created with mode 0700 when missing).
    ///   - cipher: encrypts credentials written and decrypts those read.
    ///   - fsync: `.always` syncs before `apply` returns; otherwise `sync()` does.
    ///   - logger: told about corrupt lines and unreadable shards.
    /// - Throws: `StoreError` when the directory or the lock files cannot be created. An unreadable
    ///   shard does not fail the open: operations on it throw `.corrupt` until `recoverFromCorruption()`.
    public init(directory: String, cipher: CredentialCipher, fsync: FsyncPolicy, logger: Logger) throws(StoreError) {
        self.directory = directory
        self.description = "jsonl \(directory) (\(Self.shardCount) shards)"
        self.fsync = fsync
        self.logger = logger
        self.cipherBox = NIOLockedValueBox(cipher)
        try JSONLFileSystem.makeDirectories(directory)
        var shards = [JSONLShard]()
        for number in 0..<Self.shardCount {
            let shard = JSONLShard(number: number, directory: directory)
            do {
                try shard.open()
            } catch {
                for opened in shards { opened.close() }
                throw error
            }
            if let failure = shard.failure {
                logger.info("JSONL shard unreadable", metadata: ["cache.tier": "l2", "error": "\(failure)"])
            }
            shards.append(shard)
        }
        self.shards = shards
        do {
            try sealLegacySecrets()
        } catch {
            // The store still works; the lines stay as they were until written again.
            logger.warning(
                "JSONL lines with clear URL passwords not sealed",
                metadata: ["cache.tier": "l2", "error": "\(error)"]
            )
        }
        let corrupt = corruptLinesSkipped
        if corrupt > 0 {
            logger.info(
                "JSONL corrupt lines skipped",
                metadata: ["cache.tier": "l2", "jsonl.corrupt_lines": "\(corrupt)"]
            )
        }
    }

    /// Corrupt lines skipped while reading the shards (at open, and when reloading a shard that
    /// another process changed); the cache counts them as corruption evictions.
    public var corruptLinesSkipped: Int {
        shards.reduce(0) { total, shard in total + shard.lock.withLock { shard.corruptLinesSkipped } }
    }

    /// The cipher in use (`reencryptAll` replaces it).
    var cipher: CredentialCipher { cipherBox.withLockedValue { $0 } }

    public func get(_ key: String) throws(StoreError) -> CacheEntry? {
        let shard = shards[JSONLShard.locate(key).shard]
        shard.lock.lock()
        let record: JSONLRecord?
        do {
            try shard.checkUsable()
            record = shard.slots[key]?.record
        } catch {
            shard.lock.unlock()
            throw error
        }
        shard.lock.unlock()
        return try record?.open(cipher: cipher)
    }

    public func apply(_ writes: [StoreWrite]) throws(StoreError) {
        let cipher = self.cipher
        var buckets = [[JSONLShardWrite]](repeating: [], count: Self.shardCount)
        for write in writes {
            switch write {
            case .put(let entry):
                buckets[JSONLShard.locate(entry.key).shard].append(.put(JSONLRecord(sealing: entry, cipher: cipher)))
            case .delete(let key):
                buckets[JSONLShard.locate(key).shard].append(.delete(key))
            case .appendHealth:
                continue  // the JSONL tier keeps no health history
            }
        }
        for (number, bucket) in buckets.enumerated() where !bucket.isEmpty {
            try withShard(number) { shard throws(StoreError) in try shard.apply(bucket, policy: fsync) }
        }
    }

    public func count() throws(StoreError) -> Int {
        var total = 0
        for number in shards.indices {
            total += try withShard(number) { shard throws(StoreError) in shard.slots.count }
        }
        return total
    }

    public func scanKeys(cursor: UInt64, limit: Int) throws(StoreError) -> (next: UInt64, keys: [String]) {
        // A cursor is a position `shard << 32 | scanHash`: keys are visited in (shard, md5 prefix)
        // order, so keys present throughout are returned exactly once whatever else changes.
        let limit = max(1, limit)
        var keys = [String]()
        var number = Int(cursor >> 32)
        var lowest = UInt32(truncatingIfNeeded: cursor)
        while number < Self.shardCount {
            let candidates = try withShard(number) { shard throws(StoreError) in
                shard.slots.values.filter { $0.scanHash >= lowest }.map { ($0.scanHash, $0.record.key) }
            }.sorted { $0 < $1 }
            var previousHash: UInt32?
            for (hash, key) in candidates {
                if keys.count >= limit && hash != previousHash {
                    return (UInt64(number) << 32 | UInt64(hash), keys)
                }
                keys.append(key)
                previousHash = hash
            }
            number += 1
            lowest = 0
        }
        return (0, keys)
    }

    public func history(_ key: String, limit: Int) throws(StoreError) -> [HealthCheckRecord] {
        []
    }

    /// Runs `body` on shard `number` with its lock held, after checking it is usable.
    func withShard<T>(_ number: Int, _ body: (JSONLShard) throws(StoreError) -> T) throws(StoreError) -> T {
        let shard = shards[number]
        shard.lock.lock()
        defer { shard.lock.unlock() }
        try shard.checkUsable()
        return try body(shard)
    }
}

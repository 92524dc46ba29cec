import EntrySchema
import Foundation

/// Copies JSONL shards (proxywhirl's or ours) into another store, e.g. `cachesrvd migrate-l2`
/// from the JSONL to the SQLite L2 (proxywhirl's `DiskCacheTier.migrate_from_jsonl`).
public enum JSONLMigration {
    /// Entries per `apply` batch.
    static let batchSize = 500

    /// Reads every `shard_*.jsonl` in `directory` and puts its entries into `store`.
    ///
    /// Within the shards the last line of a key wins (as when the JSONL tier loads them).
    /// Corrupt lines, entries whose credentials `cipher` cannot decrypt and entries already
    /// expired are skipped and counted.
    ///
    /// - Parameters:
    ///   - directory: the directory holding the shards.
    ///   - cipher: decrypts the shards' credentials (the target store encrypts with its own).
    ///   - store: where the entries go, in batches of 500 puts.
    /// - Returns: how many entries were migrated and how many lines were skipped.
    /// - Throws: `StoreError` when the directory or a shard cannot be read, or the store fails.
    public static func migrate(
        shardsIn directory: String,
        cipher: CredentialCipher,
        into store: any PersistentStore
    ) throws(StoreError) -> (migrated: Int, skipped: Int) {
        let (records, corrupt) = try readShards(in: directory)
        let now = SystemClock().now()
        var skipped = corrupt
        var migrated = 0
        var batch = [StoreWrite]()
        for (record, _) in records {
            guard !record.entry.isExpired(at: now), let entry = try? record.open(cipher: cipher) else {
                skipped += 1
                continue
            }
            batch.append(.put(entry))
            if batch.count == batchSize {
                try store.apply(batch)
                migrated += batch.count
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty {
            try store.apply(batch)
            migrated += batch.count
        }
        return (migrated, skipped)
    }

    /// The records of every `shard_*.jsonl` in `directory` (the last line of a key wins), in key
    /// order, each with the fields its line holds (a key present, even as null), and the number of
    /// corrupt lines.
    static func readShards(
        in directory: String
    ) throws(StoreError) -> (records: [(record: JSONLRecord, fields: Set<CacheEntry.Field>)], corrupt: Int) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw StoreError(.io, "cannot list \(directory): \(error.localizedDescription)")
        }
        var byKey = [String: (record: JSONLRecord, fields: Set<CacheEntry.Field>)]()
        var corrupt = 0
        for name in names.sorted() where name.hasPrefix("shard_") && name.hasSuffix(".jsonl") {
            guard let bytes = try JSONLFileSystem.readFile(directory + "/" + name) else { continue }
            for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
                if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { continue }
                if let record = JSONLEntryCodec.decode(line) {
                    byKey[record.key] = (record, fields(of: line))
                } else {
                    corrupt += 1
                }
            }
        }
        return (byKey.keys.sorted().map { byKey[$0]! }, corrupt)
    }

    /// The entry fields a (valid) line has a key for.
    private static func fields(of line: some Collection<UInt8>) -> Set<CacheEntry.Field> {
        let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any]
        return Set((object?.keys).map { $0.compactMap(EntryField.init(columnName:)) } ?? [])
    }
}

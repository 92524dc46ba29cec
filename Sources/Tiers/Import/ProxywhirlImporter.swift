#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads an existing proxywhirl cache, so that `cachesrvd import-proxywhirl` can take over from it:
/// its L3 database (`cache_entries`, credentials as BLOBs of Fernet tokens) and its L2 directory
/// (JSONL shards with hex tokens and/or `l2_cache.db`), with its credential key.
public enum ProxywhirlImporter {
    /// Reads the entries of a proxywhirl cache with their credentials decrypted.
    ///
    /// A key present in several places is taken from the most recently touched copy (the later of
    /// `last_accessed` and, in L3, `updated_at`; L3 wins a tie). Expired rows, rows whose
    /// credentials the keys cannot decrypt and broken rows or lines are skipped and counted.
    ///
    /// - Parameters:
    ///   - l3Database: proxywhirl's L3 database (`.cache/db/proxywhirl.db`), or `nil`.
    ///   - l2Directory: proxywhirl's L2 directory (`.cache/proxies`), or `nil`.
    ///   - key: proxywhirl's key (`PROXYWHIRL_CACHE_ENCRYPTION_KEY`).
    ///   - previousKeys: its previous keys (`PROXYWHIRL_CACHE_KEY_PREVIOUS`).
    ///   - now: Unix seconds deciding what is expired.
    /// - Returns: the entries in key order, and how many rows and lines were skipped.
    /// - Throws: `StoreError` when a given database or directory cannot be read.
    public static func read(
        l3Database: String?,
        l2Directory: String?,
        key: FernetKey,
        previousKeys: [FernetKey],
        now: Double
    ) throws(StoreError) -> (entries: [CacheEntry], skipped: Int) {
        let cipher = CredentialCipher(current: key, previous: previousKeys)
        var newest = [String: (entry: CacheEntry, recency: Double)]()
        var skipped = 0

        func offer(_ entry: CacheEntry?, recency: Double) {
            guard let entry, !entry.isExpired(at: now) else {
                skipped += 1
                return
            }
            if let current = newest[entry.key], current.recency >= recency { return }
            newest[entry.key] = (entry, recency)
        }

        if let l3Database {
            for row in try ProxywhirlTableReader.rows(database: l3Database, table: "cache_entries") {
                let entry = ProxywhirlRow.entry(row, cipher: cipher)
                offer(entry, recency: max(entry?.lastAccessed ?? 0, row["updated_at"]?.double ?? 0))
            }
        }
        if let l2Directory {
            let (records, corrupt) = try JSONLMigration.readShards(in: l2Directory)
            skipped += corrupt
            for record in records {
                let entry = try? record.open(cipher: cipher)
                offer(entry, recency: entry?.lastAccessed ?? 0)
            }
            let sqlitePath = l2Directory + "/l2_cache.db"
            if access(sqlitePath, F_OK) == 0 {
                for row in try ProxywhirlTableReader.rows(database: sqlitePath, table: "l2_cache") {
                    let entry = ProxywhirlRow.entry(row, cipher: cipher)
                    offer(entry, recency: entry?.lastAccessed ?? 0)
                }
            }
        }
        return (newest.keys.sorted().map { newest[$0]!.entry }, skipped)
    }
}

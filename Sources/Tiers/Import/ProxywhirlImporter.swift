#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads an existing proxywhirl cache, so that `cachesrvd import-proxywhirl` can take over from it:
/// its L3 database (`cache_entries`, credentials as BLOBs of Fernet tokens) and its L2 directory
/// (JSONL shards with hex tokens and/or `l2_cache.db`), with its credential key.
public enum ProxywhirlImporter {
    /// What a proxywhirl cache holds.
    public struct Result: Sendable {
        /// The live entries in key order, each merged from all its readable copies.
        public var entries: [CacheEntry]
        /// Keys whose merged entry is expired.
        public var expired: Int
        /// Rows and lines that are not entries (corrupt lines, values of the wrong type).
        public var broken: Int
        /// Keys (sorted) with a copy whose credentials no given key decrypts: not in `entries`.
        public var undecryptable: [String]

        /// Everything not imported.
        public var skipped: Int { expired + broken + undecryptable.count }
    }

    /// Reads the entries of a proxywhirl cache with their credentials decrypted.
    ///
    /// The copies of a key (in L3, the JSONL shards and `l2_cache.db`) are merged field by field: for
    /// each field the most recently touched copy that really holds it wins (recency is the later of
    /// `last_accessed` and, in L3, `updated_at`; L3 wins a tie, then JSONL). A copy from `l2_cache`, which
    /// has no health-monitoring columns, therefore never overrides L3's health fields. A key with a
    /// copy whose credentials the keys cannot decrypt is left out and reported, never merged from its
    /// other copies (they could hold stale credentials).
    ///
    /// - Parameters:
    ///   - l3Database: proxywhirl's L3 database (`.cache/db/proxywhirl.db`), or `nil`.
    ///   - l2Directory: proxywhirl's L2 directory (`.cache/proxies`), or `nil`.
    ///   - key: proxywhirl's key (`PROXYWHIRL_CACHE_ENCRYPTION_KEY`).
    ///   - previousKeys: its previous keys (`PROXYWHIRL_CACHE_KEY_PREVIOUS`).
    ///   - now: Unix seconds deciding what is expired.
    /// - Throws: `StoreError` when a given database or directory cannot be read.
    public static func read(
        l3Database: String?,
        l2Directory: String?,
        key: FernetKey,
        previousKeys: [FernetKey],
        now: Double
    ) throws(StoreError) -> Result {
        let cipher = CredentialCipher(current: key, previous: previousKeys)
        var copies = [String: [ProxywhirlCopy]]()
        var undecryptable = Set<String>()
        var broken = 0

        func offer(_ outcome: ProxywhirlRow.Outcome, origin: ProxywhirlCopy.Origin, updatedAt: Double = 0) {
            switch outcome {
            case .broken:
                broken += 1
            case .undecryptable(let key):
                undecryptable.insert(key)
            case .entry(let entry, let fields):
                let copy = ProxywhirlCopy(
                    entry: entry,
                    fields: fields,
                    recency: max(entry.lastAccessed, updatedAt),
                    origin: origin
                )
                copies[entry.key, default: []].append(copy)
            }
        }

        if let l3Database {
            for row in try ProxywhirlTableReader.rows(database: l3Database, table: "cache_entries") {
                offer(ProxywhirlRow.read(row, cipher: cipher), origin: .l3, updatedAt: row["updated_at"]?.double ?? 0)
            }
        }
        if let l2Directory {
            let (records, corrupt) = try JSONLMigration.readShards(in: l2Directory)
            broken += corrupt
            for (record, fields) in records {
                if let entry = try? record.open(cipher: cipher) {
                    offer(.entry(entry, fields: fields), origin: .jsonl)
                } else {
                    offer(.undecryptable(key: record.key), origin: .jsonl)
                }
            }
            let sqlitePath = l2Directory + "/l2_cache.db"
            if access(sqlitePath, F_OK) == 0 {
                for row in try ProxywhirlTableReader.rows(database: sqlitePath, table: "l2_cache") {
                    offer(ProxywhirlRow.read(row, cipher: cipher), origin: .sqliteL2)
                }
            }
        }

        var result = Result(entries: [], expired: 0, broken: broken, undecryptable: undecryptable.sorted())
        for key in copies.keys.sorted() where !undecryptable.contains(key) {
            guard let entry = ProxywhirlCopy.merge(copies[key] ?? []) else { continue }
            if entry.isExpired(at: now) {
                result.expired += 1
            } else {
                result.entries.append(entry)
            }
        }
        return result
    }
}

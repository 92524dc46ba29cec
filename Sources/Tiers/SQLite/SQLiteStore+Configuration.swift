extension SQLiteStore {
    /// Which tier a SQLite store is, and what follows from it: the schema and the database file.
    ///
    /// - `.l2(directory:)`: `l2_cache.db` in the L2 directory, proxywhirl's `l2_cache` table plus the
    ///   health-monitoring columns proxywhirl's SQLite L2 drops; no health history.
    /// - `.l3(path:)`: the file at `path` (the server's default is `<data-dir>/cachesrvd.db`), proxywhirl's
    ///   `cache_entries` (with `created_at`/`updated_at` and every health-monitoring column) and `health_history`,
    ///   whose foreign key really cascades (`PRAGMA foreign_keys=ON` on every connection). Upserts keep
    ///   `created_at` and the rowid.
    public struct Configuration: Sendable {
        /// The file name of the L2 database in the L2 directory.
        public static let l2FileName = "l2_cache.db"

        /// Which tier the store is.
        public let tier: TierID
        /// The database file.
        public let path: String
        /// The tables, columns and indexes of the tier.
        let schema: SQLiteSchema

        private init(tier: TierID, path: String, schema: SQLiteSchema) {
            self.tier = tier
            self.path = path
            self.schema = schema
        }

        /// The L2 tier: `<directory>/l2_cache.db`.
        public static func l2(directory: String) -> Configuration {
            let path = directory.hasSuffix("/") ? directory + l2FileName : directory + "/" + l2FileName
            return Configuration(tier: .l2, path: path, schema: .l2)
        }

        /// The L3 tier: the database file at `path`.
        public static func l3(path: String) -> Configuration {
            Configuration(tier: .l3, path: path, schema: .l3)
        }
    }
}

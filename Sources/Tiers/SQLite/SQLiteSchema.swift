import EntrySchema

/// The shape of one SQLite tier's database: proxywhirl's tables, plus what proxywhirl left out.
///
/// - L2 (`l2_cache.db`): proxywhirl's `l2_cache` columns and indexes, plus every health-monitoring
///   column and an index on `last_accessed` (for LRU eviction).
/// - L3: proxywhirl's `cache_entries` (with `created_at`, `updated_at`) and `health_history`, with
///   proxywhirl's index names.
///
/// proxywhirl reads both entry tables with `SELECT *` and maps the row by position onto its own list of names, so
/// each table starts with proxywhirl's columns in proxywhirl's order (`Table.positionalColumns`) and has the
/// columns proxywhirl lacks after them: a proxywhirl process can read a file of ours.
///
/// Unlike proxywhirl, `expires_at` may be NULL (the entry never expires) and `health_history.check_url`
/// may be NULL (a check with no URL). `PRAGMA user_version` records the schema version.
struct SQLiteSchema: Sendable {
    /// One column: its name and its declaration in `CREATE TABLE`.
    struct Column: Sendable {
        var name: String
        var declaration: String
        /// Columns a file must already have to be recognised as this tier's (the others are added).
        var isRequired: Bool = false
        /// Whether this column must accept NULL (an older NOT NULL declaration forces a rebuild).
        var mustBeNullable: Bool = false
    }

    /// One table and its indexes.
    struct Table: Sendable {
        var name: String
        var columns: [Column]
        /// Table constraints after the columns (e.g. a foreign key).
        var constraints: [String] = []
        /// `(index name, indexed columns)`.
        var indexes: [(name: String, columns: String)]
        /// How many leading columns must be in exactly this order (proxywhirl reads them by position); a file whose
        /// leading columns are in another order is rebuilt.
        var positionalColumns = 0

        /// `CREATE TABLE name (...)` under `name` (which a rebuild changes).
        func createSQL(as tableName: String) -> String {
            let parts = columns.map { "\($0.name) \($0.declaration)" } + constraints
            return "CREATE TABLE \(tableName) (\n    " + parts.joined(separator: ",\n    ") + "\n)"
        }

        var createIndexesSQL: String {
            indexes.map { "CREATE INDEX IF NOT EXISTS \($0.name) ON \(name)(\($0.columns));" }.joined(separator: "\n")
        }
    }

    /// The schema version this code writes (`PRAGMA user_version`): 1 first, 2 added `proxy_url_encrypted`, 3 added
    /// `custom_fields`, 4 put L3's columns in proxywhirl's order (`l3ColumnOrder`).
    static let currentVersion = 4

    /// The columns later versions appended, oldest first: an upgraded file has them after every other column.
    static let appendedEntryColumns = [EntryColumn.sealedProxyURL, EntryColumn.customFields]

    /// The table of entries (`l2_cache` or `cache_entries`).
    var entries: Table
    /// L3's `health_history`; `nil` for L2.
    var history: Table?
    /// Whether the entries table has `created_at` and `updated_at` (L3).
    var hasTimestamps: Bool

    /// The columns `EntryRow` reads and writes, in its order (also L2's order on disk, and L3's before version 4,
    /// followed there by `created_at`, `updated_at`): the key, one column per field in `EntryField.all`'s order
    /// (`EntryField.facts` declares it), then the columns later versions appended. Statements name their columns,
    /// so this order need not be a table's.
    static let entryColumns: [Column] =
        [Column(name: EntryColumn.key, declaration: "TEXT PRIMARY KEY", isRequired: true)]
        + EntryField.all.map { field in
            let facts = field.facts
            return Column(
                name: field.columnName,
                declaration: facts.declaration,
                isRequired: facts.isRequiredColumn,
                mustBeNullable: facts.mustBeNullable
            )
        } + [
            // Schema version 2: the whole proxy_url as a Fernet token when it carries a password (ProxyURLSeal).
            Column(name: EntryColumn.sealedProxyURL, declaration: "BLOB"),
            // Schema version 3: the entry's custom fields (CustomFieldsCodec's JSON), NULL when it has none.
            Column(name: EntryColumn.customFields, declaration: "TEXT"),
        ]

    /// L2: `l2_cache` in `l2_cache.db`.
    static let l2 = SQLiteSchema(
        entries: Table(
            name: "l2_cache",
            columns: entryColumns,
            indexes: [
                ("idx_l2_expires_at", "expires_at"),
                ("idx_l2_source", "source"),
                ("idx_l2_last_accessed", "last_accessed"),
            ],
            // proxywhirl's `l2_cache` (tiers.py `DiskCacheTier`): key ... evicted_from_l1, the first 13 columns.
            positionalColumns: 13
        ),
        history: nil,
        hasTimestamps: false
    )

    /// L3's `created_at` (kept by updates) and `updated_at`.
    static let timestampColumns = [
        Column(name: EntryColumn.createdAt, declaration: "REAL NOT NULL DEFAULT 0"),
        Column(name: EntryColumn.updatedAt, declaration: "REAL NOT NULL DEFAULT 0"),
    ]

    /// How many columns proxywhirl's `cache_entries` has: the first ones of `l3ColumnOrder`.
    static let proxywhirlL3ColumnCount = 23

    /// `cache_entries`'s columns on disk since version 4: proxywhirl 0.3.3's, in the order of its CREATE TABLE and of
    /// the list its `SQLiteCacheTier.get` zips a `SELECT *` row with (tiers.py), then the columns proxywhirl lacks.
    static let l3ColumnOrder = [
        "key", "proxy_url", "username_encrypted", "password_encrypted", "source", "fetch_time", "last_accessed",
        "access_count", "ttl_seconds", "expires_at", "health_status", "failure_count", "created_at", "updated_at",
        "last_health_check", "consecutive_health_failures", "consecutive_health_successes", "recovery_attempt",
        "next_check_time", "last_health_error", "total_health_checks", "total_health_check_failures",
        "evicted_from_l1",
        // cachesrvd's own, appended in the order of the versions that added them.
        "proxy_url_encrypted", "custom_fields",
    ]

    /// `cache_entries`'s columns on disk before version 4 (as created by version 3): `entryColumns`, then the
    /// timestamps. Salvage still meets files of this order.
    static let legacyL3ColumnOrder = entryColumns.map(\.name) + timestampColumns.map(\.name)

    /// L3: `cache_entries` and `health_history`.
    static let l3 = SQLiteSchema(
        entries: Table(
            name: "cache_entries",
            columns: l3ColumnOrder.compactMap { name in (entryColumns + timestampColumns).first { $0.name == name } },
            indexes: [
                ("idx_expires_at", "expires_at"),
                ("idx_source", "source"),
                ("idx_health_status", "health_status"),
                ("idx_last_accessed", "last_accessed"),
            ],
            positionalColumns: proxywhirlL3ColumnCount
        ),
        history: Table(
            name: "health_history",
            columns: [
                Column(name: "id", declaration: "INTEGER PRIMARY KEY AUTOINCREMENT", isRequired: true),
                Column(name: "proxy_key", declaration: "TEXT NOT NULL", isRequired: true),
                Column(name: "check_time", declaration: "REAL NOT NULL", isRequired: true),
                Column(name: "status", declaration: "TEXT NOT NULL DEFAULT 'unknown'"),
                Column(name: "response_time_ms", declaration: "REAL"),
                Column(name: "error_message", declaration: "TEXT"),
                Column(name: "check_url", declaration: "TEXT", mustBeNullable: true),
            ],
            constraints: ["FOREIGN KEY (proxy_key) REFERENCES cache_entries(key) ON DELETE CASCADE"],
            indexes: [
                ("idx_health_history_proxy", "proxy_key"),
                ("idx_health_history_time", "check_time"),
            ]
        ),
        hasTimestamps: true
    )

    /// The tables, parents first.
    var tables: [Table] {
        [entries] + (history.map { [$0] } ?? [])
    }
}

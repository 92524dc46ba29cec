/// The L3 tables as SQLite declares them (`SQLiteSchema.l3`), for a store outside this module that keeps the same
/// tables in another database (the PostgreSQL L3 derives its column types from these declarations): one
/// declaration of the columns, their order and the indexes.
public enum L3Layout {
    /// One column: its name and its SQLite declaration (`TEXT NOT NULL`, `REAL`, `INTEGER DEFAULT 0`, ...).
    public struct Column: Sendable, Equatable {
        public var name: String
        public var declaration: String
    }

    /// One table: its columns in on-disk order (proxywhirl's first), its table constraints and its indexes.
    public struct Table: Sendable {
        public var name: String
        public var columns: [Column]
        public var constraints: [String]
        /// `(index name, indexed columns)`.
        public var indexes: [(name: String, columns: String)]
    }

    /// `cache_entries`, with `created_at` and `updated_at`.
    public static var entries: Table { table(SQLiteSchema.l3.entries) }

    /// `health_history`, whose `proxy_key` references `cache_entries(key)` with `ON DELETE CASCADE`.
    public static var history: Table {
        // L3's schema always has a history table.
        table(SQLiteSchema.l3.history ?? SQLiteSchema.l3.entries)
    }

    private static func table(_ table: SQLiteSchema.Table) -> Table {
        Table(
            name: table.name,
            columns: table.columns.map { Column(name: $0.name, declaration: $0.declaration) },
            constraints: table.constraints,
            indexes: table.indexes
        )
    }
}

import EntrySchema

/// The SQL of one SQLite tier, built once from its schema; each text is prepared once per
/// connection (statements are cached by their SQL).
struct SQLiteQueries: Sendable {
    let get: String
    let upsert: String
    /// A put's row updated in place, when it exists and keeps its `source` and `health_status` (held equal in the
    /// `WHERE`, so SQLite leaves their indexes alone); changes no row otherwise, and the upsert runs. Parameters as
    /// the upsert's.
    let updateInPlace: String
    let delete: String
    let count: String
    let scan: String
    let removeExpired: String
    let removeAll: [String]
    let appendHealth: String?
    let trimHistory: String?
    let history: String?
    let credentialsPage: String
    let updateCredentials: String
    private let table: String

    init(schema: SQLiteSchema) {
        let table = schema.entries.name
        self.table = table
        let columns = EntryRow.columnList
        let entryCount = Int(EntryRow.columnCount)
        get = "SELECT \(columns) FROM \(table) WHERE key = ?1"

        // An upsert, not INSERT OR REPLACE: the row (and its rowid, which scan cursors use) stays,
        // and L3's created_at is kept while updated_at moves.
        var insertColumns = columns
        var values = (1...entryCount).map { "?\($0)" }.joined(separator: ", ")
        var updates = SQLiteSchema.entryColumns.dropFirst().map { "\($0.name) = excluded.\($0.name)" }
        if schema.hasTimestamps {
            insertColumns += ", created_at, updated_at"
            values += ", ?\(entryCount + 1), ?\(entryCount + 1)"
            updates.append("updated_at = excluded.updated_at")
        }
        upsert = """
            INSERT INTO \(table) (\(insertColumns)) VALUES (\(values))
            ON CONFLICT(key) DO UPDATE SET \(updates.joined(separator: ", "))
            """
        updateInPlace = Self.updateInPlace(schema: schema)
        delete = "DELETE FROM \(table) WHERE key = ?1"
        count = "SELECT count(*) FROM \(table)"
        scan = "SELECT rowid, key FROM \(table) WHERE rowid > ?1 ORDER BY rowid LIMIT ?2"
        removeExpired = "DELETE FROM \(table) WHERE expires_at IS NOT NULL AND expires_at <= ?1 RETURNING key"
        credentialsPage = """
            SELECT rowid, key, username_encrypted, password_encrypted, proxy_url_encrypted FROM \(table)
            WHERE rowid > ?1 AND (username_encrypted IS NOT NULL OR password_encrypted IS NOT NULL
                OR proxy_url_encrypted IS NOT NULL)
            ORDER BY rowid LIMIT ?2
            """
        updateCredentials = """
            UPDATE \(table) SET username_encrypted = ?1, password_encrypted = ?2, proxy_url_encrypted = ?4
            WHERE rowid = ?3
            """

        if let history = schema.history?.name {
            removeAll = ["DELETE FROM \(history)", "DELETE FROM \(table)"]
            appendHealth = """
                INSERT INTO \(history) (proxy_key, check_time, status, response_time_ms, error_message, check_url)
                SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM \(table) WHERE key = ?1)
                """
            let newestFirst = "ORDER BY check_time DESC, id DESC"
            trimHistory = """
                DELETE FROM \(history) WHERE proxy_key = ?1 AND id NOT IN
                (SELECT id FROM \(history) WHERE proxy_key = ?1 \(newestFirst) LIMIT ?2)
                """
            self.history = """
                SELECT check_time, status, response_time_ms, error_message, check_url FROM \(history)
                WHERE proxy_key = ?1 \(newestFirst) LIMIT ?2
                """
        } else {
            removeAll = ["DELETE FROM \(table)"]
            appendHealth = nil
            trimHistory = nil
            history = nil
        }
    }

    /// Deletes the entries beyond `?1` in the policy's order in one statement, returning their keys.
    func evict(_ policy: EvictionPolicy) -> String {
        let order: String
        switch policy {
        case .lru:
            order = "last_accessed, rowid"
        case .lfu:
            order = "access_count, last_accessed, rowid"
        case .fifo:
            // Upserts keep the rowid, so rowid order is insertion order.
            order = "rowid"
        }
        return """
            DELETE FROM \(table) WHERE rowid IN
            (SELECT rowid FROM \(table) ORDER BY \(order) LIMIT max((SELECT count(*) FROM \(table)) - ?1, 0))
            RETURNING key
            """
    }

    /// The indexed columns that nearly every put changes, which `updateInPlace` sets rather than holds:
    /// `last_accessed` (the time of the write) and `expires_at` (a write with a TTL, as every cache verb's is
    /// by default, moves it).
    static let changingIndexedColumns: Set<String> = [
        EntryField.lastAccessed.columnName, EntryField.expiresAt.columnName,
    ]

    /// `updateInPlace` for `schema`: every entry column is set but the key and the indexed columns a write rarely
    /// changes, which the `WHERE` holds to their new values. Parameter n is `EntryRow`'s column n, as in the upsert.
    private static func updateInPlace(schema: SQLiteSchema) -> String {
        let names = SQLiteSchema.entryColumns.map(\.name)
        precondition(names.first == EntryColumn.key, "EntryRow binds the key to parameter 1")
        let indexed = Set(schema.entries.indexes.map(\.columns))
        let held = names.indices.dropFirst().filter {
            indexed.contains(names[$0]) && !changingIndexedColumns.contains(names[$0])
        }
        var updates = names.indices.dropFirst().filter { !held.contains($0) }.map { "\(names[$0]) = ?\($0 + 1)" }
        if schema.hasTimestamps {
            updates.append("\(EntryColumn.updatedAt) = ?\(names.count + 1)")
        }
        let conditions = ["\(EntryColumn.key) = ?1"] + held.map { "\(names[$0]) IS ?\($0 + 1)" }
        return "UPDATE \(schema.entries.name) SET \(updates.joined(separator: ", ")) WHERE "
            + conditions.joined(separator: " AND ")
    }
}

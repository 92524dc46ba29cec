import Tiers

/// The SQL of the PostgreSQL L3, built once from `PostgresSchema` (the same statements as `SQLiteQueries`, in
/// PostgreSQL's dialect).
struct PostgresQueries: Sendable {
    let get: String
    let delete: String
    let count: String
    let scan: String
    let removeExpired: String
    let removeAll: [String]
    let appendHealth: String
    let trimHistory: String
    let history: String
    let incrementFailures: String
    /// Takes the sweep's advisory lock for the transaction if no other session holds it; answers whether it did.
    let trySweepLock = "SELECT pg_try_advisory_xact_lock($1)"
    /// Other sessions of cachesrvd (its `application_name`) on this database.
    let otherSidecars = """
        SELECT count(*) FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'cachesrvd' AND pid <> pg_backend_pid()
        """
    let credentialsPage: String
    let updateCredentials: String
    let journalQuery = "SELECT applied FROM cachesrvd_journal WHERE sidecar_id = $1"
    let journalUpdate = """
        INSERT INTO cachesrvd_journal (sidecar_id, applied) VALUES ($1, $2)
        ON CONFLICT (sidecar_id) DO UPDATE SET applied = EXCLUDED.applied
        """
    private let table: String
    private let columns: String
    private let upsertUpdates: String
    /// The most entries one upsert statement takes: PostgreSQL allows 65,535 parameters in a statement, and fewer,
    /// larger statements are what makes a batch fast (each statement is one round trip).
    let upsertRowLimit: Int

    init() {
        let table = PostgresSchema.entries.name
        let history = PostgresSchema.history.name
        let rowID = PostgresSchema.rowIDColumn
        self.table = table
        let names = StoredEntryRow.columnNames
        let columns = names.joined(separator: ", ")
        get = "SELECT \(columns) FROM \(table) WHERE key = $1"
        self.columns = columns
        // An upsert: the row (and its row_id) stays, created_at is kept, updated_at moves.
        let updates = names.dropFirst().map { "\($0) = EXCLUDED.\($0)" } + ["updated_at = EXCLUDED.updated_at"]
        upsertUpdates = updates.joined(separator: ", ")
        upsertRowLimit = min(1000, 65_535 / names.count - 1)
        delete = "DELETE FROM \(table) WHERE key = $1"
        incrementFailures = """
            UPDATE \(table) SET failure_count = COALESCE(failure_count, 0) + 1, health_status = 'unhealthy',
            consecutive_health_failures = COALESCE(consecutive_health_failures, 0) + 1,
            consecutive_health_successes = 0, total_health_checks = COALESCE(total_health_checks, 0) + 1,
            total_health_check_failures = COALESCE(total_health_check_failures, 0) + 1,
            last_health_check = $2, last_health_error = $3, updated_at = $4
            WHERE key = $1 RETURNING failure_count
            """
        count = "SELECT count(*) FROM \(table)"
        credentialsPage = """
            SELECT \(rowID), username_encrypted, password_encrypted, proxy_url_encrypted FROM \(table)
            WHERE \(rowID) > $1 AND (username_encrypted IS NOT NULL OR password_encrypted IS NOT NULL
                OR proxy_url_encrypted IS NOT NULL)
            ORDER BY \(rowID) LIMIT $2
            """
        updateCredentials = """
            UPDATE \(table) SET username_encrypted = $1, password_encrypted = $2, proxy_url_encrypted = $3
            WHERE \(rowID) = $4
            """
        scan = "SELECT \(rowID), key FROM \(table) WHERE \(rowID) > $1 ORDER BY \(rowID) LIMIT $2"
        removeExpired = "DELETE FROM \(table) WHERE expires_at IS NOT NULL AND expires_at <= $1 RETURNING key"
        removeAll = ["DELETE FROM \(history)", "DELETE FROM \(table)"]
        // Typed parameters: a NULL parameter in a SELECT list has no type to take from a column.
        appendHealth = """
            INSERT INTO \(history) (proxy_key, check_time, status, response_time_ms, error_message, check_url)
            SELECT $1::bytea, $2::double precision, $3::text, $4::double precision, $5::bytea, $6::bytea
            WHERE EXISTS (SELECT 1 FROM \(table) WHERE key = $1::bytea)
            RETURNING id
            """
        let newestFirst = "ORDER BY check_time DESC, id DESC"
        trimHistory = """
            DELETE FROM \(history) WHERE proxy_key = $1 AND id NOT IN
            (SELECT id FROM \(history) WHERE proxy_key = $1 \(newestFirst) LIMIT $2)
            """
        self.history = """
            SELECT check_time, status, response_time_ms, error_message, check_url FROM \(history)
            WHERE proxy_key = $1 \(newestFirst) LIMIT $2
            """
    }

    /// Deletes the entries beyond `$1` in the policy's order in one statement, returning their keys.
    func evict(_ policy: EvictionPolicy) -> String {
        let rowID = PostgresSchema.rowIDColumn
        let order: String
        switch policy {
        case .lru: order = "last_accessed, \(rowID)"
        case .lfu: order = "access_count, last_accessed, \(rowID)"
        // Upserts keep row_id, so its order is insertion order.
        case .fifo: order = rowID
        }
        return """
            DELETE FROM \(table) WHERE \(rowID) IN
            (SELECT \(rowID) FROM \(table) ORDER BY \(order)
             LIMIT GREATEST((SELECT count(*) FROM \(table)) - $1, 0))
            RETURNING key
            """
    }

    /// The upsert of `rows` entries (at most `upsertRowLimit`, each key once) in one statement: the parameters are each
    /// row's columns in `StoredEntryRow.columnNames` order, then the time that is `created_at` of new rows and
    /// `updated_at` of all.
    func upsert(rows: Int) -> String {
        let width = StoredEntryRow.columnNames.count
        let time = "$\(rows * width + 1)"
        let tuples = (0..<rows).map { row in
            "(" + (1...width).map { "$\(row * width + $0)" }.joined(separator: ", ") + ", \(time), \(time))"
        }
        return """
            INSERT INTO \(table) (\(columns), created_at, updated_at) VALUES \(tuples.joined(separator: ", "))
            ON CONFLICT (key) DO UPDATE SET \(upsertUpdates)
            """
    }
}

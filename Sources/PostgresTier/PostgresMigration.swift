import PostgresNIO
import Tiers

/// Creates or migrates the PostgreSQL L3's tables and checks the encryption key, in one transaction that holds an
/// advisory lock: when several sidecars open the same database at once, one creates the tables and writes the
/// key-check token, the others wait and then find them.
enum PostgresMigration {
    struct Report {
        /// The schema version found (0: a new database).
        var fromVersion: Int
        /// Whether this sidecar wrote the key-check token (the first sidecar on a new database).
        var wroteKeyCheck: Bool
    }

    static func run(in session: PostgresSession, cipher: CredentialCipher) throws(StoreError) -> Report {
        try session.transaction("cannot set up the L3 tables") { () throws(StoreError) -> Report in
            var lock = PostgresBindings()
            lock.append(PostgresSchema.setupLockKey)
            try session.query("SELECT pg_advisory_xact_lock($1)", lock, "cannot lock the L3 schema")
            try session.query(PostgresSchema.versionTableSQL, PostgresBindings(), "cannot create the L3 tables")
            let found = try session.query(
                "SELECT version FROM cachesrvd_schema WHERE id = 1",
                PostgresBindings(),
                "cannot read the L3 schema version"
            )
            let version = try found.first?.first.map { cell throws(StoreError) in try PostgresValues.integer(cell) }
            let fromVersion = Int(version ?? 0)
            if fromVersion > PostgresSchema.currentVersion {
                throw StoreError(
                    .io,
                    "the L3 database has schema version \(fromVersion), newer than this cachesrvd's "
                        + "\(PostgresSchema.currentVersion): upgrade this sidecar"
                )
            }
            if fromVersion < PostgresSchema.currentVersion {
                // Version 1 is the first: there is nothing older to migrate from yet.
                for statement in PostgresSchema.createStatements {
                    try session.query(statement, PostgresBindings(), "cannot create the L3 tables")
                }
                var binds = PostgresBindings()
                binds.append(PostgresSchema.currentVersion)
                try session.query(
                    "INSERT INTO cachesrvd_schema (id, version) VALUES (1, $1) "
                        + "ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version",
                    binds,
                    "cannot record the L3 schema version"
                )
            }
            let wrote = try PostgresKeyCheck.verify(in: session, cipher: cipher)
            return Report(fromVersion: fromVersion, wroteKeyCheck: wrote)
        }
    }
}

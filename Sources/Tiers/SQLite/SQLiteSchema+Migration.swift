extension SQLiteSchema {
    /// What `migrate` did, for the log.
    struct MigrationReport: Sendable, Equatable {
        var fromVersion: Int
        var toVersion: Int
        /// Tables created from nothing.
        var created: [String] = []
        /// Tables rebuilt (copied into the current shape) because a column had to lose NOT NULL or the leading
        /// columns were not in proxywhirl's order (`Table.positionalColumns`).
        var rebuilt: [String] = []
        /// `table.column` added with `ALTER TABLE ADD COLUMN`.
        var addedColumns: [String] = []
        /// Rows whose URL passwords were sealed or masked (`sealLegacySecrets`).
        var sealedRows = 0
        /// Keys rewritten into the form clients' bytes map to (`canonicalizeKeys`).
        var rekeyedRows = 0
    }

    /// Creates the tables of a new file or upgrades an older one (a proxywhirl-made file has
    /// `user_version` 0) to `currentVersion`, in one transaction.
    ///
    /// Must run before `PRAGMA foreign_keys=ON` on this connection: a rebuild drops and recreates
    /// the parent table, which would otherwise cascade into `health_history`.
    ///
    /// An L3 file from before version 4 has its columns in an order proxywhirl misreads: its
    /// `cache_entries` is rebuilt in the current order, keeping every row, its rowid and its history.
    ///
    /// An upgrade from before `sealedVersion` also seals the URL passwords older versions stored in
    /// clear, with `cipher` (`sealLegacySecrets`).
    ///
    /// - Returns: what was done, or `nil` when the file was already current (the usual case: one
    ///   `PRAGMA user_version` read, no other schema work).
    /// - Throws: `.corrupt` when a table of ours exists but lacks a required column (not a file of
    ///   this tier); `.io` when the file was written by a newer schema version.
    func migrate(_ db: SQLiteDatabase, cipher: CredentialCipher) throws(StoreError) -> MigrationReport? {
        let version = try db.pragmaInteger("user_version")
        if version == Self.currentVersion { return nil }
        if version > Self.currentVersion {
            throw StoreError(.io, "\(db.path) has schema version \(version), newer than \(Self.currentVersion)")
        }
        if version < Self.sealedVersion {
            // Overwrite the clear text the seal replaces instead of leaving it in freed space.
            try db.execute("PRAGMA secure_delete = ON")
        }
        defer { try? db.execute("PRAGMA secure_delete = OFF") }
        return try db.immediateTransaction { () throws(StoreError) -> MigrationReport in
            var report = MigrationReport(fromVersion: version, toVersion: Self.currentVersion)
            for table in tables {
                try upgrade(table, in: db, report: &report)
            }
            if version < Self.sealedVersion && !report.created.contains(entries.name) {
                report.sealedRows = try sealLegacySecrets(in: db, cipher: cipher)
            }
            if version < Self.binaryKeysVersion && !report.created.contains(entries.name) {
                report.rekeyedRows = try canonicalizeKeys(in: db)
            }
            if let history {
                // proxywhirl never enabled foreign keys, so its history may point at deleted entries.
                try db.execute(
                    "DELETE FROM \(history.name) WHERE proxy_key NOT IN (SELECT key FROM \(entries.name))"
                )
            }
            for table in tables {
                try db.execute(table.createIndexesSQL)
            }
            try db.execute("PRAGMA user_version = \(Self.currentVersion)")
            return report
        }
    }

    private func upgrade(_ table: Table, in db: SQLiteDatabase, report: inout MigrationReport) throws(StoreError) {
        let ordered = try columns(of: table.name, in: db)
        let existing = Dictionary(ordered.map { ($0.name, $0.notNull) }, uniquingKeysWith: { first, _ in first })
        if existing.isEmpty {
            try db.execute(table.createSQL(as: table.name))
            report.created.append(table.name)
            return
        }
        for column in table.columns where column.isRequired && existing[column.name] == nil {
            throw StoreError(.corrupt, "table \(table.name) in \(db.path) has no column \(column.name)")
        }
        // ADD COLUMN appends: the order the table would have after adding what it lacks.
        let added = ordered.map(\.name) + table.columns.map(\.name).filter { existing[$0] == nil }
        let mustRebuild =
            table.columns.contains { $0.mustBeNullable && existing[$0.name] == true }
            || !added.starts(with: table.columns.prefix(table.positionalColumns).map(\.name))
        if mustRebuild {
            try rebuild(table, keeping: existing, in: db)
            report.rebuilt.append(table.name)
            return
        }
        for column in table.columns where existing[column.name] == nil {
            try db.execute("ALTER TABLE \(table.name) ADD COLUMN \(column.name) \(column.declaration)")
            report.addedColumns.append("\(table.name).\(column.name)")
        }
    }

    /// Copies `table` into a new table of the current shape (ALTER TABLE can neither drop NOT NULL nor move a
    /// column), keeping rowids so scan cursors and insertion order survive, then swaps it in. Its indexes go with the
    /// old table (`migrate` creates them again); rows of other tables that refer to it by key are not touched.
    private func rebuild(_ table: Table, keeping existing: [String: Bool], in db: SQLiteDatabase) throws(StoreError) {
        let temporary = "\(table.name)_migrating"
        let shared = table.columns.map(\.name).filter { existing[$0] != nil }
        // A table with `id INTEGER PRIMARY KEY` has its rowid in `id` already.
        let copied = (table.columns.contains { $0.name == "id" } ? [] : ["rowid"]) + shared
        let list = copied.joined(separator: ", ")
        try db.execute(
            """
            DROP TABLE IF EXISTS \(temporary);
            \(table.createSQL(as: temporary));
            INSERT INTO \(temporary) (\(list)) SELECT \(list) FROM \(table.name);
            DROP TABLE \(table.name);
            ALTER TABLE \(temporary) RENAME TO \(table.name);
            """
        )
    }

    /// The columns of `table` in their order on disk, with whether each is NOT NULL; empty when there is no such
    /// table.
    private func columns(of table: String, in db: SQLiteDatabase) throws(StoreError) -> [(name: String, notNull: Bool)]
    {
        let statement = try db.prepare("SELECT name, \"notnull\" FROM pragma_table_info(?) ORDER BY cid")
        defer { statement.finalize() }
        statement.bind(1, table)
        var result: [(name: String, notNull: Bool)] = []
        while try statement.step() {
            result.append((statement.text(0), statement.int(1) != 0))
        }
        return result
    }
}

import Logging

extension SQLiteStore {
    /// How many rows `reencryptAll` reads per step (it holds one transaction throughout).
    static let reencryptPageSize = 512

    /// Forces committed transactions to stable storage.
    ///
    /// `.everysec`: flushes the WAL file (where commits land) and the database file (where
    /// checkpoints land) through the writer connection's own SQLite files
    /// (`SQLiteDatabase.syncFilesToDisk`): never by opening and closing them, which would drop
    /// SQLite's POSIX locks. `.always` commits are already synced (synchronous=FULL); `.no` leaves
    /// flushing to the OS.
    ///
    /// Not `PRAGMA wal_checkpoint`: a checkpoint syncs the WAL only when it can copy frames into
    /// the database, so a reader on an older snapshot (ours or another process's) or one holding
    /// the WAL's first read lock makes a PASSIVE checkpoint return having synced nothing, and a
    /// FULL one wait for the readers.
    public func sync() throws(StoreError) {
        guard fsync == .everysec else { return }
        // On the writer connection, under its lock: no commit or recovery runs meanwhile. It writes no page (nor
        // checkpoints): the loop readers keep their snapshots.
        try pool.withWriter(.reading) { db throws(StoreError) in
            try db.syncFilesToDisk()
        }
    }

    /// Moves the damaged file aside and recreates the database with the rows that can still be read of it (see
    /// `recoverFromCorruptionSalvaging()`); returns where the damaged file went.
    public func recoverFromCorruption() throws(StoreError) -> String {
        try recoverFromCorruptionSalvaging().movedTo
    }

    /// Closes every connection, moves the damaged files aside, recreates the database, puts in it
    /// what can be read of the damaged one (see `salvage(from:schema:cipher:)`) and reopens; nothing
    /// else uses the store meanwhile, so no write made after the recovery is overwritten by an old row.
    public func recoverFromCorruptionSalvaging() throws(StoreError) -> SalvageReport {
        let schema = self.schema
        let cipher = self.cipher
        let path = self.path
        let report = try pool.reopen(
            { () throws(StoreError) -> Salvaged in
                let movedTo = try SQLiteFiles.moveAside(path)
                return Self.salvage(from: movedTo, schema: schema, cipher: cipher)
            },
            afterOpen: { salvaged, db in restore(salvaged, in: db) }
        )
        logger.error(
            "sqlite store was corrupt: moved aside and recreated with the rows that could be read",
            metadata: ["store.moved_to": "\(report.movedTo)"]
        )
        return report
    }

    /// Opens the store; if the file is corrupt, moves it (and its -wal/-shm) aside to `<path>.corrupt-<UTC
    /// timestamp>`, opens again (a new database), puts in it every row that can still be read of the damaged file
    /// (entries whose credentials decrypt, and their health history) and logs the recovery at error level.
    ///
    /// - Parameters: as `init(_:cipher:fsync:logger:)`.
    /// - Returns: the store, where the damaged file went and what was salvaged (`nil` when nothing was wrong).
    public static func openRecoveringCorruption(
        _ configuration: Configuration,
        cipher: CredentialCipher,
        fsync: FsyncPolicy,
        logger: Logger
    ) throws(StoreError) -> (store: SQLiteStore, recoveredFrom: String?, salvage: SalvageReport?) {
        let path = configuration.path
        do {
            return (try SQLiteStore(configuration, cipher: cipher, fsync: fsync, logger: logger), nil, nil)
        } catch  where error.kind == .corrupt {
            let movedTo = try SQLiteFiles.moveAside(path)
            logger.error(
                "sqlite store is corrupt: moved aside, salvaging its readable rows into a new file",
                metadata: [
                    "cache.tier": "\(configuration.tier)", "store.path": "\(path)", "store.moved_to": "\(movedTo)",
                    "error": "\(error)",
                ]
            )
            let salvaged = salvage(from: movedTo, schema: configuration.schema, cipher: cipher)
            let store = try SQLiteStore(configuration, cipher: cipher, fsync: fsync, logger: logger)
            let report = store.restore(salvaged)
            return (store, movedTo, report)
        }
    }

    /// Re-encrypts every stored credential with `newCipher` in one transaction, then uses
    /// `newCipher` for all later writes. Rows whose tokens the current cipher cannot decrypt are
    /// left as they are (they were unreadable already) and counted in a warning.
    ///
    /// - Returns: the number of rows re-encrypted.
    public func reencryptAll(with newCipher: CredentialCipher) throws(StoreError) -> Int {
        let oldCipher = cipher
        let (changed, skipped) = try pool.withWriter { db throws(StoreError) -> (Int, Int) in
            let result = try db.immediateTransaction { () throws(StoreError) -> (Int, Int) in
                var changed = 0
                var skipped = 0
                var cursor = 0
                while true {
                    let page = try credentialsPage(after: cursor, in: db)
                    guard let last = page.last else { break }
                    cursor = last.rowid
                    for row in page {
                        // Not `try?`: it would flatten a NULL token (nil) into a failure.
                        let username: [UInt8]?
                        let password: [UInt8]?
                        let url: [UInt8]?
                        do {
                            username = try Self.reencrypt(row.username, from: oldCipher, to: newCipher)
                            password = try Self.reencrypt(row.password, from: oldCipher, to: newCipher)
                            url = try Self.reencrypt(row.url, from: oldCipher, to: newCipher)
                        } catch {
                            skipped += 1
                            continue
                        }
                        let update = try db.statement(queries.updateCredentials)
                        update.bindBlob(1, username)
                        update.bindBlob(2, password)
                        update.bind(3, row.rowid)
                        update.bindBlob(4, url)
                        try update.run()
                        changed += 1
                    }
                }
                return (changed, skipped)
            }
            // Swapped while the writer lock is held: no write can encrypt with the old key after this.
            cipherBox.withLockedValue { $0 = newCipher }
            return result
        }
        if skipped > 0 {
            logger.warning(
                "credentials left as they were: not decryptable with the configured keys",
                metadata: ["store.rows": "\(skipped)"]
            )
        }
        logger.info("credentials re-encrypted with the new key", metadata: ["store.rows": "\(changed)"])
        return changed
    }

    private struct CredentialRow {
        var rowid: Int
        var username: [UInt8]?
        var password: [UInt8]?
        /// The whole proxy_url's token, when it carries a password.
        var url: [UInt8]?
    }

    /// The next rows (by rowid) after `cursor` that hold a credential.
    private func credentialsPage(after cursor: Int, in db: SQLiteDatabase) throws(StoreError) -> [CredentialRow] {
        let statement = try db.statement(queries.credentialsPage)
        defer { statement.reset() }
        statement.bind(1, cursor)
        statement.bind(2, Self.reencryptPageSize)
        var rows: [CredentialRow] = []
        while try statement.step() {
            rows.append(
                CredentialRow(
                    rowid: statement.int(0),
                    username: statement.bytes(2),
                    password: statement.bytes(3),
                    url: statement.bytes(4)
                )
            )
        }
        return rows
    }

    private static func reencrypt(
        _ token: [UInt8]?,
        from old: CredentialCipher,
        to new: CredentialCipher
    ) throws(StoreError) -> [UInt8]? {
        guard let token else { return nil }
        let plaintext = try old.decrypt(String(decoding: token, as: UTF8.self))
        return Array(new.encrypt(plaintext).utf8)
    }
}

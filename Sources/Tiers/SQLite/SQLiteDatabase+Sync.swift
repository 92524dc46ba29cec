import CSQLite

extension SQLiteDatabase {
    /// Flushes this connection's WAL file and its database file to stable storage, through the
    /// files SQLite itself has open (`SQLITE_FCNTL_JOURNAL_POINTER`, `SQLITE_FCNTL_FILE_POINTER`)
    /// and their VFS `xSync` method.
    ///
    /// It never opens or closes a file of the database: closing any descriptor of a file drops
    /// every POSIX lock the process holds on it, SQLite's included, and without them another
    /// process closing the database believes it is the last user and deletes the -wal/-shm files
    /// this connection still writes to. A journal this connection has not opened (it has never
    /// read in WAL mode) holds nothing of its own and is skipped.
    ///
    /// Call it between transactions, from the connection's owner (like every use of it).
    func syncFilesToDisk() throws(StoreError) {
        let db = try liveHandle()
        try Self.syncFile(of: db, SQLITE_FCNTL_JOURNAL_POINTER, named: "WAL")
        try Self.syncFile(of: db, SQLITE_FCNTL_FILE_POINTER, named: "database")
    }

    /// Syncs the `sqlite3_file` that file control `operation` hands out for the main database.
    private static func syncFile(of db: OpaquePointer, _ operation: Int32, named name: String) throws(StoreError) {
        var file: UnsafeMutablePointer<sqlite3_file>?
        let found = sqlite3_file_control(db, "main", operation, &file)
        guard found == SQLITE_OK else {
            throw StoreError(sqliteCode: found, database: db, context: "find the \(name) file")
        }
        // A file SQLite has not opened has no methods.
        guard let file, let methods = file.pointee.pMethods, let sync = methods.pointee.xSync else { return }
        let code = sync(file, SQLITE_SYNC_NORMAL)
        guard code == SQLITE_OK else {
            // The VFS keeps the OS error of the failed call; the connection's own error state is not set.
            var systemErrno: Int32 = 0
            if let control = methods.pointee.xFileControl {
                _ = control(file, SQLITE_FCNTL_LAST_ERRNO, &systemErrno)
            }
            let kind = StoreError.kind(sqliteCode: code, systemErrno: systemErrno)
            let detail = String(cString: sqlite3_errstr(code))
            throw StoreError(kind, "sqlite sync of the \(name) file: \(detail) (errno \(systemErrno)) [code \(code)]")
        }
    }
}

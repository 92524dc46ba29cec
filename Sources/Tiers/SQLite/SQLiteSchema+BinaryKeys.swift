import BinaryText

extension SQLiteSchema {
    /// The first schema version whose keys are stored in the form `BinaryText` gives a client's bytes.
    static let binaryKeysVersion = 3

    /// Rewrites the keys a file of an older version (ours, or proxywhirl's) holds as plain text outside the range
    /// `BinaryText` keeps as text, into the form a client's bytes now map to, so the same bytes reach them: without
    /// it, `日本` written before would be listed by KEYS but missed by GET. Health history follows its entry. Runs
    /// inside the migration's transaction.
    ///
    /// - Returns: how many keys were rewritten.
    func canonicalizeKeys(in db: SQLiteDatabase) throws(StoreError) -> Int {
        let table = entries.name
        // Only keys with a byte above 0x7F can change: their length in characters differs from their bytes'.
        let candidates = try rows(
            "SELECT rowid, key FROM \(table) WHERE length(key) != length(CAST(key AS BLOB))",
            in: db
        )
        let rename = try db.prepare("UPDATE \(table) SET key = ?1 WHERE rowid = ?2")
        defer { rename.finalize() }
        var follow: SQLiteStatement? = nil
        if let history {
            follow = try db.prepare("UPDATE \(history.name) SET proxy_key = ?1 WHERE proxy_key = ?2")
        }
        defer { follow?.finalize() }
        var changed = 0
        for (rowid, key) in candidates {
            let canonical = BinaryText.canonical(key)
            guard !canonical.utf8.elementsEqual(key.utf8) else { continue }
            rename.reset()
            rename.bind(1, canonical)
            rename.bind(2, rowid)
            try rename.run()
            if let follow {
                follow.reset()
                follow.bind(1, canonical)
                follow.bind(2, key)
                try follow.run()
            }
            changed += 1
        }
        return changed
    }
}

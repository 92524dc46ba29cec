import Redaction

extension SQLiteSchema {
    /// The first schema version whose rows never hold a URL password in clear.
    static let sealedVersion = 2

    /// Seals what a file of an older version (ours before `proxy_url_encrypted`, or proxywhirl's) may hold in
    /// clear: a password inside `proxy_url` (see `ProxyURLSeal`) and URL passwords in the health texts
    /// (`last_health_error`, and `health_history`'s `error_message` and `check_url`). Runs inside the
    /// migration's transaction, with `secure_delete` on so the old text does not linger in freed space.
    ///
    /// - Returns: how many rows were changed.
    func sealLegacySecrets(in db: SQLiteDatabase, cipher: CredentialCipher) throws(StoreError) -> Int {
        var changed = 0
        let table = entries.name
        let urls = try rows(
            "SELECT rowid, proxy_url FROM \(table) WHERE proxy_url_encrypted IS NULL AND instr(proxy_url, '@') > 0",
            in: db
        )
        let sealURL = try db.prepare("UPDATE \(table) SET proxy_url = ?1, proxy_url_encrypted = ?2 WHERE rowid = ?3")
        defer { sealURL.finalize() }
        for (rowid, url) in urls {
            let sealed = ProxyURLSeal.seal(url, with: cipher)
            guard let token = sealed.token else { continue }
            sealURL.reset()
            sealURL.bind(1, sealed.text)
            sealURL.bindBlob(2, Array(token.utf8))
            sealURL.bind(3, rowid)
            try sealURL.run()
            changed += 1
        }
        changed += try maskTexts(table, "last_health_error", in: db) { URLPassword.maskedEverywhere(in: $0) }
        if let history = history?.name {
            changed += try maskTexts(history, "error_message", in: db) { URLPassword.maskedEverywhere(in: $0) }
            changed += try maskTexts(history, "check_url", in: db) {
                URLPassword.masked(in: $0) ?? URLPassword.maskedEverywhere(in: $0)
            }
        }
        return changed
    }

    /// Rewrites each value of `column` that `mask` changes; returns how many.
    private func maskTexts(
        _ table: String,
        _ column: String,
        in db: SQLiteDatabase,
        _ mask: (String) -> String
    ) throws(StoreError) -> Int {
        let candidates = try rows("SELECT rowid, \(column) FROM \(table) WHERE instr(\(column), '@') > 0", in: db)
        let update = try db.prepare("UPDATE \(table) SET \(column) = ?1 WHERE rowid = ?2")
        defer { update.finalize() }
        var changed = 0
        for (rowid, text) in candidates {
            let masked = mask(text)
            guard masked != text else { continue }
            update.reset()
            update.bind(1, masked)
            update.bind(2, rowid)
            try update.run()
            changed += 1
        }
        return changed
    }

    /// `(rowid, text)` of every row `sql` selects.
    func rows(_ sql: String, in db: SQLiteDatabase) throws(StoreError) -> [(Int, String)] {
        let statement = try db.prepare(sql)
        defer { statement.finalize() }
        var result: [(Int, String)] = []
        while try statement.step() {
            result.append((statement.int(0), statement.text(1)))
        }
        return result
    }
}

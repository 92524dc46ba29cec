import NIOCore
import PostgresNIO
import Tiers

extension PostgresStore {
    /// Re-encrypts every credential of the shared L3 and the key-check token under `newCipher`, in one transaction:
    /// the fleet's rows are all under the old key or all under the new one, never a mix.
    ///
    /// Refused (`.busy`, nothing changed) while any other cachesrvd is connected to the database: a running sidecar
    /// holds the old key, so it could neither read the re-encrypted rows nor stop writing old-key tokens. The
    /// transaction holds the setup lock (`PostgresSchema.setupLockKey`), so a sidecar starting meanwhile waits, then
    /// checks its key against the new token. Rows no key of the store's cipher decrypts are left as they were and not
    /// counted. Use the store for nothing else afterwards: its own cipher is still the old one.
    ///
    /// - Returns: the rows re-encrypted.
    public func reencryptAll(with newCipher: CredentialCipher) throws(StoreError) -> Int {
        let oldCipher = cipher
        return try withWriter { session throws(StoreError) -> Int in
            try session.transaction("cannot re-encrypt L3's credentials") { () throws(StoreError) -> Int in
                var lock = PostgresBindings()
                lock.append(PostgresSchema.setupLockKey)
                try session.query("SELECT pg_advisory_xact_lock($1)", lock, "cannot lock the L3 schema")
                let others = try session.query(queries.otherSidecars, PostgresBindings(), "cannot list L3's sessions")
                let count = try others.first?.first.map { cell throws(StoreError) in try PostgresValues.integer(cell) }
                if let count, count > 0 {
                    throw StoreError(
                        .busy,
                        "\(count) other cachesrvd connection(s) to this database: stop every sidecar of the fleet "
                            + "first (a running sidecar holds the old key: it could not read the re-encrypted rows)"
                    )
                }
                let changed = try reencryptRows(from: oldCipher, to: newCipher, in: session)
                try rewriteKeyCheck(from: oldCipher, to: newCipher, in: session)
                return changed
            }
        }
    }

    private func reencryptRows(
        from old: CredentialCipher,
        to new: CredentialCipher,
        in session: PostgresSession
    ) throws(StoreError) -> Int {
        var changed = 0
        var cursor: Int64 = 0
        while true {
            var page = PostgresBindings()
            page.append(cursor)
            page.append(Int64(512))
            let rows = try session.query(queries.credentialsPage, page, "cannot read L3's credentials")
            guard !rows.isEmpty else { return changed }
            for row in rows {
                let cells = Array(row)
                cursor = try PostgresValues.integer(cells[0])
                var update = PostgresBindings()
                do {
                    for cell in cells.dropFirst() {
                        let token = PostgresValues.string(cell)
                        update.append(
                            try token.map { token throws(StoreError) in
                                PostgresValues.bytes(new.encrypt(try old.decrypt(token)))
                            }
                        )
                    }
                } catch {
                    continue
                }
                update.append(cursor)
                try session.query(queries.updateCredentials, update, "cannot re-encrypt L3's credentials")
                changed += 1
            }
        }
    }

    private func rewriteKeyCheck(
        from old: CredentialCipher,
        to new: CredentialCipher,
        in session: PostgresSession
    ) throws(StoreError) {
        let rows = try session.query(
            "SELECT token FROM cachesrvd_key_check WHERE id = 1",
            PostgresBindings(),
            "cannot read the L3 key check"
        )
        guard let token = rows.first?.first.flatMap(PostgresValues.string) else { return }
        var binds = PostgresBindings()
        binds.append(new.encrypt(try old.decrypt(token)))
        try session.query(
            "UPDATE cachesrvd_key_check SET token = $1 WHERE id = 1",
            binds,
            "cannot write the L3 key check"
        )
    }
}

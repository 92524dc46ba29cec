import PostgresNIO
import Tiers

/// Every sidecar of a fleet must encrypt credentials with the same key, or each would write tokens the others
/// cannot read. `cachesrvd_key_check` holds one Fernet token of a fixed text, written by the first sidecar; a
/// sidecar whose keys (current or previous) cannot decrypt it refuses to open the store.
enum PostgresKeyCheck {
    /// The message of a sidecar whose key is not the database's.
    static let wrongKeyMessage =
        "the L3 database was written with a different encryption key: give this sidecar the fleet's key "
        + "(--key-file or CACHESRVD_ENCRYPTION_KEY, the same file on every host)"

    /// Writes the token when there is none; otherwise checks that `cipher` decrypts it to the fixed text.
    ///
    /// - Returns: whether the token was written now.
    /// - Throws: `.decryption` with `wrongKeyMessage` when `cipher` cannot decrypt it.
    static func verify(in session: PostgresSession, cipher: CredentialCipher) throws(StoreError) -> Bool {
        try session.query(PostgresSchema.keyCheckTableSQL, PostgresBindings(), "cannot create the L3 key check")
        let rows = try session.query(
            "SELECT token FROM cachesrvd_key_check WHERE id = 1",
            PostgresBindings(),
            "cannot read the L3 key check"
        )
        guard let cell = rows.first?.first, let token = PostgresValues.string(cell) else {
            var binds = PostgresBindings()
            binds.append(cipher.encrypt(PostgresSchema.keyCheckPlaintext))
            try session.query(
                "INSERT INTO cachesrvd_key_check (id, token) VALUES (1, $1)",
                binds,
                "cannot write the L3 key check"
            )
            return true
        }
        let plaintext: String
        do {
            plaintext = try cipher.decrypt(token)
        } catch {
            throw StoreError(.decryption, wrongKeyMessage)
        }
        guard plaintext == PostgresSchema.keyCheckPlaintext else {
            throw StoreError(.decryption, wrongKeyMessage)
        }
        return false
    }
}

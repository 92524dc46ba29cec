/// One entry as the JSONL tier keeps it: the entry without its clear credentials, plus their
/// Fernet tokens. Shards, the in-memory index and compaction all handle records, so credentials
/// are encrypted once per put and decrypted only when an entry is read.
struct JSONLRecord: Sendable, Equatable {
    /// The entry with `username` and `password` set to `nil`.
    var entry: CacheEntry
    /// The Fernet token (URL-safe base64 text) of the username, if any.
    var usernameToken: String?
    /// The Fernet token of the password, if any.
    var passwordToken: String?

    init(entry: CacheEntry, usernameToken: String?, passwordToken: String?) {
        var stripped = entry
        stripped.username = nil
        stripped.password = nil
        self.entry = stripped
        self.usernameToken = usernameToken
        self.passwordToken = passwordToken
    }

    /// Encrypts `entry`'s credentials with `cipher`'s current key.
    init(sealing entry: CacheEntry, cipher: CredentialCipher) {
        self.init(
            entry: entry,
            usernameToken: entry.username.map(cipher.encrypt),
            passwordToken: entry.password.map(cipher.encrypt)
        )
    }

    var key: String { entry.key }

    /// The entry with its credentials decrypted.
    ///
    /// - Throws: `StoreError(.decryption)` when a token cannot be decrypted with any configured key.
    func open(cipher: CredentialCipher) throws(StoreError) -> CacheEntry {
        var result = entry
        if let usernameToken {
            result.username = try cipher.decrypt(usernameToken)
        }
        if let passwordToken {
            result.password = try cipher.decrypt(passwordToken)
        }
        return result
    }
}

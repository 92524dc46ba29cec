import EntrySchema

/// One entry as the JSONL tier keeps it: the entry without its clear credentials, plus their
/// Fernet tokens. Shards, the in-memory index and compaction all handle records, so credentials
/// are encrypted once per put and decrypted only when an entry is read.
struct JSONLRecord: Sendable, Equatable {
    /// The entry with `username` and `password` set to `nil`, and its `proxyURL` as stored (the
    /// password masked when `proxyURLToken` is set).
    var entry: CacheEntry
    /// The Fernet token (URL-safe base64 text) of the username, if any.
    var usernameToken: String?
    /// The Fernet token of the password, if any.
    var passwordToken: String?
    /// The Fernet token of the whole proxy URL, when it carries a password (see `ProxyURLSeal`).
    var proxyURLToken: String?

    init(entry: CacheEntry, usernameToken: String?, passwordToken: String?, proxyURLToken: String? = nil) {
        var stripped = entry
        stripped.username = nil
        stripped.password = nil
        self.entry = stripped
        self.usernameToken = usernameToken
        self.passwordToken = passwordToken
        self.proxyURLToken = proxyURLToken
    }

    /// Encrypts `entry`'s credentials (and a proxy URL that carries a password) with `cipher`'s current key.
    init(sealing entry: CacheEntry, cipher: CredentialCipher) {
        let url = ProxyURLSeal.seal(entry.proxyURL, with: cipher)
        var stored = entry
        stored.proxyURL = url.text
        self.init(
            entry: stored,
            usernameToken: entry.username.map(cipher.encrypt),
            passwordToken: entry.password.map(cipher.encrypt),
            proxyURLToken: url.token
        )
    }

    var key: String { entry.key }

    /// The token of a credential field (`username`, `password`); `nil` for the others.
    func token(of field: EntryField) -> String? {
        switch field {
        case .username: usernameToken
        case .password: passwordToken
        default: nil
        }
    }

    /// The entry with its credentials decrypted.
    ///
    /// - Throws: `StoreError(.decryption)` when a token cannot be decrypted with any configured key.
    func open(cipher: CredentialCipher) throws(StoreError) -> CacheEntry {
        var result = entry
        result.proxyURL = try ProxyURLSeal.open(text: entry.proxyURL, token: proxyURLToken, with: cipher, key: key)
        if let usernameToken {
            result.username = try cipher.decrypt(usernameToken)
        }
        if let passwordToken {
            result.password = try cipher.decrypt(passwordToken)
        }
        return result
    }
}

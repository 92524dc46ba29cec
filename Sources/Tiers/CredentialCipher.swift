/// Encrypts and decrypts credentials as Fernet tokens: the current key encrypts; the current key
/// and then the previous keys are tried to decrypt (key rotation, like proxywhirl's `MultiFernet`).
///
/// Tokens are the URL-safe base64 text Python's `cryptography.fernet.Fernet` makes and reads; the
/// SQLite tiers store its UTF-8 bytes as a BLOB, the JSONL shards as hex of those bytes.
public final class CredentialCipher: Sendable {
    /// The key new tokens are made with.
    public let current: FernetKey
    /// Older keys, still accepted for decryption, tried in order after `current`.
    public let previous: [FernetKey]

    /// Makes a cipher that encrypts with `current` and decrypts with `current` or any of `previous`.
    public init(current: FernetKey, previous: [FernetKey] = []) {
        self.current = current
        self.previous = previous
    }

    /// Parses the keys from their URL-safe base64 text.
    ///
    /// - Throws: `FernetError.malformedKey` if any key is not URL-safe base64 of 32 bytes.
    public convenience init(currentKey: String, previousKeys: [String] = []) throws(FernetError) {
        var previous = [FernetKey]()
        for text in previousKeys {
            previous.append(try FernetKey(base64URL: text))
        }
        self.init(current: try FernetKey(base64URL: currentKey), previous: previous)
    }

    /// Encrypts `plaintext` with the current key; returns the Fernet token (URL-safe base64 text).
    public func encrypt(_ plaintext: String) -> String {
        Fernet.encrypt(Array(plaintext.utf8), key: current)
    }

    /// Decrypts a token made with the current or a previous key.
    ///
    /// - Throws: `StoreError(.decryption, ...)` when no configured key verifies the token or the
    ///   plaintext is not UTF-8. The message never contains the token or the plaintext.
    public func decrypt(_ token: String) throws(StoreError) -> String {
        guard let bytes = decryptBytes(token), let text = String(validatedUTF8: bytes) else {
            throw StoreError(.decryption, "credential token could not be decrypted with any configured key")
        }
        return text
    }

    /// Whether `token` was made with the current key (a rotation re-encrypts the others).
    public func isCurrent(_ token: String) -> Bool {
        (try? Fernet.decrypt(token, key: current)) != nil
    }

    private func decryptBytes(_ token: String) -> [UInt8]? {
        if let bytes = try? Fernet.decrypt(token, key: current) {
            return bytes
        }
        for key in previous {
            if let bytes = try? Fernet.decrypt(token, key: key) {
                return bytes
            }
        }
        return nil
    }
}

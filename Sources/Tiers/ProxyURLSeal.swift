import Redaction

/// How a `proxy_url` is kept on disk when it carries a password (`http://user:pw@host`): the URL column or
/// JSONL field holds the URL with the password masked (`http://user:***@host`, readable by people, SQL and
/// proxywhirl), and `proxy_url_encrypted` holds the whole URL as a Fernet token, like the credentials. A URL
/// without a password is stored as it is, with no token.
///
/// Reading takes the token's plaintext when there is one, so GET returns exactly the bytes that were
/// stored; rows written before the token existed have none and load as they are.
enum ProxyURLSeal {
    /// The on-disk form of `url`: the text for the `proxy_url` column and the token, if one is needed.
    static func seal(_ url: String, with cipher: CredentialCipher) -> (text: String, token: String?) {
        guard let masked = URLPassword.masked(in: url) else { return (url, nil) }
        return (masked, cipher.encrypt(url))
    }

    /// The URL a stored row means: the token's plaintext when there is a token, else `text`.
    ///
    /// - Throws: `StoreError(.decryption)` naming the key (never the token) when no configured key
    ///   decrypts the token.
    static func open(
        text: String,
        token: String?,
        with cipher: CredentialCipher,
        key: String
    ) throws(StoreError)
        -> String
    {
        guard let token else { return text }
        do {
            return try cipher.decrypt(token)
        } catch {
            throw StoreError(.decryption, "the proxy_url of key \(key) cannot be decrypted with any configured key")
        }
    }
}

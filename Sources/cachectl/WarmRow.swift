import BinaryText

/// One proxy read from a warm file: what becomes one `PUT`.
///
/// proxywhirl's `warm_from_file` reads `proxy_url` (required), `username`, `password` and `source`; cachectl also
/// honours a `key` column so that an export (which has one per entry) warms back under the same keys.
struct WarmRow: Equatable, Sendable {
    /// The cache key to use; nil derives it from `proxyURL` (see `KeyDerivation`).
    var key: String?
    var proxyURL: String
    var username: String?
    var password: String?
    /// The row's own source; nil uses `--source` (default "warmed").
    var source: String?

    /// Makes a row, or nil when `proxyURL` is empty or only whitespace.
    ///
    /// Surrounding whitespace is trimmed from `proxyURL` and `key`; empty credentials and sources count as absent.
    init?(key: String? = nil, proxyURL: String, username: String? = nil, password: String? = nil, source: String? = nil)
    {
        let url = Self.trimmed(proxyURL)
        guard !url.isEmpty else { return nil }
        self.proxyURL = url
        self.key = key.map(Self.trimmed).flatMap { $0.isEmpty ? nil : $0 }
        self.username = username.flatMap { $0.isEmpty ? nil : $0 }
        self.password = password.flatMap { $0.isEmpty ? nil : $0 }
        self.source = source.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Reads a row from a JSON object; nil when it is not an object, has no usable `proxy_url`, or one of the
    /// fields read is neither a string nor null.
    init?(json value: JSONValue) {
        guard case .object = value else { return nil }
        func text(_ name: String) -> String?? {
            switch value[name] {
            case .none, .some(.null):
                return .some(nil)
            case .some(.string(let text)):
                return .some(text)
            case .some(.object(let members)) where members.count == 1 && members[0].0 == "base64":
                // A binary value as `cachectl export --json` writes it.
                guard case .string(let encoded) = members[0].1, let bytes = Base64.decode(encoded) else { return nil }
                return .some(BinaryText.string(from: bytes))
            default:
                return nil
            }
        }
        guard case .some(.some(let url)) = text("proxy_url"),
            let key = text("key"),
            let username = text("username"),
            let password = text("password"),
            let source = text("source")
        else { return nil }
        self.init(key: key, proxyURL: url, username: username, password: password, source: source)
    }

    /// The cache key this row is stored under.
    var effectiveKey: String {
        key ?? KeyDerivation.key(forProxyURL: proxyURL)
    }

    /// The `PUT key proxy_url [field value]...` command for this row.
    ///
    /// - Parameters:
    ///   - defaultSource: The source used when the row has none.
    ///   - ttlSeconds: Sent as `ttl_seconds` when given; otherwise the server's default TTL applies.
    func putCommand(defaultSource: String, ttlSeconds: Int?) -> [String] {
        var command = ["PUT", effectiveKey, proxyURL]
        if let username {
            command += ["username", username]
        }
        if let password {
            command += ["password", password]
        }
        command += ["source", source ?? defaultSource]
        if let ttlSeconds {
            command += ["ttl_seconds", String(ttlSeconds)]
        }
        return command
    }

    /// `text` without leading and trailing whitespace.
    static func trimmed(_ text: String) -> String {
        var scalars = Substring(text).unicodeScalars
        while let first = scalars.first, first.properties.isWhitespace {
            scalars.removeFirst()
        }
        while let last = scalars.last, last.properties.isWhitespace {
            scalars.removeLast()
        }
        return String(scalars)
    }
}

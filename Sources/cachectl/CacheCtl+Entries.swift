import ArgumentParser

extension CacheCtl {
    /// `cachectl get KEY [--all]`: the entry's proxy URL, or every field.
    struct Get: ClientCommand {
        static let configuration = CommandConfiguration(
            commandName: "get",
            abstract: "Print an entry's proxy URL, or every field with --all.",
            discussion: "Exits 1 when the key is not cached."
        )

        @OptionGroup var options: ClientOptions

        @Argument(help: "The cache key.")
        var key: String

        @Flag(name: .long, help: "Print every field as 'field value' lines (a JSON object with --json).")
        var all = false

        func execute(_ connection: Connection) throws(CacheCtlError) {
            if all {
                let pairs = try connection.call(["HGETALL", key]).pairs(for: "HGETALL")
                guard !pairs.isEmpty else { throw .notFound(key) }
                emit(
                    pairs.map { "\($0.0) \($0.1)" }.joined(separator: "\n"),
                    json: EntryFields.object(pairs, leading: ("key", .string(key)))
                )
                return
            }
            let reply = try connection.call(["GET", key]).checked()
            guard !reply.isNil else { throw .notFound(key) }
            guard let proxyURL = reply.string else { throw .unexpectedReply(to: "GET", reply) }
            emit(proxyURL, json: .object([("key", .string(key)), ("proxy_url", .string(proxyURL))]))
        }
    }

    /// `cachectl put PROXY_URL [...]`: stores one whole entry with `PUT`.
    struct Put: ClientCommand {
        static let configuration = CommandConfiguration(
            commandName: "put",
            abstract: "Store a proxy; prints its key.",
            discussion: """
                The key defaults to proxywhirl's: the first 16 hex digits of sha256(PROXY_URL). Without --ttl the \
                server's default TTL (or the source's) applies.
                """
        )

        @OptionGroup var options: ClientOptions

        @Argument(help: "The proxy URL, e.g. http://203.0.113.7:8080.")
        var proxyURL: String

        @Option(name: .long, help: "The cache key (default: derived from the proxy URL).")
        var key: String?

        @Option(name: .long, help: "The proxy's username (stored encrypted on disk).")
        var username: String?

        @Option(name: .long, help: "The proxy's password (stored encrypted on disk).")
        var password: String?

        @Option(name: .long, help: "Where the proxy came from.")
        var source: String?

        @Option(name: .long, help: ArgumentHelp("Time to live in seconds.", valueName: "seconds"))
        var ttl: Int?

        @Option(
            name: .customLong("field"),
            help: ArgumentHelp("Any other entry field, as name=value (repeatable).", valueName: "name=value")
        )
        var fields: [String] = []

        func validate() throws {
            if let ttl, ttl < 0 {
                throw ValidationError("--ttl must be >= 0, got \(ttl)")
            }
            for field in fields {
                guard let equals = field.firstIndex(of: "="), equals != field.startIndex else {
                    throw ValidationError("--field takes name=value, got '\(field)'")
                }
            }
        }

        /// The `PUT` command this invocation sends.
        var command: [String] {
            let key = key ?? KeyDerivation.key(forProxyURL: proxyURL)
            var command = ["PUT", key, proxyURL]
            if let username {
                command += ["username", username]
            }
            if let password {
                command += ["password", password]
            }
            if let source {
                command += ["source", source]
            }
            if let ttl {
                command += ["ttl_seconds", String(ttl)]
            }
            for field in fields {
                let equals = field.firstIndex(of: "=")!
                command += [String(field[..<equals]), String(field[field.index(after: equals)...])]
            }
            return command
        }

        func execute(_ connection: Connection) throws(CacheCtlError) {
            let command = command
            _ = try connection.call(command).checked()
            emit(command[1], json: .object([("key", .string(command[1]))]))
        }
    }

    /// `cachectl del KEY...`: removes entries from every tier.
    struct Del: ClientCommand {
        static let configuration = CommandConfiguration(
            commandName: "del",
            abstract: "Delete entries; prints how many existed."
        )

        @OptionGroup var options: ClientOptions

        @Argument(help: "The keys to delete.")
        var keys: [String]

        func validate() throws {
            if keys.isEmpty {
                throw ValidationError("del needs at least one key")
            }
        }

        func execute(_ connection: Connection) throws(CacheCtlError) {
            let deleted = try connection.call(["DEL"] + keys).integer(for: "DEL")
            emit(String(deleted), json: .object([("deleted", .integer(deleted))]))
        }
    }

    /// `cachectl ttl KEY`: the seconds an entry has left.
    struct TTL: ClientCommand {
        static let configuration = CommandConfiguration(
            commandName: "ttl",
            abstract: "Print the seconds an entry has left (-1: it never expires).",
            discussion: "Exits 1 when the key is not cached."
        )

        @OptionGroup var options: ClientOptions

        @Argument(help: "The cache key.")
        var key: String

        func execute(_ connection: Connection) throws(CacheCtlError) {
            let seconds = try connection.call(["TTL", key]).integer(for: "TTL")
            guard seconds != -2 else { throw .notFound(key) }
            emit(String(seconds), json: .object([("key", .string(key)), ("ttl", .integer(seconds))]))
        }
    }
}

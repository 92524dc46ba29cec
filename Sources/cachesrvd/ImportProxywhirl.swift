import ArgumentParser
import CacheServer
import Foundation
import Logging
import PostgresTier
import Tiers

/// `cachesrvd import-proxywhirl`: takes over the entries of an existing proxywhirl cache.
struct ImportProxywhirl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-proxywhirl",
        abstract: "Import a proxywhirl cache (its L3 database and L2 directory) into this data directory.",
        discussion: """
            Reads proxywhirl's L3 (cache_entries) and L2 (JSONL shards and/or l2_cache.db) with proxywhirl's key, \
            and writes every live entry, credentials re-encrypted under our own key, into our L3 and L2. The \
            copies of a key found in several places are merged field by field: for each field the most recently \
            touched copy that holds it wins (l2_cache.db has no health columns, so it never overrides L3's health \
            fields). Expired entries and broken rows are skipped. When any entry's credentials cannot be \
            decrypted with the given keys, nothing is written and the exit status is 1, unless \
            --skip-undecryptable is given. Prints "imported N, skipped N" and, when some were skipped, why. \
            A key file must be private to its owner (chmod 600). Refuses to run while a server answers on --socket. \
            With --l3-url (or $CACHESRVD_L3_URL) the entries go into that PostgreSQL L3 instead (one transaction \
            per 500, announced to the running sidecars, which drop their copies), credentials encrypted under the \
            fleet's key: a key other than the one the database was written with is refused. This host's L2 is then \
            not written (each sidecar empties its L2 when it starts, a cache of the shared L3).
            """
    )

    /// proxywhirl's environment variable for its key.
    static let keyVariable = "PROXYWHIRL_CACHE_ENCRYPTION_KEY"
    /// proxywhirl's environment variable for its previous key (comma-separated keys are accepted).
    static let previousKeyVariable = "PROXYWHIRL_CACHE_KEY_PREVIOUS"

    @OptionGroup var data: DataOptions

    @Option(
        help:
            "proxywhirl's key, or a file holding it (a file is better: arguments are visible to other users). A key that starts with '-' must be written --proxywhirl-key=KEY. Default: $PROXYWHIRL_CACHE_ENCRYPTION_KEY."
    )
    var proxywhirlKey: String?

    @Option(
        help:
            "A previous proxywhirl key, or a file holding it (repeatable). Default: $PROXYWHIRL_CACHE_KEY_PREVIOUS."
    )
    var proxywhirlPreviousKey: [String] = []

    @Flag(
        help:
            "Import the other entries when some credentials cannot be decrypted with the given keys (those entries are skipped and counted), instead of failing."
    )
    var skipUndecryptable = false

    @Option(help: "proxywhirl's L3 database. Default: .cache/db/proxywhirl.db, skipped when missing.")
    var l3: String?

    @Option(
        help:
            "proxywhirl's L2 directory (shards and/or l2_cache.db) or an l2_cache.db file. Default: .cache/proxies, skipped when missing."
    )
    var l2: String?

    @Option(help: "Our L2 backend to write: sqlite or jsonl. Default: the one the data directory holds, else sqlite.")
    var l2Backend: ServerConfiguration.L2Backend?

    @Option(help: "L2 capacity, entries: the least recently used beyond it are evicted after the import.")
    var l2MaxEntries: Int = 5000

    func validate() throws {
        if l2MaxEntries < 1 { throw ValidationError("--l2-max-entries must be at least 1") }
        let environment = ProcessInfo.processInfo.environment
        if proxywhirlKey == nil && (environment[Self.keyVariable] ?? "").isEmpty {
            throw ValidationError("give --proxywhirl-key KEY_OR_FILE or set \(Self.keyVariable)")
        }
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        try data.refuseIfServerAnswers(environment: environment)
        let (key, previous) = try proxywhirlKeys(environment: environment)
        let l3Path = try source(l3, default: ".cache/db/proxywhirl.db", directory: false)
        let l2Source = try source(l2, default: ".cache/proxies", directory: nil)
        guard l3Path != nil || l2Source != nil else {
            throw MaintenanceError(
                "nothing to import: no .cache/db/proxywhirl.db or .cache/proxies here; give --l3 or --l2"
            )
        }
        let (l2Directory, cleanup) = try Self.l2Directory(for: l2Source)
        defer { cleanup() }
        let read: ProxywhirlImporter.Result
        do {
            read = try ProxywhirlImporter.read(
                l3Database: l3Path,
                l2Directory: l2Directory,
                key: key,
                previousKeys: previous,
                now: Date().timeIntervalSince1970
            )
        } catch {
            throw MaintenanceError("cannot read the proxywhirl cache: \(error)")
        }
        if !read.undecryptable.isEmpty && !skipUndecryptable {
            throw MaintenanceError(
                "the credentials of \(read.undecryptable.count) entries cannot be decrypted with the given proxywhirl "
                    + "key(s) (first: key \(read.undecryptable[0])); nothing was imported. Give the right "
                    + "--proxywhirl-key (and --proxywhirl-previous-key), or --skip-undecryptable to import the others"
            )
        }
        let database = try data.l3Database(environment: environment)
        let evicted =
            if let database {
                try writePostgres(read.entries, into: database, environment: environment)
            } else {
                try write(read.entries, environment: environment)
            }
        print("imported \(read.entries.count), skipped \(read.skipped)")
        if read.skipped > 0 {
            print(
                "skipped: \(read.expired) expired, \(read.broken) broken rows or lines, "
                    + "\(read.undecryptable.count) with credentials not decryptable with the given keys"
            )
        }
        if evicted > 0 {
            print("evicted \(evicted) least recently used entries from L2 beyond --l2-max-entries \(l2MaxEntries)")
        }
    }

    /// Puts the entries into our L3 and L2 (under our key); returns how many L2 evicted to its bound.
    private func write(_ entries: [CacheEntry], environment: [String: String]) throws -> Int {
        let logger = DataOptions.makeLogger()
        try data.makeDataDirectory(environment: environment)
        let cipher = try data.loadCipher(environment: environment, logger: logger)
        let l2Directory = data.l2Directory(environment: environment)
        let backend = l2Backend ?? Self.detectBackend(in: l2Directory)
        let writes = entries.map { StoreWrite.put($0) }
        do {
            let l3 = try SQLiteStore(
                .l3(path: data.l3Path(environment: environment)),
                cipher: cipher,
                fsync: .always,
                logger: logger
            )
            defer { l3.close() }
            for start in stride(from: 0, to: writes.count, by: 500) {
                try l3.apply(Array(writes[start..<min(start + 500, writes.count)]))
            }
            let l2: any PersistentStore =
                switch backend {
                case .sqlite:
                    try SQLiteStore(.l2(directory: l2Directory), cipher: cipher, fsync: .always, logger: logger)
                case .jsonl: try JSONLStore(directory: l2Directory, cipher: cipher, fsync: .always, logger: logger)
                }
            defer { l2.close() }
            for start in stride(from: 0, to: writes.count, by: 500) {
                try l2.apply(Array(writes[start..<min(start + 500, writes.count)]))
            }
            return try l2.evict(toAtMost: l2MaxEntries, policy: .lru).count
        } catch {
            throw MaintenanceError(
                "cannot write the imported entries into \(data.dataDirectory(environment: environment)): \(error)"
            )
        }
    }

    /// Puts the entries into the PostgreSQL L3 (under the fleet's key, checked against the database's); L2 is left
    /// alone. Returns 0 (nothing evicted).
    private func writePostgres(
        _ entries: [CacheEntry],
        into database: PostgresURL,
        environment: [String: String]
    ) throws -> Int {
        let logger = DataOptions.makeLogger()
        try data.makeDataDirectory(environment: environment)
        let cipher = try data.loadCipher(environment: environment, logger: logger)
        let store = try data.openPostgres(database, cipher: cipher, logger: logger)
        defer { store.close() }
        let writes = entries.map { StoreWrite.put($0) }
        do {
            for start in stride(from: 0, to: writes.count, by: 500) {
                try store.apply(Array(writes[start..<min(start + 500, writes.count)]))
            }
        } catch {
            throw MaintenanceError("cannot write the imported entries into \(database.redacted): \(error)")
        }
        return 0
    }

    /// The current and previous keys from the options, else from proxywhirl's environment variables.
    private func proxywhirlKeys(environment: [String: String]) throws -> (FernetKey, [FernetKey]) {
        let key: FernetKey
        if let proxywhirlKey {
            key = try Self.parseKey(proxywhirlKey, option: "--proxywhirl-key")
        } else if let text = environment[Self.keyVariable], !text.isEmpty {
            key = try Self.parseKey(text, variable: Self.keyVariable)
        } else {
            throw MaintenanceError("give --proxywhirl-key KEY_OR_FILE or set \(Self.keyVariable)")
        }
        var previous = [FernetKey]()
        if !proxywhirlPreviousKey.isEmpty {
            for value in proxywhirlPreviousKey {
                previous.append(try Self.parseKey(value, option: "--proxywhirl-previous-key"))
            }
        } else if let text = environment[Self.previousKeyVariable] {
            for part in text.split(separator: ",") where !part.allSatisfy({ $0 == " " }) {
                previous.append(try Self.parseKey(String(part), variable: Self.previousKeyVariable))
            }
        }
        return (key, previous)
    }

    /// A key given as an option: a file when one exists at that path, else the key itself. Errors
    /// never repeat the value (it may be a mistyped key).
    private static func parseKey(_ value: String, option: String) throws -> FernetKey {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: value, isDirectory: &isDirectory), !isDirectory.boolValue {
            do {
                return try EncryptionKeyLoader.readKey(fromFile: value)
            } catch {
                throw MaintenanceError("\(option): \(error)")
            }
        }
        guard let key = try? FernetKey(base64URL: value.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw MaintenanceError("\(option) is neither a key (URL-safe base64 of 32 bytes) nor a readable file")
        }
        return key
    }

    private static func parseKey(_ text: String, variable: String) throws -> FernetKey {
        guard let key = try? FernetKey(base64URL: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw MaintenanceError(
                "environment variable \(variable) is malformed: a key is URL-safe base64 of 32 bytes"
            )
        }
        return key
    }

    /// The path given (which must exist), else the default when it exists, else `nil`.
    /// `directory`: whether it must be a directory (`nil`: either).
    private func source(_ given: String?, default path: String, directory: Bool?) throws -> String? {
        var isDirectory: ObjCBool = false
        guard let given else {
            return FileManager.default.fileExists(atPath: path) ? path : nil
        }
        guard FileManager.default.fileExists(atPath: given, isDirectory: &isDirectory) else {
            throw MaintenanceError("no such file or directory: \(given)")
        }
        if let directory, directory != isDirectory.boolValue {
            throw MaintenanceError("\(given) is \(directory ? "not a directory" : "a directory, not a database file")")
        }
        return given
    }

    /// The directory to give the importer for an L2 source: the directory itself, or for a database
    /// file a temporary directory where `l2_cache.db` links to it (so that only that file is read).
    private static func l2Directory(for source: String?) throws -> (String?, () -> Void) {
        guard let source else { return (nil, {}) }
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory)
        if isDirectory.boolValue { return (source, {}) }
        let temporary = NSTemporaryDirectory() + "cachesrvd-import-" + UUID().uuidString
        let absolute = URL(fileURLWithPath: source).standardizedFileURL.path
        do {
            try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(
                atPath: temporary + "/l2_cache.db",
                withDestinationPath: absolute
            )
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw MaintenanceError("cannot prepare to read \(source): \(error.localizedDescription)")
        }
        return (temporary, { try? FileManager.default.removeItem(atPath: temporary) })
    }

    /// `jsonl` when the L2 directory holds shards and no `l2_cache.db`, else `sqlite` (serve's default).
    static func detectBackend(in directory: String) -> ServerConfiguration.L2Backend {
        if FileManager.default.fileExists(atPath: SQLiteStore.Configuration.l2(directory: directory).path) {
            return .sqlite
        }
        return JSONLMigration.shardFileNames(in: directory).isEmpty ? .sqlite : .jsonl
    }
}

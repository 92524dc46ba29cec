import Logging
import PostgresTier
import Tiers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Opens the configured disk tiers and builds the tiered cache over them.
public enum TierFactory {
    /// The L3 database's file name in the data directory.
    public static let l3FileName = "cachesrvd.db"
    /// The L2 directory's name in the data directory.
    public static let l2DirectoryName = "l2"
    /// The journal's directory in the data directory.
    public static let journalDirectoryName = "journal"

    /// Builds the cache; throws `ServerStartupError` with a clear message (a malformed key, an unusable directory).
    /// A corrupt database file is moved aside and replaced by a new one holding its readable rows, loudly logged,
    /// and counted in the statistics.
    public static func makeCache(
        _ configuration: ServerConfiguration,
        environment: [String: String],
        logger: Logger
    ) throws -> TieredCache {
        let wantsDisk = configuration.tiers.contains(.l2) || configuration.tiers.contains(.l3)
        guard wantsDisk else {
            return TieredCache(configuration: configuration.cache, logger: logger)
        }
        try makeDirectory(configuration.dataDirectory)
        let cipher: CredentialCipher
        do {
            let loaded = try EncryptionKeyLoader.load(
                environment: environment,
                keyFile: configuration.keyFile,
                dataDirectory: configuration.dataDirectory,
                logger: logger
            )
            cipher = loaded.cipher
        } catch {
            throw ServerStartupError("\(error)")
        }
        var recovered: [(TierID, String, SalvageReport?)] = []
        var corruptLinesSkipped = 0
        var l2: (any PersistentStore)?
        var l3: (any PersistentStore)?
        // The journal is the durability point: the stores sync about once a second, whatever `--fsync` says.
        let fsync = FsyncPolicy.everysec
        do {
            if configuration.tiers.contains(.l2) {
                let directory = configuration.dataDirectory + "/" + l2DirectoryName
                switch configuration.l2Backend {
                case .sqlite:
                    let opened = try SQLiteStore.openRecoveringCorruption(
                        .l2(directory: directory),
                        cipher: cipher,
                        fsync: fsync,
                        logger: logger
                    )
                    l2 = opened.store
                    if let path = opened.recoveredFrom { recovered.append((.l2, path, opened.salvage)) }
                    migrateShards(in: directory, cipher: cipher, into: opened.store, configuration, logger: logger)
                case .jsonl:
                    let store = try JSONLStore(directory: directory, cipher: cipher, fsync: fsync, logger: logger)
                    corruptLinesSkipped = store.corruptLinesSkipped
                    l2 = store
                }
            }
            if configuration.tiers.contains(.l3), let database = configuration.l3Database {
                l3 = try openPostgres(database, configuration, cipher: cipher, logger: logger)
            } else if configuration.tiers.contains(.l3) {
                let opened = try SQLiteStore.openRecoveringCorruption(
                    .l3(path: configuration.dataDirectory + "/" + l3FileName),
                    cipher: cipher,
                    fsync: fsync,
                    logger: logger
                )
                l3 = opened.store
                if let path = opened.recoveredFrom { recovered.append((.l3, path, opened.salvage)) }
            }
        } catch let error as ServerStartupError {
            l2?.close()
            throw error
        } catch {
            l2?.close()
            throw ServerStartupError("cannot open the disk tiers in \(configuration.dataDirectory): \(error)")
        }
        let journal: Journal
        do {
            journal = try Journal(
                directory: configuration.dataDirectory + "/" + journalDirectoryName,
                cipher: cipher,
                fsync: configuration.cache.fsync,
                segmentSize: configuration.cache.journalSegmentSize,
                logger: logger
            )
        } catch {
            l2?.close()
            l3?.close()
            throw ServerStartupError("cannot open the journal in \(configuration.dataDirectory): \(error)")
        }
        let cache = TieredCache(configuration: configuration.cache, l2: l2, l3: l3, journal: journal, logger: logger)
        for (tier, path, salvage) in recovered {
            cache.recordRecoveredCorruption(tier: tier, movedTo: path, salvage: salvage)
        }
        cache.recordCorruptEntriesSkipped(tier: .l2, count: corruptLinesSkipped)
        return cache
    }

    /// Opens the PostgreSQL L3 as this sidecar (`SidecarID`). A database written with another key, or a server that
    /// refuses (a wrong password), stops the start with a message that masks the URL's password; a server that
    /// cannot be reached does not: the sidecar starts with L3 degraded and catches up when it answers.
    private static func openPostgres(
        _ database: PostgresURL,
        _ configuration: ServerConfiguration,
        cipher: CredentialCipher,
        logger: Logger
    ) throws -> PostgresStore {
        let sidecar = try SidecarID.loadOrCreate(dataDirectory: configuration.dataDirectory)
        do {
            var store = PostgresStore.Configuration(url: database, sidecarID: sidecar)
            store.timeout = configuration.l3Timeout
            store.opensUnreachable = true
            return try PostgresStore(store, cipher: cipher, logger: logger)
        } catch {
            throw ServerStartupError("cannot open L3 in PostgreSQL (\(database.redacted)): \(error.message)")
        }
    }

    /// Moves JSONL shards left in the SQLite L2's directory (a switch from `--l2-backend jsonl`)
    /// into it and renames them `shard_NN.jsonl.migrated`; trims L2 to its bound. A failure is
    /// logged and leaves the shards in place (the next start tries again): it does not stop startup.
    private static func migrateShards(
        in directory: String,
        cipher: CredentialCipher,
        into store: SQLiteStore,
        _ configuration: ServerConfiguration,
        logger: Logger
    ) {
        guard !JSONLMigration.shardFileNames(in: directory).isEmpty else { return }
        do {
            let result = try JSONLMigration.migrateShardFiles(in: directory, cipher: cipher, into: store)
            let evicted = try store.evict(
                toAtMost: configuration.cache.l2MaxEntries,
                policy: configuration.cache.evictionPolicy
            )
            logger.info(
                "migrated JSONL shards into the SQLite L2",
                metadata: [
                    "cache.tier": "l2", "migration.migrated": "\(result.migrated)",
                    "migration.skipped": "\(result.skipped)", "migration.files": "\(result.files)",
                    "migration.evicted": "\(evicted.count)",
                ]
            )
        } catch {
            logger.error(
                "cannot migrate the JSONL shards into the SQLite L2; they stay in place",
                metadata: ["cache.tier": "l2", "error": "\(error)"]
            )
        }
    }

    /// Creates the directory (and parents) owner-only if it does not exist.
    static func makeDirectory(_ path: String) throws {
        var partial = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            partial += "/" + component
            if mkdir(partial, 0o700) != 0, errno != EEXIST {
                throw ServerStartupError("cannot create directory \(partial): \(String(cString: strerror(errno)))")
            }
        }
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw ServerStartupError("\(path) is not a directory")
        }
        guard access(path, W_OK) == 0 else {
            throw ServerStartupError("data directory \(path) is not writable")
        }
    }
}

import ArgumentParser
import Foundation
import Tiers

/// `cachesrvd migrate-l2`: moves the JSONL L2's shards into the SQLite L2.
struct MigrateL2: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-l2",
        abstract: "Move JSONL shards (the jsonl L2 backend) into the SQLite L2 (<data-dir>/l2/l2_cache.db).",
        discussion: """
            Reads every shard_*.jsonl of the directory (the last line of a key wins), puts the entries into \
            l2_cache.db, then renames each shard to shard_NN.jsonl.migrated so that a second run does not \
            import it again. Expired entries, corrupt lines and credentials the key cannot decrypt are skipped \
            (they stay in the renamed files). Prints "migrated N, skipped N". Refuses to run while a server \
            answers on --socket. `serve --l2-backend sqlite` does the same by itself when it finds shards. \
            It moves this host's L2 only: with --l3-url (or $CACHESRVD_L3_URL) it says so, and the PostgreSQL L3 \
            is not touched (there is nothing of L3 to migrate: cachesrvd creates and upgrades its tables at start).
            """
    )

    @OptionGroup var data: DataOptions

    @Option(help: "Directory holding the shards. Default: <data-dir>/l2 (the jsonl backend's directory).")
    var from: String?

    @Option(help: "L2 capacity, entries: the least recently used beyond it are evicted after the migration.")
    var l2MaxEntries: Int = 5000

    func validate() throws {
        if l2MaxEntries < 1 { throw ValidationError("--l2-max-entries must be at least 1") }
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        try data.refuseIfServerAnswers(environment: environment)
        if let database = try data.l3Database(environment: environment) {
            FileHandle.standardError.write(
                Data(
                    ("migrate-l2 moves this host's L2 only: the PostgreSQL L3 (\(database.redacted)) is not touched\n")
                        .utf8
                )
            )
        }
        let directory = from ?? data.l2Directory(environment: environment)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw MaintenanceError("no such directory: \(directory)")
        }
        guard !JSONLMigration.shardFileNames(in: directory).isEmpty else {
            print("migrated 0, skipped 0")
            return
        }
        let logger = DataOptions.makeLogger()
        try data.makeDataDirectory(environment: environment)
        let cipher = try data.loadCipher(environment: environment, logger: logger)
        let target = SQLiteStore.Configuration.l2(directory: data.l2Directory(environment: environment))
        do {
            let store = try SQLiteStore(target, cipher: cipher, fsync: .always, logger: logger)
            defer { store.close() }
            let result = try JSONLMigration.migrateShardFiles(in: directory, cipher: cipher, into: store)
            let evicted = try store.evict(toAtMost: l2MaxEntries, policy: .lru)
            print("migrated \(result.migrated), skipped \(result.skipped)")
            if !evicted.isEmpty {
                print("evicted \(evicted.count) least recently used entries beyond --l2-max-entries \(l2MaxEntries)")
            }
        } catch {
            throw MaintenanceError("cannot migrate \(directory) into \(target.path): \(error)")
        }
    }
}

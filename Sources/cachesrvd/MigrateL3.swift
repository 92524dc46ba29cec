import ArgumentParser
import CacheServer
import Foundation
import Logging
import PostgresTier
import Tiers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `cachesrvd migrate-l3`: copies a host's SQLite L3 (entries and health history) into a fleet's PostgreSQL L3.
struct MigrateL3: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-l3",
        abstract: "Copy this host's SQLite L3 (<data-dir>/cachesrvd.db) into a PostgreSQL L3 (--l3-url).",
        discussion: """
            For a host that moves to a fleet's shared L3. First brings the SQLite L3 up to date with the data \
            directory's journal, as serve does at start (a crash may have left acknowledged writes only there), \
            then copies every live entry with its whole health history, oldest record first, into the PostgreSQL \
            L3 given by --l3-url (or $CACHESRVD_L3_URL; required), one transaction per --batch-keys keys, \
            announced to the running sidecars, which drop their copies. Credentials stay encrypted under the same \
            key (the database's key check refuses another). A key PostgreSQL already holds is skipped \
            (--on-conflict skip, the default) or replaced with its history (--on-conflict overwrite); a history \
            goes only with an entry that is written. Expired entries are not copied. Prints "copied N, overwritten \
            N, skipped N, expired N, history records N"; exits 1 on a failure (the batches committed stay: run it \
            again, the keys copied are then skipped). The SQLite file is left in place (apart from the journal's \
            replay): start the sidecar with `serve --l3-url URL` afterwards. Refuses to run while a server answers \
            on --socket.
            """
    )

    @OptionGroup var data: DataOptions

    @Option(
        help: ArgumentHelp(
            "What to do with a key the PostgreSQL L3 already holds: skip (keep PostgreSQL's entry and history) or overwrite (replace both with this host's).",
            valueName: "skip|overwrite"
        )
    )
    var onConflict: L3Copy.ConflictPolicy = .skip

    @Option(help: "Keys per transaction in PostgreSQL.")
    var batchKeys: Int = L3Copy.defaultBatchKeys

    func validate() throws {
        if batchKeys < 1 { throw ValidationError("--batch-keys must be at least 1") }
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        try data.refuseIfServerAnswers(environment: environment)
        guard let database = try data.l3Database(environment: environment) else {
            throw MaintenanceError(
                "give the PostgreSQL L3 to copy into with --l3-url URL (or set \(L3URLOption.variable))"
            )
        }
        let l3Path = data.l3Path(environment: environment)
        guard access(l3Path, F_OK) == 0 else {
            throw MaintenanceError("nothing to migrate: there is no SQLite L3 at \(l3Path)")
        }
        let logger = DataOptions.makeLogger()
        let cipher = try data.loadCipher(environment: environment, logger: logger)
        // The key check first: a database of another key refuses before anything is changed.
        let target = try data.openPostgres(database, cipher: cipher, logger: logger)
        defer { target.close() }
        try replayJournal(environment: environment, logger: logger)
        let summary: L3Copy.Summary
        do {
            let source = try SQLiteStore(.l3(path: l3Path), cipher: cipher, fsync: .always, logger: logger)
            defer { source.close() }
            summary = try L3Copy.run(
                from: source,
                into: target,
                onConflict: onConflict,
                batchKeys: batchKeys,
                now: Date().timeIntervalSince1970
            )
        } catch {
            throw MaintenanceError(
                "cannot copy \(l3Path) into \(database.redacted): \(error) (the batches committed before stay; "
                    + "running migrate-l3 again skips the keys they copied)"
            )
        }
        print(
            "copied \(summary.copied), overwritten \(summary.overwritten), skipped \(summary.skipped), "
                + "expired \(summary.expired), history records \(summary.historyRecords)"
        )
        print("\(l3Path) is left in place: start this host with `cachesrvd serve --l3-url URL` now")
    }

    /// Opens the data directory's tiers as `serve` would with its SQLite L3 (and its L2, when it has one, so that
    /// the journal is not dropped while L2 lacks some of it), which replays the journal's writes each lacks, then
    /// shuts them down cleanly.
    private func replayJournal(environment: [String: String], logger: Logger) throws {
        let directory = data.dataDirectory(environment: environment)
        guard access(directory + "/" + TierFactory.journalDirectoryName, F_OK) == 0 else { return }
        var configuration = ServerConfiguration(
            socketPath: data.socketPath(environment: environment),
            dataDirectory: directory
        )
        configuration.keyFile = data.keyFile
        configuration.l3Database = nil
        let l2Directory = data.l2Directory(environment: environment)
        if access(l2Directory, F_OK) == 0 {
            configuration.tiers = [.l1, .l2, .l3]
            configuration.l2Backend = ImportProxywhirl.detectBackend(in: l2Directory)
        } else {
            configuration.tiers = [.l1, .l3]
        }
        let cache: TieredCache
        do {
            cache = try TierFactory.makeCache(configuration, environment: environment, logger: logger)
        } catch {
            throw MaintenanceError("cannot replay the journal of \(directory): \(error)")
        }
        let report = cache.shutdown()
        if report.lostData {
            let lost = report.losses.filter(\.lostData).map(\.summary).joined(separator: "; ")
            throw MaintenanceError(
                "the journal of \(directory) could not be applied to the SQLite L3 (\(lost)); nothing was copied"
            )
        }
    }
}

extension L3Copy.ConflictPolicy: ExpressibleByArgument {}

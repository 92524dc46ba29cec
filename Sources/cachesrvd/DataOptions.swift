import ArgumentParser
import CacheServer
import Foundation
import LocalSocket
import Logging
import PostgresTier
import Tiers

/// The options every maintenance command shares: where the data and the key are (with the defaults
/// of `serve`), and the socket of the server that must not be running meanwhile.
struct DataOptions: ParsableArguments {
    @Option(
        help:
            "The server's Unix socket: the command refuses to run while a server answers there. Default: $CACHESRVD_SOCKET, else $XDG_RUNTIME_DIR/cachesrvd.sock, else /run/user/<uid>/cachesrvd.sock when private, else /tmp/cachesrvd-<uid>/cachesrvd.sock (a 0700 directory)."
    )
    var socket: String?

    @Option(
        help:
            "Where L2 and L3 live. Default: $CACHESRVD_DATA_DIR, else $XDG_STATE_HOME/cachesrvd, else ~/.local/state/cachesrvd."
    )
    var dataDir: String?

    @Option(
        help:
            "File holding the credential encryption key. Default: $CACHESRVD_ENCRYPTION_KEY, else <data-dir>/encryption.key."
    )
    var keyFile: String?

    @OptionGroup var l3Url: L3URLOption

    /// The data directory, with `serve`'s default rule.
    func dataDirectory(environment: [String: String]) -> String {
        dataDir ?? ServeOptions.defaultDataDirectory(environment: environment)
    }

    /// The socket path, with `serve`'s default rule.
    func socketPath(environment: [String: String]) -> String {
        socket ?? SocketPath.defaultPath(environment: environment)
    }

    /// The L2 directory (both backends live there).
    func l2Directory(environment: [String: String]) -> String {
        dataDirectory(environment: environment) + "/" + TierFactory.l2DirectoryName
    }

    /// The L3 database path.
    func l3Path(environment: [String: String]) -> String {
        dataDirectory(environment: environment) + "/" + TierFactory.l3FileName
    }

    /// The PostgreSQL L3 (`--l3-url`, else `$CACHESRVD_L3_URL`), nil for the SQLite file.
    func l3Database(environment: [String: String]) throws(MaintenanceError) -> PostgresURL? {
        do {
            return try l3Url.parsed(environment: environment)
        } catch {
            throw MaintenanceError("\(error)")
        }
    }

    /// Opens the PostgreSQL L3 as a maintenance session of its own (a random sidecar id: it records no journal
    /// sequence). A database written with another key refuses, as it does for `serve`.
    func openPostgres(
        _ database: PostgresURL,
        cipher: CredentialCipher,
        logger: Logger
    ) throws(MaintenanceError) -> PostgresStore {
        let sidecar = "maintenance-" + UUID().uuidString.lowercased()
        do {
            return try PostgresStore(.init(url: database, sidecarID: sidecar), cipher: cipher, logger: logger)
        } catch {
            throw MaintenanceError("cannot open L3 in PostgreSQL (\(database.redacted)): \(error.message)")
        }
    }

    /// Throws when a server answers on the socket: the stores it has open must not be changed
    /// behind its back (its L1 and its writers' queues would disagree with the disk).
    func refuseIfServerAnswers(environment: [String: String]) throws(MaintenanceError) {
        let path = socketPath(environment: environment)
        if SocketPath.serverMayAnswer(at: path) {
            throw MaintenanceError(
                "a server answers on \(path), or it cannot be checked: stop it first (maintenance commands change "
                    + "its files on disk; under systemd stop cachesrvd.socket too, a connection would start it)"
            )
        }
    }

    /// Loads the data directory's key as `serve` does (generating `encryption.key` when there is none).
    func loadCipher(environment: [String: String], logger: Logger) throws(MaintenanceError) -> CredentialCipher {
        do {
            return try EncryptionKeyLoader.load(
                environment: environment,
                keyFile: keyFile,
                dataDirectory: dataDirectory(environment: environment),
                logger: logger
            ).cipher
        } catch {
            throw MaintenanceError("\(error)")
        }
    }

    /// Creates the data directory (and its parents) owner-only when missing.
    func makeDataDirectory(environment: [String: String]) throws(MaintenanceError) {
        let path = dataDirectory(environment: environment)
        do {
            try FileManager.default.createDirectory(
                atPath: path,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
        } catch {
            throw MaintenanceError("cannot create the data directory \(path): \(error.localizedDescription)")
        }
    }

    /// A logger to stderr at warning level: the stores' own progress lines stay out of the output.
    static func makeLogger() -> Logger {
        Logger(label: "cachesrvd") { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
    }
}

/// Why a maintenance command failed: ArgumentParser prints it to stderr and exits with status 1.
struct MaintenanceError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

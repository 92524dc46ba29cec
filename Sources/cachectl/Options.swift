import ArgumentParser
import LocalSocket

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The options every subcommand takes: where the server is, how to print, how long to wait.
struct ClientOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The server's Unix socket.",
            discussion: """
                Default: $CACHESRVD_SOCKET, else $XDG_RUNTIME_DIR/cachesrvd.sock when XDG_RUNTIME_DIR is set, \
                else /run/user/<uid>/cachesrvd.sock when that directory is private, else \
                /tmp/cachesrvd-<uid>/cachesrvd.sock (the rule cachesrvd uses).
                """,
            valueName: "path"
        )
    )
    var socket: String?

    @Flag(name: .long, help: "Print JSON instead of plain text.")
    var json = false

    @Option(
        name: .long,
        help: ArgumentHelp("Seconds to wait for the server to answer (0 waits forever).", valueName: "seconds")
    )
    var timeout: Double = 30

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The user (name or uid) the server must run as; root is always accepted.",
            discussion: """
                cachectl checks the socket file's owner and the server's own uid (SO_PEERCRED) before it sends \
                anything, so a socket another user put in place never receives a command or a password. Default: \
                $CACHESRVD_SERVER_UID, else the user running cachectl.
                """,
            valueName: "user"
        )
    )
    var serverUID: String?

    func validate() throws {
        guard timeout.isFinite, timeout >= 0 else {
            throw ValidationError("--timeout must be a number of seconds >= 0, got \(timeout)")
        }
        _ = try expectedServerUIDs()
    }

    /// The socket path this invocation uses: `--socket`, else the default rule cachesrvd shares.
    var socketPath: String {
        socket ?? SocketPath.defaultPath(environment: Console.environment)
    }

    /// The users the server may run as: `--server-uid` (or `$CACHESRVD_SERVER_UID`, else our own), and root.
    func expectedServerUIDs() throws -> Set<uid_t> {
        guard let name = serverUID ?? Console.environment("CACHESRVD_SERVER_UID"), !name.isEmpty else {
            return [getuid(), 0]
        }
        if let uid = uid_t(name) { return [uid, 0] }
        guard let entry = getpwnam(name) else { throw ValidationError("--server-uid: no such user '\(name)'") }
        return [entry.pointee.pw_uid, 0]
    }

    /// Opens a connection to the server.
    ///
    /// - Throws: `CacheCtlError` with exit 64 for an over-long path, 69 when nothing answers on it, 77 when the
    ///   socket or the server belongs to an unexpected user.
    func connect() throws(CacheCtlError) -> Connection {
        let expected: Set<uid_t>
        do {
            expected = try expectedServerUIDs()
        } catch {
            throw CacheCtlError(.usage, "\(error)")
        }
        return try Connection(path: socketPath, timeout: timeout, serverUIDs: expected)
    }
}

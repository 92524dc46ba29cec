import ArgumentParser

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
                else /tmp/cachesrvd-<uid>.sock (the rule cachesrvd uses).
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

    func validate() throws {
        guard timeout.isFinite, timeout >= 0 else {
            throw ValidationError("--timeout must be a number of seconds >= 0, got \(timeout)")
        }
    }

    /// The socket path this invocation uses: `--socket`, else the environment's default.
    var socketPath: String {
        if let socket {
            return socket
        }
        return Self.defaultSocketPath(environment: Console.environment, uid: UInt32(getuid()))
    }

    /// The default socket path, the same rule as cachesrvd's.
    ///
    /// - Parameters:
    ///   - environment: Looks up an environment variable; empty values count as unset.
    ///   - uid: The user id used in the `/tmp` fallback.
    /// - Returns: `$CACHESRVD_SOCKET`, else `$XDG_RUNTIME_DIR/cachesrvd.sock`, else `/tmp/cachesrvd-<uid>.sock`.
    static func defaultSocketPath(environment: (String) -> String?, uid: UInt32) -> String {
        if let path = environment("CACHESRVD_SOCKET"), !path.isEmpty {
            return path
        }
        if let runtime = environment("XDG_RUNTIME_DIR"), !runtime.isEmpty {
            return runtime.hasSuffix("/") ? runtime + "cachesrvd.sock" : runtime + "/cachesrvd.sock"
        }
        return "/tmp/cachesrvd-\(uid).sock"
    }

    /// Opens a connection to the server.
    ///
    /// - Throws: `CacheCtlError` with exit 64 for an over-long path, 69 when nothing answers on it.
    func connect() throws(CacheCtlError) -> Connection {
        try Connection(path: socketPath, timeout: timeout)
    }
}

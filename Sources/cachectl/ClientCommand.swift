import ArgumentParser

/// A subcommand that talks to the server: it connects with the shared options, runs, and prints.
///
/// The default `run()` opens the connection, calls `execute(_:)`, and turns a `CacheCtlError` into its message on
/// stderr and its exit status.
protocol ClientCommand: ParsableCommand {
    /// The shared `--socket`, `--json` and `--timeout` options.
    var options: ClientOptions { get }

    /// Does the command's work over an open connection and prints its result.
    func execute(_ connection: Connection) throws(CacheCtlError)
}

extension ClientCommand {
    func run() throws {
        try CacheCtl.reporting(json: options.json) { () throws(CacheCtlError) in
            let connection = try options.connect()
            try execute(connection)
        }
    }

    /// Prints `plain`, or the JSON text of `json` with `--json`, as one line on stdout.
    func emit(_ plain: @autoclosure () -> String, json: @autoclosure () -> JSONValue) {
        Console.output(options.json ? json().jsonText : plain())
    }
}

extension CacheCtl {
    /// Runs `body`, reporting a `CacheCtlError` as cachectl does: the message on stderr (for "not found" in JSON
    /// mode, `null` on stdout instead) and the error's exit status.
    static func reporting(json: Bool, _ body: () throws(CacheCtlError) -> Void) throws {
        do {
            try body()
        } catch {
            if error.exitCode == .notFound, json {
                Console.output("null")
            } else {
                Console.error(error.message)
            }
            throw error.exitCode
        }
    }
}

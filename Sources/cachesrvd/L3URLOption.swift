import ArgumentParser
import PostgresTier

/// `--l3-url` (else `$CACHESRVD_L3_URL`): the PostgreSQL database holding L3, declared once for `serve` and the
/// maintenance commands that work on L3 (`import-proxywhirl`, `rotate-key`, `migrate-l3`, `migrate-l2`'s notice).
struct L3URLOption: ParsableArguments {
    /// The environment variable that gives the URL when the option does not.
    static let variable = "CACHESRVD_L3_URL"

    @Option(
        name: .customLong("l3-url"),
        help: ArgumentHelp(
            "Keep L3 in this PostgreSQL database instead of <data-dir>/cachesrvd.db (sidecars of a fleet share it). Default: $CACHESRVD_L3_URL, else the SQLite file.",
            discussion:
                "postgres://user[:password]@host[:port]/database[?sslmode=disable|prefer|require], or a Unix-socket directory: postgres://user@/database?host=/run/postgresql. The password comes from the URL, else $PGPASSWORD, else $PGPASSFILE or ~/.pgpass; it is never logged.",
            valueName: "url"
        )
    )
    var url: String?

    func validate() throws {
        if let url { _ = try Self.parse(url, environment: [:]) }
    }

    /// The option (else the environment variable) parsed, its password resolved from `environment`; nil for the
    /// SQLite L3.
    func parsed(environment: [String: String]) throws -> PostgresURL? {
        guard let text = url ?? environment[Self.variable].flatMap({ $0.isEmpty ? nil : $0 }) else { return nil }
        return try Self.parse(text, environment: environment)
    }

    private static func parse(_ text: String, environment: [String: String]) throws -> PostgresURL {
        do {
            return try PostgresURL(text, environment: environment)
        } catch {
            throw ValidationError(error.description)
        }
    }
}

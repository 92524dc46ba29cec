import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A throw-away PostgreSQL cluster for tests: `initdb` and `pg_ctl` (Debian's, on PATH or in
/// /usr/lib/postgresql/<version>/bin) in a temporary directory, run as the unprivileged `postgres` user when the
/// tests run as root (PostgreSQL refuses root), listening only on a Unix socket in that directory, password
/// authentication (scram-sha-256) for the superuser `postgres`. `stop()` ends the server and removes the directory.
///
/// When PostgreSQL is not installed, `start()` throws `ThrowawayPostgres.Unavailable` saying why; tests turn it into
/// a skip, unless `CACHESRVD_REQUIRE_POSTGRES=1` (CI) makes them fail instead.
public final class ThrowawayPostgres: @unchecked Sendable {
    /// Why no cluster could be started on this machine (PostgreSQL missing): the tests are skipped.
    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    /// A step that failed on a machine that has PostgreSQL: the tests fail.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The superuser.
    public let user = "postgres"
    /// The superuser's password (a test secret: tests check it never reaches a log).
    public let password: String
    /// The temporary directory: `data/` and the socket `.s.PGSQL.5432`.
    public let directory: String
    private let binaries: String
    private var stopped = false

    /// The socket directory (libpq's `host=`).
    public var socketDirectory: String { directory }

    /// A `postgres://` URL of `database`, with or without the password in it.
    public func url(database: String, withPassword: Bool = true) -> String {
        let userInfo = withPassword ? "\(user):\(password)" : user
        return "postgres://\(userInfo)@/\(database)?host=\(socketDirectory)"
    }

    /// Starts a new cluster (a few seconds: `initdb`, then `pg_ctl start -w`).
    ///
    /// - Throws: `Unavailable` when PostgreSQL is not installed (or cannot be run unprivileged), `Failure` when
    ///   it is and a step failed.
    public static func start() throws -> ThrowawayPostgres {
        guard let binaries = findBinaries() else {
            throw Unavailable(
                description:
                    "PostgreSQL is not installed (no initdb and pg_ctl on PATH or in /usr/lib/postgresql/*/bin;"
                    + " Debian: apt-get install postgresql)"
            )
        }
        if geteuid() == 0 {
            guard getpwnam("postgres") != nil else {
                throw Unavailable(description: "running as root and there is no 'postgres' user to run PostgreSQL as")
            }
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
                throw Unavailable(description: "running as root and setpriv (util-linux) is missing")
            }
        }
        var template = Array("/tmp/cachesrvd-pg-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw Failure(description: "cannot make a temporary directory: \(String(cString: strerror(errno)))")
        }
        let directory = String(cString: made)
        let cluster = ThrowawayPostgres(directory: directory, binaries: binaries)
        do {
            try cluster.initialise()
            return cluster
        } catch {
            cluster.stop()
            throw error
        }
    }

    private init(directory: String, binaries: String) {
        self.directory = directory
        self.binaries = binaries
        self.password = "pw-" + UUID().uuidString.lowercased().prefix(12)
    }

    deinit {
        stop()
    }

    private func initialise() throws {
        if geteuid() == 0, let owner = getpwnam("postgres") {
            guard chown(directory, owner.pointee.pw_uid, owner.pointee.pw_gid) == 0 else {
                throw Failure(description: "cannot chown \(directory) to postgres")
            }
        }
        let passwordFile = directory + "/pwfile"
        try run(["/bin/sh", "-c", "umask 077; printf '%s\\n' \"$0\" > \"$1\"", password, passwordFile])
        try run([
            binaries + "/initdb", "-D", directory + "/data", "-U", user, "--auth=scram-sha-256",
            "--pwfile=" + passwordFile, "-E", "UTF8", "--locale=C", "--no-sync",
        ])
        try startServer()
    }

    private func startServer() throws {
        try run([
            binaries + "/pg_ctl", "-D", directory + "/data", "-l", directory + "/server.log", "-w", "-t", "60", "-o",
            "-c listen_addresses='' -c unix_socket_directories='\(directory)' -c fsync=off -c max_connections=100",
            "start",
        ])
    }

    /// Stops the server as an outage would (`immediate`: connections are cut, nothing is flushed), keeping its data
    /// for `resume()`.
    public func pause() throws {
        try run([binaries + "/pg_ctl", "-D", directory + "/data", "-m", "immediate", "-w", "stop"])
    }

    /// Starts the server again after `pause()`, with its data.
    public func resume() throws {
        try startServer()
    }

    /// Creates a database (a fresh one per test keeps tests apart) and returns its name.
    @discardableResult
    public func createDatabase(_ name: String = "t_" + UUID().uuidString.lowercased().prefix(8)) throws -> String {
        _ = try psql("postgres", "CREATE DATABASE \"\(name)\"")
        return name
    }

    /// Runs `sql` with psql in `database` and returns the output's lines (unaligned, tuples only, `|` between
    /// columns).
    public func psql(_ database: String, _ sql: String) throws -> [String] {
        let output = try run(
            [
                binaries + "/psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", directory, "-U", user, "-d",
                database,
                "-c", sql,
            ],
            environment: ["PGPASSWORD": password],
            asPostgres: false
        )
        return output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }
    }

    /// Stops the server (immediate mode) and removes the directory; idempotent.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        if FileManager.default.fileExists(atPath: directory + "/data/postmaster.pid") {
            _ = try? run([binaries + "/pg_ctl", "-D", directory + "/data", "-m", "immediate", "-w", "stop"])
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs a command to its end (as `postgres` when we are root and `asPostgres`); returns its standard output.
    @discardableResult
    private func run(
        _ arguments: [String],
        environment: [String: String] = [:],
        asPostgres: Bool = true
    ) throws
        -> String
    {
        var command = arguments
        if asPostgres, geteuid() == 0 {
            command = ["/usr/bin/setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups"] + command
        }
        let capture = directory + "/.run-" + UUID().uuidString
        defer {
            try? FileManager.default.removeItem(atPath: capture + ".out")
            try? FileManager.default.removeItem(atPath: capture + ".err")
        }
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "PGPASSWORD")
        env.merge(environment) { $1 }
        let status = try Self.spawnAndWait(
            command,
            environment: env,
            output: capture + ".out",
            errors: capture + ".err"
        )
        let out = FileManager.default.contents(atPath: capture + ".out") ?? Data()
        let err = FileManager.default.contents(atPath: capture + ".err") ?? Data()
        guard status == 0 else {
            let name = (arguments[0] as NSString).lastPathComponent
            let log = (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
            throw Failure(
                description: "\(name) exited with \(status): "
                    + (String(data: err, encoding: .utf8) ?? "") + (name == "pg_ctl" ? "\nserver log:\n\(log)" : "")
            )
        }
        return String(data: out, encoding: .utf8) ?? ""
    }

    /// Runs `command` with its output in files and waits for it with `waitpid`. Not Foundation's `Process`: its
    /// `waitUntilExit` waits for a descriptor that the server `pg_ctl` starts inherits, so it would never return.
    private static func spawnAndWait(
        _ command: [String],
        environment: [String: String],
        output: String,
        errors: String
    ) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errors, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = command.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, command[0], &actions, nil, argv, envp)
        guard spawned == 0 else {
            throw Failure(description: "cannot run \(command[0]): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { throw Failure(description: "waitpid failed for \(command[0])") }
        }
        // WIFEXITED / WEXITSTATUS (macros the importer does not see); a signal counts as a failure.
        return status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }

    /// The directory holding initdb, pg_ctl and psql: PATH first, then Debian's versioned directories (newest).
    static func findBinaries() -> String? {
        let manager = FileManager.default
        var candidates = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        let versions = (try? manager.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        candidates += versions.sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }.map { "/usr/lib/postgresql/\($0)/bin" }
        for directory in candidates {
            let initdb = URL(fileURLWithPath: directory + "/initdb").resolvingSymlinksInPath().path
            let bin = (initdb as NSString).deletingLastPathComponent
            if ["initdb", "pg_ctl", "psql"].allSatisfy({ manager.isExecutableFile(atPath: bin + "/" + $0) }) {
                return bin
            }
        }
        return nil
    }

    /// Whether tests must fail rather than skip when PostgreSQL is missing (`CACHESRVD_REQUIRE_POSTGRES=1`, CI).
    public static var isRequired: Bool {
        ProcessInfo.processInfo.environment["CACHESRVD_REQUIRE_POSTGRES"] == "1"
    }
}

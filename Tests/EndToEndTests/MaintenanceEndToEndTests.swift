import CacheProtocol
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The maintenance subcommands through the real binary: `migrate-l2` (and the migration `serve` does at start),
/// `import-proxywhirl` of a cache Python wrote, `rotate-key` with a key file and with a key from the environment.
final class MaintenanceEndToEndTests: XCTestCase {
    /// Runs `cachesrvd` with `arguments`, the encryption key variables cleared unless given in `environment`.
    func cachesrvd(
        _ arguments: [String],
        environment: [String: String] = [:],
        in directory: String? = nil
    ) throws -> ProgramResult {
        var env = ProcessInfo.processInfo.environment
        for name in [
            "CACHESRVD_ENCRYPTION_KEY", "CACHESRVD_ENCRYPTION_KEY_PREVIOUS", "PROXYWHIRL_CACHE_ENCRYPTION_KEY",
            "PROXYWHIRL_CACHE_KEY_PREVIOUS",
        ] {
            env.removeValue(forKey: name)
        }
        for (key, value) in environment { env[key] = value }
        return try runProgram(ServerProcess.binary("cachesrvd"), arguments, environment: env, in: directory)
    }

    /// The data options that address `server`'s files (after it stopped).
    func dataOptions(_ server: ServerProcess) -> [String] {
        ["--socket", server.socketPath, "--data-dir", server.dataDirectory]
    }

    // MARK: migrate-l2

    func testMigrateL2MovesTheShardsIntoSQLiteOnce() throws {
        let jsonl = try ServerProcess(arguments: ["--l2-backend", "jsonl", "--tiers", "l1,l2"])
        defer { jsonl.removeDirectory() }
        try putEntries(jsonl, prefix: "m", count: 30)
        XCTAssertEqual(jsonl.stop(), 0)

        let first = try cachesrvd(["migrate-l2"] + dataOptions(jsonl))
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(first.stdout, "migrated 30, skipped 0\n")
        let names = try FileManager.default.contentsOfDirectory(atPath: jsonl.dataDirectory + "/l2")
        XCTAssertTrue(names.contains("l2_cache.db"))
        XCTAssertFalse(names.contains { $0.hasSuffix(".jsonl") }, "every shard was renamed: \(names)")
        XCTAssertTrue(names.contains { $0.hasPrefix("shard_") && $0.hasSuffix(".jsonl.migrated") })

        let second = try cachesrvd(["migrate-l2"] + dataOptions(jsonl))
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(second.stdout, "migrated 0, skipped 0\n", "a second run imports nothing again")

        let sqlite = try ServerProcess(arguments: ["--tiers", "l1,l2"], directory: jsonl.directory)
        defer { sqlite.stop() }
        let client = try sqlite.client()
        XCTAssertEqual(try client.command(["SIZE", "l2"]), .integer(30))
        try checkEntries(client, prefix: "m", count: 30)
    }

    func testServeWithTheSQLiteBackendMigratesShardsAtStart() throws {
        let jsonl = try ServerProcess(arguments: ["--l2-backend", "jsonl", "--tiers", "l1,l2"])
        defer { jsonl.removeDirectory() }
        try putEntries(jsonl, prefix: "auto", count: 12)
        XCTAssertEqual(jsonl.stop(), 0)

        let sqlite = try ServerProcess(arguments: ["--tiers", "l1,l2"], directory: jsonl.directory)
        defer { sqlite.stop() }
        try checkEntries(try sqlite.client(), prefix: "auto", count: 12)
        XCTAssertTrue(sqlite.log.contains("migrated JSONL shards"), sqlite.log)
        XCTAssertTrue(sqlite.log.contains("migration.migrated=12"), sqlite.log)
        let names = try FileManager.default.contentsOfDirectory(atPath: jsonl.dataDirectory + "/l2")
        XCTAssertFalse(names.contains { $0.hasSuffix(".jsonl") }, "\(names)")
    }

    func testMaintenanceCommandsRefuseWhileAServerAnswers() throws {
        let server = try ServerProcess()
        defer {
            server.stop()
            server.removeDirectory()
        }
        let key = Self.makeKey()
        for arguments in [
            ["migrate-l2"], ["import-proxywhirl", "--proxywhirl-key=\(key)"], ["rotate-key", "--generate"],
        ] {
            let result = try cachesrvd(arguments + dataOptions(server))
            XCTAssertEqual(result.status, 1, "\(arguments[0]): \(result.stdout)")
            XCTAssertTrue(result.stderr.contains("a server answers on \(server.socketPath)"), result.stderr)
        }
        XCTAssertEqual(try server.client().command(["PING"]), .simpleString("PONG"))
    }

    // MARK: import-proxywhirl

    /// Writes proxywhirl's `.cache/db/proxywhirl.db`, `.cache/proxies/shard_NN.jsonl` and
    /// `.cache/proxies/l2_cache.db` under a base directory. Arguments: base, key, previous key.
    let makeProxywhirlCache = #"""
        import hashlib, json, os, sqlite3, sys, time
        from datetime import datetime, timezone
        from cryptography.fernet import Fernet

        base, key, previous = sys.argv[1], sys.argv[2], sys.argv[3]
        now = time.time()
        current, old = Fernet(key.encode()), Fernet(previous.encode())
        iso = lambda t: datetime.fromtimestamp(t, timezone.utc).isoformat()
        os.makedirs(base + "/.cache/db")
        os.makedirs(base + "/.cache/proxies")
        db = sqlite3.connect(base + "/.cache/db/proxywhirl.db")
        db.execute(
            "CREATE TABLE cache_entries (key TEXT PRIMARY KEY, proxy_url TEXT NOT NULL, username_encrypted BLOB,"
            " password_encrypted BLOB, source TEXT NOT NULL, fetch_time REAL NOT NULL, last_accessed REAL NOT NULL,"
            " access_count INTEGER DEFAULT 0, ttl_seconds INTEGER NOT NULL, expires_at REAL NOT NULL,"
            " health_status TEXT DEFAULT 'unknown', failure_count INTEGER DEFAULT 0, evicted_from_l1 INTEGER DEFAULT 0,"
            " created_at REAL NOT NULL, updated_at REAL NOT NULL, last_health_check REAL,"
            " consecutive_health_failures INTEGER DEFAULT 0, consecutive_health_successes INTEGER DEFAULT 0,"
            " recovery_attempt INTEGER DEFAULT 0, next_check_time REAL, last_health_error TEXT,"
            " total_health_checks INTEGER DEFAULT 0, total_health_check_failures INTEGER DEFAULT 0)")
        for k, url, user, pw, expires, fernet in [
                ("k1", "http://10.7.0.1:80", "user1", "pass1", now + 600, current),
                ("k2", "http://10.7.0.2:80", "user2", "pass2", now - 1, current),  # expired
                ("k3", "http://10.7.0.3:80", "user3", "pass3", now + 600, old)]:  # under the previous key
            db.execute(
                "INSERT INTO cache_entries (key, proxy_url, username_encrypted, password_encrypted, source, fetch_time,"
                " last_accessed, ttl_seconds, expires_at, health_status, created_at, updated_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (k, url, fernet.encrypt(user.encode()), fernet.encrypt(pw.encode()), "feedA", now - 100, now - 10,
                 600, expires, "healthy", now - 100, now - 10))
        db.commit()
        line = json.dumps({
            "key": "k4", "proxy_url": "http://10.7.0.4:80",
            "username_encrypted": current.encrypt(b"user4").hex(), "password_encrypted": None,
            "source": "feedB", "fetch_time": iso(now - 100), "last_accessed": iso(now - 10), "access_count": 2,
            "ttl_seconds": 600, "expires_at": iso(now + 600), "health_status": "unknown", "failure_count": 0,
            "evicted_from_l1": True})
        shard = int(hashlib.md5(b"k4").hexdigest(), 16) % 16
        with open(base + "/.cache/proxies/shard_%02d.jsonl" % shard, "w") as f:
            f.write(line + "\n" + '{"key": "broken json' + "\n")
        l2 = sqlite3.connect(base + "/.cache/proxies/l2_cache.db")
        l2.execute("CREATE TABLE l2_cache (key TEXT PRIMARY KEY, proxy_url TEXT NOT NULL, username_encrypted BLOB,"
                   " password_encrypted BLOB, source TEXT NOT NULL, fetch_time REAL NOT NULL,"
                   " last_accessed REAL NOT NULL, access_count INTEGER DEFAULT 0, ttl_seconds INTEGER NOT NULL,"
                   " expires_at REAL NOT NULL, health_status TEXT DEFAULT 'unknown', failure_count INTEGER DEFAULT 0,"
                   " evicted_from_l1 INTEGER DEFAULT 0)")
        l2.execute("INSERT INTO l2_cache VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   ("k5", "http://10.7.0.5:80", None, current.encrypt(b"pass5"), "feedC", now - 100, now - 10, 1,
                    600, now + 600, "degraded", 0, 0))
        l2.commit()
        """#

    func testImportProxywhirlThenTheServerServesTheEntries() throws {
        let python = try Self.requirePythonCryptography()
        let base = ServerProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let key = Self.makeKey()
        let previous = Self.makeKey()
        _ = try runPython(python, makeProxywhirlCache, [base, key, previous])

        // proxywhirl's defaults (.cache/... under the working directory) and its environment variables.
        let data = base + "/data"
        let socket = base + "/s.sock"
        let imported = try cachesrvd(
            ["import-proxywhirl", "--socket", socket, "--data-dir", data],
            environment: ["PROXYWHIRL_CACHE_ENCRYPTION_KEY": key, "PROXYWHIRL_CACHE_KEY_PREVIOUS": previous],
            in: base
        )
        XCTAssertEqual(imported.status, 0, imported.stderr)
        XCTAssertEqual(
            imported.stdout,
            "imported 4, skipped 2\nskipped: 1 expired, 1 broken rows or lines, 0 with credentials not decryptable with the given keys\n",
            "k2 expired, one corrupt JSONL line"
        )

        // Options instead: a key file, the L3 path and an l2_cache.db file; no previous key.
        let keyFile = base + "/proxywhirl.key"
        try (key + "\n").write(toFile: keyFile, atomically: true, encoding: .utf8)
        let otherArguments = [
            "import-proxywhirl", "--socket", socket, "--data-dir", base + "/other", "--proxywhirl-key", keyFile,
            "--l3", base + "/.cache/db/proxywhirl.db", "--l2", base + "/.cache/proxies/l2_cache.db",
        ]
        XCTAssertEqual(chmod(keyFile, 0o644), 0)
        let openKey = try cachesrvd(otherArguments)
        XCTAssertNotEqual(openKey.status, 0, "a key file others can read is refused")
        XCTAssertTrue(
            openKey.stderr.contains("mode 0644") && openKey.stderr.contains("chmod 600 \(keyFile)"),
            openKey.stderr
        )
        XCTAssertEqual(chmod(keyFile, 0o600), 0)

        // k3 is under the previous key, not given here: nothing is written unless asked to skip it.
        let refused = try cachesrvd(otherArguments)
        XCTAssertEqual(refused.status, 1, refused.stdout)
        XCTAssertTrue(refused.stderr.contains("the credentials of 1 entries cannot be decrypted"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("--skip-undecryptable"), refused.stderr)
        XCTAssertEqual(refused.stdout, "")
        XCTAssertFalse(FileManager.default.fileExists(atPath: base + "/other/cachesrvd.db"), "nothing written")
        let other = try cachesrvd(otherArguments + ["--skip-undecryptable"])
        XCTAssertEqual(other.status, 0, other.stderr)
        XCTAssertEqual(
            other.stdout,
            "imported 2, skipped 2\n"
                + "skipped: 1 expired, 0 broken rows or lines, 1 with credentials not decryptable with the given keys\n",
            "k1 and k5; k2 expired, k3 under an unknown key"
        )

        let server = try ServerProcess(directory: base)
        defer { server.stop() }
        let client = try server.client()
        XCTAssertEqual(try client.command(["DBSIZE"]), .integer(4))
        XCTAssertEqual(try client.command(["SIZE", "l2"]), .integer(4))
        XCTAssertEqual(try client.command(["HGET", "k1", "password"]), .bulk("pass1"))
        XCTAssertEqual(try client.command(["HGET", "k1", "source"]), .bulk("feedA"))
        XCTAssertEqual(try client.command(["HGET", "k3", "username"]), .bulk("user3"), "read with the previous key")
        XCTAssertEqual(try client.command(["HGET", "k4", "username"]), .bulk("user4"))
        XCTAssertEqual(try client.command(["HGET", "k5", "password"]), .bulk("pass5"))
        XCTAssertEqual(try client.command(["HGET", "k5", "health_status"]), .bulk("degraded"))
        XCTAssertEqual(try client.command(["GET", "k4"]), .bulk("http://10.7.0.4:80"))
        XCTAssertEqual(try client.command(["EXISTS", "k2"]), .integer(0))
    }

    func testImportProxywhirlUsageAndKeyErrors() throws {
        let base = ServerProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let options = ["--socket", base + "/s.sock", "--data-dir", base + "/data"]
        let noKey = try cachesrvd(["import-proxywhirl"] + options, in: base)
        XCTAssertEqual(noKey.status, 64)
        XCTAssertTrue(noKey.stderr.contains("--proxywhirl-key"), noKey.stderr)
        let secret = "not-a-key-but-maybe-a-secret"
        let badKey = try cachesrvd(["import-proxywhirl", "--proxywhirl-key", secret] + options, in: base)
        XCTAssertEqual(badKey.status, 1)
        XCTAssertFalse(badKey.stderr.contains(secret), "a mistyped key is never echoed")
        let nothing = try cachesrvd(["import-proxywhirl", "--proxywhirl-key=\(Self.makeKey())"] + options, in: base)
        XCTAssertEqual(nothing.status, 1)
        XCTAssertTrue(nothing.stderr.contains("nothing to import"), nothing.stderr)
    }

    // MARK: rotate-key

    /// Prints the credential column of one row decrypted with a key, or INVALID. Arguments: database, table,
    /// column, row key, Fernet key.
    private let decryptColumn = #"""
        import sqlite3, sys
        from cryptography.fernet import Fernet, InvalidToken
        database, table, column, key, fernet = sys.argv[1:6]
        token = sqlite3.connect(database).execute(
            "SELECT %s FROM %s WHERE key = ?" % (column, table), (key,)).fetchone()[0]
        try:
            print(Fernet(fernet.encode()).decrypt(bytes(token)).decode())
        except InvalidToken:
            print("INVALID")
        """#

    func testRotateKeyInTheKeyFileThenARestartReadsTheCredentials() throws {
        // Write-through: credentials in both files, so the rotation is checked on both (a victim L2 holds only what
        // L1 evicted).
        let first = try ServerProcess(arguments: ["--l2-mode", "write-through"])
        defer { first.removeDirectory() }
        try putEntries(first, prefix: "r", count: 3)
        XCTAssertEqual(first.stop(), 0)
        let keyPath = first.dataDirectory + "/encryption.key"
        let oldKey = try String(contentsOfFile: keyPath, encoding: .utf8)

        let rotated = try cachesrvd(["rotate-key", "--generate"] + dataOptions(first))
        XCTAssertEqual(rotated.status, 0, rotated.stderr)
        XCTAssertTrue(rotated.stdout.contains("re-encrypted 6 credentials (l2 3, l3 3)"), rotated.stdout)
        let newKey = try String(contentsOfFile: keyPath, encoding: .utf8)
        XCTAssertNotEqual(newKey, oldKey)
        XCTAssertFalse(rotated.stdout.contains(newKey.trimmingCharacters(in: .newlines)), "no key on stdout")
        XCTAssertEqual(try String(contentsOfFile: keyPath + ".previous", encoding: .utf8), oldKey)
        XCTAssertFalse(FileManager.default.fileExists(atPath: keyPath + ".next"))
        for path in [keyPath, keyPath + ".previous"] {
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            XCTAssertEqual(mode, 0o600, path)
        }

        if let python = try? Self.requirePythonCryptography() {
            for (database, table) in [
                (first.dataDirectory + "/cachesrvd.db", "cache_entries"),
                (first.dataDirectory + "/l2/l2_cache.db", "l2_cache"),
            ] {
                let arguments = [database, table, "password_encrypted", "r1"]
                XCTAssertEqual(try runPython(python, decryptColumn, arguments + [newKey]), "pw-r1\n", table)
                XCTAssertEqual(
                    try runPython(python, decryptColumn, arguments + [oldKey]),
                    "INVALID\n",
                    "the old key alone no longer decrypts \(table)"
                )
            }
        }

        let second = try ServerProcess(directory: first.directory)
        defer { second.stop() }
        try checkEntries(try second.client(), prefix: "r", count: 3)
    }

    func testRotateKeyFromTheEnvironmentWithTheJSONLBackend() throws {
        let oldKey = Self.makeKey()
        let arguments = ["--l2-backend", "jsonl", "--l2-mode", "write-through"]
        let first = try ServerProcess(arguments: arguments, environment: ["CACHESRVD_ENCRYPTION_KEY": oldKey])
        defer { first.removeDirectory() }
        try putEntries(first, prefix: "e", count: 4)
        XCTAssertEqual(first.stop(), 0)
        let options = ["rotate-key"] + dataOptions(first)

        let nowhere = try cachesrvd(options + ["--generate"], environment: ["CACHESRVD_ENCRYPTION_KEY": oldKey])
        XCTAssertEqual(nowhere.status, 64, "the new key would be lost: \(nowhere.stderr)")

        let newKeyFile = first.directory + "/new.key"
        let rotated = try cachesrvd(
            options + ["--generate", "--new-key-file", newKeyFile],
            environment: ["CACHESRVD_ENCRYPTION_KEY": oldKey]
        )
        XCTAssertEqual(rotated.status, 0, rotated.stderr)
        XCTAssertTrue(rotated.stdout.contains("re-encrypted 8 credentials (l2 4, l3 4)"), rotated.stdout)
        XCTAssertTrue(rotated.stdout.contains("set it to the key in \(newKeyFile)"), rotated.stdout)
        let newKey = try String(contentsOfFile: newKeyFile, encoding: .utf8).trimmingCharacters(in: .newlines)
        XCTAssertFalse(rotated.stdout.contains(newKey))
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: newKeyFile)[.posixPermissions] as? Int, 0o600)

        // Once more, the key printed this time.
        let again = try cachesrvd(
            options + ["--generate", "--print-key"],
            environment: ["CACHESRVD_ENCRYPTION_KEY": newKey]
        )
        XCTAssertEqual(again.status, 0, again.stderr)
        let printed = try XCTUnwrap(
            again.stdout.split(separator: "\n").first { $0.hasPrefix("CACHESRVD_ENCRYPTION_KEY=") }
        ).dropFirst("CACHESRVD_ENCRYPTION_KEY=".count)

        let second = try ServerProcess(
            arguments: arguments,
            directory: first.directory,
            environment: ["CACHESRVD_ENCRYPTION_KEY": String(printed)]
        )
        defer { second.stop() }
        try checkEntries(try second.client(), prefix: "e", count: 4)
    }

    // MARK: helpers

    /// PUTs `count` entries with credentials.
    func putEntries(_ server: ServerProcess, prefix: String, count: Int) throws {
        let client = try server.client()
        for index in 1...count {
            let reply = try client.command([
                "PUT", "\(prefix)\(index)", "http://10.8.0.\(index):3128", "username", "u-\(prefix)\(index)",
                "password", "pw-\(prefix)\(index)",
            ])
            XCTAssertEqual(reply, .ok)
        }
    }

    /// Reads back what `putEntries` wrote.
    func checkEntries(_ client: RawClient, prefix: String, count: Int) throws {
        for index in 1...count {
            let key = "\(prefix)\(index)"
            XCTAssertEqual(try client.command(["GET", key]), .bulk("http://10.8.0.\(index):3128"), key)
            XCTAssertEqual(try client.command(["HGET", key, "username"]), .bulk("u-\(key)"), key)
            XCTAssertEqual(try client.command(["HGET", key, "password"]), .bulk("pw-\(key)"), key)
        }
    }

    /// A new Fernet key: URL-safe base64 of 32 random bytes.
    /// A random key. URL-safe base64 may start with '-', so tests pass keys as `--option=KEY`, never as two arguments.
    static func makeKey() -> String {
        Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }

    /// python3 with `cryptography` (the first on PATH that has it), or the test is skipped.
    static func requirePythonCryptography() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let candidates = path.split(separator: ":").map { "\($0)/python3" } + ["/usr/bin/python3"]
        var found = false
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) {
            found = true
            let probe = try runProgram(candidate, ["-c", "import cryptography.fernet"], environment: nil, in: nil)
            if probe.status == 0 { return candidate }
        }
        throw XCTSkip(found ? "no python3 with the cryptography module" : "python3 is not installed")
    }

    func runPython(_ python: String, _ script: String, _ arguments: [String]) throws -> String {
        let result = try runProgram(python, ["-c", script] + arguments, environment: nil, in: nil)
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout
    }
}

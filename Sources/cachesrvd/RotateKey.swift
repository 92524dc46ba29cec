import ArgumentParser
import Foundation
import Logging
import PostgresTier
import Tiers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `cachesrvd rotate-key`: re-encrypts every stored credential under a new key, then installs it.
struct RotateKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-key",
        abstract: "Re-encrypt every credential in L2 and L3 under a new key, then install the key.",
        discussion: """
            The old key is the current one, loaded as serve loads it ($CACHESRVD_ENCRYPTION_KEY, else --key-file, \
            else <data-dir>/encryption.key; $CACHESRVD_ENCRYPTION_KEY_PREVIOUS still decrypts). When the key is \
            a file, the new key is first saved as <file>.next, the credentials are re-encrypted, then the old \
            key is kept as <file>.previous and <file>.next replaces <file> (a rename: atomic). If the command is \
            interrupted, running it again resumes with the key in <file>.next. When the key comes from the \
            environment, the new key goes to --new-key-file (or is printed with --print-key) and the operator \
            sets CACHESRVD_ENCRYPTION_KEY to it. Refuses to run while a server answers on --socket. \
            With --l3-url (or $CACHESRVD_L3_URL) the PostgreSQL L3's credentials and its key-check token are \
            re-encrypted in one transaction, refused while any other cachesrvd is connected to the database: stop \
            every sidecar of the fleet first, run rotate-key on one host, give every host the new key (and the old \
            one as CACHESRVD_ENCRYPTION_KEY_PREVIOUS, for its local L2), then start them.
            """
    )

    @OptionGroup var data: DataOptions

    @Option(
        help:
            "File holding the new key; with --generate, a new file the generated key is written to (mode 0600)."
    )
    var newKeyFile: String?

    @Flag(help: "Generate the new key.")
    var generate = false

    @Flag(help: "Print CACHESRVD_ENCRYPTION_KEY=<new key> (a secret) on stdout.")
    var printKey = false

    /// Where the current key comes from.
    private enum KeySource {
        case environment
        case file(String)
    }

    func validate() throws {
        if newKeyFile == nil && !generate {
            throw ValidationError("give the new key with --new-key-file FILE, or --generate")
        }
        let environment = ProcessInfo.processInfo.environment
        if Self.keyFromEnvironment(environment), newKeyFile == nil, !printKey {
            throw ValidationError(
                "the key comes from \(EncryptionKeyLoader.keyVariable): give --new-key-file FILE to receive the new key, or --print-key"
            )
        }
    }

    private static func keyFromEnvironment(_ environment: [String: String]) -> Bool {
        guard let text = environment[EncryptionKeyLoader.keyVariable] else { return false }
        return !text.allSatisfy(\.isWhitespace)
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        try data.refuseIfServerAnswers(environment: environment)
        let source = try keySource(environment: environment)
        let old = try data.loadCipher(environment: environment, logger: DataOptions.makeLogger())
        let (new, pending) = try newKey(source: source)
        guard new != old.current else { throw MaintenanceError("the new key is the current key") }
        if printKey { print("\(EncryptionKeyLoader.keyVariable)=\(new.base64URL)") }
        if case .file(let path) = source, !pending {
            try KeyFile.replace(path + ".next", with: new)
        }
        let counts: (l2: Int, l3: Int)
        do {
            counts = try reencrypt(
                decrypting: CredentialCipher(current: old.current, previous: old.previous + [new]),
                into: CredentialCipher(current: new),
                environment: environment
            )
        } catch {
            throw MaintenanceError("\(error); \(resumeAdvice(source))")
        }
        print("re-encrypted \(counts.l2 + counts.l3) credentials (l2 \(counts.l2), l3 \(counts.l3))")
        switch source {
        case .file(let path):
            try KeyFile.replace(path + ".previous", with: old.current)
            try KeyFile.move(path + ".next", to: path)
            print("installed the new key in \(path); the old key is kept in \(path).previous")
        case .environment:
            let holder = newKeyFile.map { "the key in \($0)" } ?? "the key printed above"
            print(
                "the key comes from \(EncryptionKeyLoader.keyVariable): set it to \(holder) before the server starts again"
            )
        }
    }

    /// Mirrors `EncryptionKeyLoader`'s order; refuses when there is no key yet (nothing to rotate).
    private func keySource(environment: [String: String]) throws -> KeySource {
        if Self.keyFromEnvironment(environment) { return .environment }
        if let keyFile = data.keyFile { return .file(keyFile) }
        let path = data.dataDirectory(environment: environment) + "/" + EncryptionKeyLoader.defaultKeyFileName
        guard access(path, F_OK) == 0 else {
            throw MaintenanceError("no key to rotate: \(path) does not exist (the server has not stored anything)")
        }
        return .file(path)
    }

    /// The new key, and whether it comes from an interrupted rotation's `<file>.next`.
    private func newKey(source: KeySource) throws -> (FernetKey, pending: Bool) {
        if case .file(let path) = source, access(path + ".next", F_OK) == 0 {
            let pending = try KeyFile.read(path + ".next")
            if let newKeyFile, !generate, try KeyFile.read(newKeyFile) != pending {
                throw MaintenanceError(
                    "an interrupted rotation is pending with the key in \(path).next: run again without --new-key-file to finish it"
                )
            }
            print("resuming an interrupted rotation with the key in \(path).next")
            return (pending, true)
        }
        guard generate else { return (try KeyFile.read(newKeyFile!), false) }
        let key = FernetKey.generate()
        if let newKeyFile { try KeyFile.create(newKeyFile, with: key) }
        return (key, false)
    }

    /// Re-encrypts every store the data directory holds (without creating any).
    private func reencrypt(
        decrypting old: CredentialCipher,
        into new: CredentialCipher,
        environment: [String: String]
    ) throws -> (l2: Int, l3: Int) {
        let logger = DataOptions.makeLogger()
        let l2Directory = data.l2Directory(environment: environment)
        var l2 = 0
        var l3 = 0
        let l2Configuration = SQLiteStore.Configuration.l2(directory: l2Directory)
        if access(l2Configuration.path, F_OK) == 0 {
            let store = try SQLiteStore(l2Configuration, cipher: old, fsync: .always, logger: logger)
            defer { store.close() }
            l2 += try store.reencryptAll(with: new)
        }
        if !JSONLMigration.shardFileNames(in: l2Directory).isEmpty {
            let store = try JSONLStore(directory: l2Directory, cipher: old, fsync: .always, logger: logger)
            defer { store.close() }
            l2 += try store.reencryptAll(with: new)
        }
        if let database = try data.l3Database(environment: environment) {
            let store = try data.openPostgres(database, cipher: old, logger: logger)
            defer { store.close() }
            l3 += try store.reencryptAll(with: new)
        }
        let l3Path = data.l3Path(environment: environment)
        if access(l3Path, F_OK) == 0 {
            let store = try SQLiteStore(.l3(path: l3Path), cipher: old, fsync: .always, logger: logger)
            defer { store.close() }
            l3 += try store.reencryptAll(with: new)
        }
        return (l2, l3)
    }

    private func resumeAdvice(_ source: KeySource) -> String {
        switch source {
        case .file(let path):
            return "the rotation is unfinished: run rotate-key again to finish it with the key kept in \(path).next"
        case .environment:
            return
                "the rotation is unfinished: run rotate-key again with --new-key-file holding the same new key to finish it"
        }
    }
}

/// Key files: read, created (0600, never over an existing file) and replaced atomically.
private enum KeyFile {
    static func read(_ path: String) throws -> FernetKey {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw MaintenanceError("cannot read the key file \(path)")
        }
        guard let key = try? FernetKey(base64URL: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw MaintenanceError("key file \(path) is malformed: a key is URL-safe base64 of 32 bytes")
        }
        return key
    }

    /// Writes `key` to a new file (O_EXCL, mode 0600), synced.
    static func create(_ path: String, with key: FernetKey) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("create \(path)") }
        defer { close(fd) }
        let bytes = Array((key.base64URL + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            let error = failure("write \(path)")
            unlink(path)
            throw error
        }
    }

    /// Replaces `path` with a file holding `key`: a synced temporary file (0600) renamed over it.
    static func replace(_ path: String, with key: FernetKey) throws {
        let temporary = "\(path).tmp-\(getpid())"
        unlink(temporary)
        try create(temporary, with: key)
        try move(temporary, to: path)
    }

    /// Renames `path` over `target` and syncs the directory.
    static func move(_ path: String, to target: String) throws {
        guard rename(path, target) == 0 else { throw failure("rename \(path) to \(target)") }
        let directory = (target as NSString).deletingLastPathComponent
        let fd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            _ = fsync(fd)
            close(fd)
        }
    }

    private static func failure(_ what: String) -> MaintenanceError {
        MaintenanceError("cannot \(what): \(String(cString: strerror(errno)))")
    }
}

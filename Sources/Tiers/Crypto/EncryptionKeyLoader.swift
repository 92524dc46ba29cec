import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds the key that encrypts credentials at rest, so that they stay readable across restarts
/// (proxywhirl made a new random key per process when none was configured).
///
/// Order: the environment variable `CACHESRVD_ENCRYPTION_KEY`, else the `--encryption-key-file`
/// file, else `<data directory>/encryption.key`, generated (mode 0600) when missing and reused after.
/// Previous keys, still accepted for decryption, come from `CACHESRVD_ENCRYPTION_KEY_PREVIOUS`
/// (comma-separated). A key file readable or writable by group or others, or owned by another user, is
/// refused (`KeyFileCheck`).
public enum EncryptionKeyLoader {
    /// The environment variable holding the current key.
    public static let keyVariable = "CACHESRVD_ENCRYPTION_KEY"
    /// The environment variable holding previous keys, comma-separated.
    public static let previousKeysVariable = "CACHESRVD_ENCRYPTION_KEY_PREVIOUS"
    /// The file name of the generated key inside the data directory.
    public static let defaultKeyFileName = "encryption.key"

    /// Loads (or on first start generates) the encryption key and builds the cipher.
    ///
    /// - Parameters:
    ///   - environment: the process environment (`ProcessInfo.processInfo.environment`).
    ///   - keyFile: a key file given on the command line, or `nil`.
    ///   - dataDirectory: where `encryption.key` is kept when neither of the above is given.
    ///   - logger: told when a key was generated (never the key itself).
    /// - Returns: the cipher and a description of the key's source for the startup log:
    ///   "environment", "key file /path" or "generated /path".
    /// - Throws: `KeyLoadError` naming the malformed or unreadable source.
    public static func load(
        environment: [String: String],
        keyFile: String?,
        dataDirectory: String,
        logger: Logger
    ) throws(KeyLoadError) -> (cipher: CredentialCipher, source: String) {
        let previous = try previousKeys(environment[previousKeysVariable])
        let (current, source) = try currentKey(environment: environment, keyFile: keyFile, dataDirectory: dataDirectory)
        if source.hasPrefix("generated ") {
            logger.info(
                "generated a new credential encryption key: keep this file to read the disk tiers after a restart",
                metadata: ["key.source": "\(source)"]
            )
        }
        return (CredentialCipher(current: current, previous: previous), source)
    }

    /// Reads a key from a file (surrounding white space ignored), refusing a file that is not private
    /// to its owner (`KeyFileCheck`).
    ///
    /// - Throws: `KeyLoadError` naming the file and what is wrong, never the file's content.
    public static func readKey(fromFile path: String) throws(KeyLoadError) -> FernetKey {
        let source = "key file \(path)"
        return try parse(try readFile(path, source: source), source: source)
    }

    private static func currentKey(
        environment: [String: String],
        keyFile: String?,
        dataDirectory: String
    ) throws(KeyLoadError) -> (FernetKey, String) {
        if let text = environment[keyVariable], !text.trimmingASCIIWhitespace().isEmpty {
            return (try parse(text, source: "environment variable \(keyVariable)"), "environment")
        }
        if let keyFile {
            let text = try readFile(keyFile, source: "key file \(keyFile)")
            return (try parse(text, source: "key file \(keyFile)"), "key file \(keyFile)")
        }
        let path =
            dataDirectory.hasSuffix("/")
            ? dataDirectory + defaultKeyFileName : dataDirectory + "/" + defaultKeyFileName
        // An existing key file is only read: nothing is written at a start that finds its key, so a server
        // restarts on a full (or read-only) disk. A temporary file is written only to create a missing key.
        if let text = try readFileIfPresent(path, source: "key file \(path)") {
            return (try parse(text, source: "key file \(path)"), "key file \(path)")
        }
        if let key = try generateIfMissing(path: path, dataDirectory: dataDirectory) {
            return (key, "generated \(path)")
        }
        let text = try readFile(path, source: "key file \(path)")
        return (try parse(text, source: "key file \(path)"), "key file \(path)")
    }

    private static func previousKeys(_ value: String?) throws(KeyLoadError) -> [FernetKey] {
        guard let value else { return [] }
        var keys = [FernetKey]()
        let parts = value.split(separator: ",", omittingEmptySubsequences: false)
        for (index, part) in parts.enumerated() where !part.trimmingASCIIWhitespace().isEmpty {
            let source =
                parts.count == 1
                ? "environment variable \(previousKeysVariable)"
                : "environment variable \(previousKeysVariable) (entry \(index + 1))"
            keys.append(try parse(String(part), source: source))
        }
        return keys
    }

    private static func parse(_ text: String, source: String) throws(KeyLoadError) -> FernetKey {
        do {
            return try FernetKey(base64URL: text)
        } catch {
            throw KeyLoadError(source: source, reason: "malformed: \(error)")
        }
    }

    /// Creates `path` with a new key when it does not exist; `nil` when it already existed.
    /// O_CREAT|O_EXCL with mode 0600: the file is never readable by others, and two starting
    /// processes cannot both create it (the loser reads the winner's key).
    private static func generateIfMissing(path: String, dataDirectory: String) throws(KeyLoadError) -> FernetKey? {
        let source = "key file \(path)"
        if mkdir(dataDirectory, 0o700) != 0 && errno != EEXIST {
            throw KeyLoadError(source: source, reason: "cannot create directory \(dataDirectory): \(errnoText())")
        }
        // Written in full to a private temporary file, then linked into place: the key file is never seen
        // empty or half-written, and when two servers start at once exactly one key wins (link fails with
        // EEXIST for the other, which then reads the winner's complete file).
        let temporary = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            throw KeyLoadError(source: source, reason: "cannot create: \(errnoText())")
        }
        defer { unlink(temporary) }
        let key = FernetKey.generate()
        let bytes = Array((key.base64URL + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = written == bytes.count && fsync(fd) == 0
        let writeError = errnoText()
        close(fd)
        guard synced else {
            throw KeyLoadError(source: source, reason: "cannot write: \(writeError)")
        }
        if link(temporary, path) != 0 {
            if errno == EEXIST { return nil }
            throw KeyLoadError(source: source, reason: "cannot create: \(errnoText())")
        }
        let directory = open(dataDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            _ = fsync(directory)
            close(directory)
        }
        return key
    }

    /// The text of `path`, or `nil` when it does not exist (any other failure throws).
    private static func readFileIfPresent(_ path: String, source: String) throws(KeyLoadError) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw KeyLoadError(source: source, reason: "cannot read: \(errnoText())")
        }
        return try readAll(fd, path: path, source: source)
    }

    private static func readFile(_ path: String, source: String) throws(KeyLoadError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw KeyLoadError(source: source, reason: "cannot read: \(errnoText())") }
        return try readAll(fd, path: path, source: source)
    }

    /// Reads an open key file to its end and closes it.
    private static func readAll(_ fd: Int32, path: String, source: String) throws(KeyLoadError) -> String {
        defer { close(fd) }
        if let problem = KeyFileCheck.problem(withOpenFile: fd, path: path) {
            throw KeyLoadError(source: source, reason: problem)
        }
        var bytes = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw KeyLoadError(source: source, reason: "cannot read: \(errnoText())")
            }
            if count == 0 { break }
            bytes += buffer[0..<count]
            guard bytes.count <= 64 * 1024 else {
                throw KeyLoadError(source: source, reason: "too large to be a key file")
            }
        }
        guard let text = String(validatedUTF8: bytes) else {
            throw KeyLoadError(source: source, reason: "malformed: encryption key must be URL-safe base64 of 32 bytes")
        }
        return text
    }

    private static func errnoText() -> String {
        String(cString: strerror(errno))
    }
}

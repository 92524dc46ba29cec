import Foundation
import Logging
import XCTest

@testable import Tiers

/// `EncryptionKeyLoader` on real files in a temporary directory.
final class FernetKeyLoaderTests: XCTestCase {
    private var directory: String!
    private let logger = Logger(label: "test")

    override func setUpWithError() throws {
        directory =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("keyloader-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testEnvironmentWins() throws {
        let key = FernetKey.generate()
        let keyFile = try writeFile("file.key", FernetKey.generate().base64URL)
        let loaded = try EncryptionKeyLoader.load(
            environment: [EncryptionKeyLoader.keyVariable: key.base64URL],
            keyFile: keyFile,
            dataDirectory: directory,
            logger: logger
        )
        XCTAssertEqual(loaded.source, "environment")
        XCTAssertEqual(loaded.cipher.current, key)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/encryption.key"))
    }

    func testKeyFileIsTrimmed() throws {
        let key = FernetKey.generate()
        let keyFile = try writeFile("file.key", "\n  \(key.base64URL)  \n")
        let loaded = try EncryptionKeyLoader.load(
            environment: [:],
            keyFile: keyFile,
            dataDirectory: directory,
            logger: logger
        )
        XCTAssertEqual(loaded.source, "key file \(keyFile)")
        XCTAssertEqual(loaded.cipher.current, key)
    }

    func testGeneratedKeyIsPrivateAndReused() throws {
        let first = try EncryptionKeyLoader.load(
            environment: [:],
            keyFile: nil,
            dataDirectory: directory,
            logger: logger
        )
        let path = directory + "/encryption.key"
        XCTAssertEqual(first.source, "generated \(path)")
        var info = stat()
        XCTAssertEqual(stat(path, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)

        let token = first.cipher.encrypt("secret")
        let second = try EncryptionKeyLoader.load(
            environment: [:],
            keyFile: nil,
            dataDirectory: directory,
            logger: logger
        )
        XCTAssertEqual(second.source, "key file \(path)")
        XCTAssertEqual(second.cipher.current, first.cipher.current)
        XCTAssertEqual(try second.cipher.decrypt(token), "secret", "credentials survive a restart")
    }

    func testServersStartingTogetherAgreeOnOneCompleteKey() throws {
        let directory = self.directory!
        let logger = self.logger
        let keys = LoadedKeys()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            keys.add(
                try? EncryptionKeyLoader.load(environment: [:], keyFile: nil, dataDirectory: directory, logger: logger)
            )
        }
        XCTAssertEqual(keys.count, 8, "every loader got a key (none read a half-written file)")
        XCTAssertEqual(keys.distinct, 1, "and the same one")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory)
        XCTAssertEqual(files, ["encryption.key"], "no temporary files left")
    }

    func testDataDirectoryIsCreated() throws {
        let nested = directory + "/data"
        let loaded = try EncryptionKeyLoader.load(environment: [:], keyFile: nil, dataDirectory: nested, logger: logger)
        XCTAssertEqual(loaded.source, "generated \(nested)/encryption.key")
    }

    func testPreviousKeysAreCommaSeparated() throws {
        let current = FernetKey.generate()
        let old1 = FernetKey.generate()
        let old2 = FernetKey.generate()
        let loaded = try EncryptionKeyLoader.load(
            environment: [
                EncryptionKeyLoader.keyVariable: current.base64URL,
                EncryptionKeyLoader.previousKeysVariable: "\(old1.base64URL), \(old2.base64URL),",
            ],
            keyFile: nil,
            dataDirectory: directory,
            logger: logger
        )
        XCTAssertEqual(loaded.cipher.previous, [old1, old2])
        XCTAssertEqual(try loaded.cipher.decrypt(CredentialCipher(current: old2).encrypt("x")), "x")
    }

    func testMalformedSourcesAreNamedWithoutTheKey() throws {
        let secretish = "this-is-not-a-valid-key-but-still-secret"
        let keyFile = try writeFile("bad.key", secretish)
        let cases: [([String: String], String?, String)] = [
            ([EncryptionKeyLoader.keyVariable: secretish], nil, "environment variable CACHESRVD_ENCRYPTION_KEY"),
            ([:], keyFile, "key file \(keyFile)"),
            (
                [EncryptionKeyLoader.previousKeysVariable: "\(FernetKey.generate().base64URL),\(secretish)"], nil,
                "environment variable CACHESRVD_ENCRYPTION_KEY_PREVIOUS (entry 2)"
            ),
        ]
        for (environment, file, source) in cases {
            XCTAssertThrowsError(
                try EncryptionKeyLoader.load(
                    environment: environment,
                    keyFile: file,
                    dataDirectory: directory,
                    logger: logger
                )
            ) { error in
                let loadError = error as? KeyLoadError
                XCTAssertEqual(loadError?.source, source)
                XCTAssertTrue("\(error)".contains("URL-safe base64 of 32 bytes"), "\(error)")
                XCTAssertFalse("\(error)".contains(secretish))
            }
        }
    }

    /// A restart on a full disk: the key file exists, and nothing may be written to find it. A file size limit
    /// of 0 makes every write fail (as ENOSPC would; root ignores permissions, not this limit).
    func testAnExistingKeyIsReadWithoutWritingAnything() throws {
        let first = try EncryptionKeyLoader.load(
            environment: [:],
            keyFile: nil,
            dataDirectory: directory,
            logger: logger
        )
        var saved = rlimit()
        XCTAssertEqual(getrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved), 0)
        let previousHandler = signal(SIGXFSZ, SIG_IGN)
        var none = rlimit(rlim_cur: 0, rlim_max: saved.rlim_max)
        XCTAssertEqual(setrlimit(Int32(RLIMIT_FSIZE.rawValue), &none), 0)
        let second = Result {
            try EncryptionKeyLoader.load(environment: [:], keyFile: nil, dataDirectory: directory, logger: logger)
        }
        _ = setrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
        signal(SIGXFSZ, previousHandler)
        let loaded = try second.get()
        XCTAssertEqual(loaded.cipher.current, first.cipher.current)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["encryption.key"])
    }

    func testMissingKeyFileIsAnError() {
        XCTAssertThrowsError(
            try EncryptionKeyLoader.load(
                environment: [:],
                keyFile: directory + "/missing.key",
                dataDirectory: directory,
                logger: logger
            )
        ) { error in
            XCTAssertTrue("\(error)".contains("cannot read"), "\(error)")
        }
    }

    func testKeyFileOpenToGroupOrOthersIsRefusedWithTheFix() throws {
        let key = FernetKey.generate()
        for (mode, who) in [(0o644, "group and others"), (0o640, "its group"), (0o604, "others"), (0o620, "its group")]
        {
            let keyFile = try writeFile("open-\(mode).key", key.base64URL, mode: mode_t(mode))
            XCTAssertThrowsError(
                try EncryptionKeyLoader.load(
                    environment: [:],
                    keyFile: keyFile,
                    dataDirectory: directory,
                    logger: logger
                )
            ) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains("mode 0\(String(mode, radix: 8)) lets \(who) access it"), text)
                XCTAssertTrue(text.contains("chmod 600 \(keyFile)"), text)
                XCTAssertFalse(text.contains(key.base64URL))
            }
        }
        // The same file made private is accepted.
        let keyFile = try writeFile("private.key", key.base64URL)
        let loaded = try EncryptionKeyLoader.load(
            environment: [:],
            keyFile: keyFile,
            dataDirectory: directory,
            logger: logger
        )
        XCTAssertEqual(loaded.cipher.current, key)
    }

    func testGeneratedKeyFileOpenedUpLaterIsRefused() throws {
        _ = try EncryptionKeyLoader.load(environment: [:], keyFile: nil, dataDirectory: directory, logger: logger)
        let path = directory + "/" + EncryptionKeyLoader.defaultKeyFileName
        XCTAssertEqual(chmod(path, 0o644), 0)
        XCTAssertThrowsError(
            try EncryptionKeyLoader.load(environment: [:], keyFile: nil, dataDirectory: directory, logger: logger)
        ) { error in
            XCTAssertTrue("\(error)".contains("chmod 600 \(path)"), "\(error)")
        }
    }

    func testKeyFileOwnedByAnotherUserIsRefused() {
        let me = geteuid()
        let other: uid_t = me == 4242 ? 4343 : 4242
        let problem = KeyFileCheck.problem(mode: 0o100600, owner: other, path: "/k", reader: me)
        XCTAssertEqual(
            problem,
            "is owned by uid \(other), not by uid \(me) that reads it (nor root): another user must not control the key; "
                + "run chown \(me) /k && chmod 600 /k"
        )
        XCTAssertNil(KeyFileCheck.problem(mode: 0o100600, owner: me, path: "/k", reader: me))
        XCTAssertNil(KeyFileCheck.problem(mode: 0o100400, owner: 0, path: "/k", reader: 1000), "root-owned is trusted")
        XCTAssertNotNil(KeyFileCheck.problem(mode: 0o100644, owner: 0, path: "/k", reader: 1000))
    }

    func testKeyFileOwnedByAnotherUserIsRefusedOnDisk() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root to give a file to another user") }
        let keyFile = try writeFile("theirs.key", FernetKey.generate().base64URL)
        XCTAssertEqual(chown(keyFile, 4242, 4242), 0)
        XCTAssertThrowsError(
            try EncryptionKeyLoader.load(environment: [:], keyFile: keyFile, dataDirectory: directory, logger: logger)
        ) { error in
            XCTAssertTrue("\(error)".contains("is owned by uid 4242"), "\(error)")
        }
    }

    private func writeFile(_ name: String, _ text: String, mode: mode_t = 0o600) throws -> String {
        let path = directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(path, mode), 0)
        return path
    }
}

/// Keys loaded from several threads.
private final class LoadedKeys: @unchecked Sendable {
    private let lock = NSLock()
    private var keys: [String] = []

    func add(_ loaded: (cipher: CredentialCipher, source: String)?) {
        guard let loaded else { return }
        lock.lock()
        keys.append(loaded.cipher.current.base64URL)
        lock.unlock()
    }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return keys.count
    }

    var distinct: Int {
        lock.lock()
        defer { lock.unlock() }
        return Set(keys).count
    }
}

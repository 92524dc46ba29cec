import Foundation
import TierTestSupport
import XCTest

@testable import Tiers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `sync()` of the SQLite stores must leave SQLite's POSIX locks alone.
///
/// Closing any descriptor of a file drops every POSIX lock the process holds on it. If `sync()`
/// opened and closed the database file itself, another process opening the database (a backup,
/// the `sqlite3` shell, proxywhirl) would believe it is the last user when it closes, checkpoint and
/// delete the -wal/-shm files the server still writes to; those later commits are lost on a crash.
final class SQLiteSyncTests: XCTestCase {
    private var directory: SQLiteTestDirectory!

    override func setUp() {
        directory = SQLiteTestDirectory()
    }

    override func tearDown() {
        directory.remove()
    }

    func testAnotherProcessReadingAfterSyncDoesNotDeleteTheWALOrLoseLaterCommits() throws {
        let shell = try Self.otherProcessShell()
        let cipher = EntryFixtures.cipher()
        let path = SQLiteStoreKind.l3.databasePath(in: directory)
        let store = try SQLiteStore(.l3(path: path), cipher: cipher, fsync: .everysec, logger: SQLiteTestSupport.logger)
        defer { store.close() }
        try store.apply([.put(EntryFixtures.fullEntry("first"))])
        try store.sync()
        let wal = try XCTUnwrap(Self.inode(path + "-wal"), "the open store has a WAL")

        // Another process opens the database, reads and closes it while the store is open.
        XCTAssertEqual(try shell.query(path, "SELECT count(*) FROM cache_entries;"), "1")
        XCTAssertEqual(Self.inode(path + "-wal"), wal, "the WAL of the open store was deleted by another process")
        XCTAssertTrue(SQLiteTestSupport.fileExists(path + "-shm"), "the -shm of the open store was deleted")

        try store.apply([.put(EntryFixtures.fullEntry("second"))])
        try store.sync()

        // What `kill -9` leaves behind: the files as they are now, without the checkpoint of a close.
        let crashed = directory.file("crashed/cachesrvd.db")
        try SQLiteFiles.ensureDirectory(SQLiteFiles.directory(of: crashed))
        SQLiteTestSupport.write(SQLiteTestSupport.bytes(of: path), to: crashed)
        if SQLiteTestSupport.fileExists(path + "-wal") {
            SQLiteTestSupport.write(SQLiteTestSupport.bytes(of: path + "-wal"), to: crashed + "-wal")
        }
        store.close()

        let restarted = try SQLiteStore(
            .l3(path: crashed),
            cipher: cipher,
            fsync: .everysec,
            logger: SQLiteTestSupport.logger
        )
        defer { restarted.close() }
        XCTAssertEqual(try restarted.get("first"), EntryFixtures.fullEntry("first"))
        XCTAssertEqual(try restarted.get("second"), EntryFixtures.fullEntry("second"), "a synced commit was lost")
        XCTAssertEqual(try restarted.count(), 2)
    }

    func testSyncKeepsTheStoresSharedLockOnTheDatabaseFile() throws {
        #if os(Linux)
        for kind in SQLiteStoreKind.allCases {
            for policy in [FsyncPolicy.everysec, .always, .no] {
                let store = try kind.open(in: directory, cipher: EntryFixtures.cipher(), fsync: policy)
                let path = kind.databasePath(in: directory)
                // Closing a descriptor of the database drops the store's locks, so the probe's own
                // descriptor stays open until the store is closed.
                let probe = open(path, O_RDONLY | O_CLOEXEC)
                defer {
                    store.close()
                    if probe >= 0 { close(probe) }
                }
                XCTAssertGreaterThanOrEqual(probe, 0)
                try store.apply([.put(EntryFixtures.plainEntry("k-\(policy)"))])
                XCTAssertEqual(try Self.sharedLockIsHeld(probe), true, "\(kind) \(policy): before sync")
                try store.sync()
                XCTAssertEqual(try Self.sharedLockIsHeld(probe), true, "\(kind) \(policy): after sync")
                XCTAssertNotNil(try store.get("k-\(policy)"), "\(kind) \(policy)")
            }
        }
        #else
        throw XCTSkip("open file description locks are Linux only")
        #endif
    }

    // MARK: Helpers

    /// The inode of `path`, `nil` when it does not exist.
    private static func inode(_ path: String) -> UInt64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt64(info.st_ino)
    }

    #if os(Linux)
    /// Whether a lock covers the byte range of SQLite's SHARED lock on a database file
    /// (`PENDING_BYTE + 2`, 510 bytes), probed through `fd` with an open file description lock:
    /// those conflict with every POSIX lock, this process's own (SQLite's) included.
    private static func sharedLockIsHeld(_ fd: Int32) throws -> Bool {
        var request = flock()
        request.l_type = Int16(F_WRLCK)
        request.l_whence = Int16(SEEK_SET)
        request.l_start = 0x4000_0000 + 2
        request.l_len = 510
        let ofdGetLock: Int32 = 36  // F_OFD_GETLK (Linux 3.15+), which Glibc does not import
        guard fcntl(fd, ofdGetLock, &request) == 0 else {
            throw StoreError(.io, "F_OFD_GETLK: errno \(errno)")
        }
        return request.l_type != Int16(F_UNLCK)
    }
    #endif

    /// A program that opens an SQLite database in another process: the `sqlite3` shell, or
    /// python3's sqlite3 module.
    private struct OtherProcessShell {
        var executable: String
        var arguments: (_ path: String, _ sql: String) -> [String]

        /// Runs `sql` in a new process and returns its trimmed standard output.
        func query(_ path: String, _ sql: String) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments(path, sql)
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw StoreError(.io, "\(executable) exited with \(process.terminationStatus)")
            }
            return String(decoding: stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    private static func otherProcessShell() throws -> OtherProcessShell {
        if let sqlite3 = executable(named: "sqlite3") {
            return OtherProcessShell(executable: sqlite3) { path, sql in ["-batch", "-bail", path, sql] }
        }
        if let python3 = executable(named: "python3") {
            let script = """
                import sqlite3, sys
                db = sqlite3.connect(sys.argv[1])
                print(db.execute(sys.argv[2]).fetchone()[0])
                db.close()
                """
            return OtherProcessShell(executable: python3) { path, sql in ["-c", script, path, sql] }
        }
        throw XCTSkip("neither sqlite3 nor python3 is installed to open the database from another process")
    }

    private static func executable(named name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) {
                return candidate
            }
        }
        return nil
    }
}

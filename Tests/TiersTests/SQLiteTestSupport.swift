import Logging
import XCTest

@testable import Tiers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fresh directory under the system temp directory, removed by `remove()`.
struct SQLiteTestDirectory {
    let path: String

    init() {
        var template = Array("/tmp/cachesrvd-sqlite-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    func file(_ name: String) -> String { "\(path)/\(name)" }

    func remove() {
        // The tree is ours and shallow: plain files and at most one level of subdirectories.
        removeTree(path)
    }

    private func removeTree(_ path: String) {
        guard let dir = opendir(path) else {
            unlink(path)
            return
        }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name == "." || name == ".." { continue }
            let child = "\(path)/\(name)"
            if unlink(child) != 0 {
                removeTree(child)
            }
        }
        closedir(dir)
        rmdir(path)
    }
}

/// Helpers shared by the SQLite store tests.
enum SQLiteTestSupport {
    /// Warnings and errors only: the recovery tests log errors on purpose.
    static let logger: Logger = {
        var logger = Logger(label: "cachesrvd.tests.sqlite")
        logger.logLevel = .warning
        return logger
    }()

    /// The bytes of a file (empty when missing).
    static func bytes(of path: String) -> [UInt8] {
        guard let file = fopen(path, "rb") else { return [] }
        defer { fclose(file) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            result.append(contentsOf: buffer[0..<count])
        }
        return result
    }

    /// Whether `needle` occurs in `haystack`.
    static func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
        let pattern = Array(needle.utf8)
        guard !pattern.isEmpty, haystack.count >= pattern.count else { return false }
        for start in 0...(haystack.count - pattern.count) where haystack[start] == pattern[0] {
            if haystack[start..<(start + pattern.count)].elementsEqual(pattern) {
                return true
            }
        }
        return false
    }

    static func fileExists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Writes `bytes` to `path`, replacing it.
    static func write(_ bytes: [UInt8], to path: String) {
        let file = fopen(path, "wb")!
        _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, bytes.count, file) }
        fclose(file)
    }

    /// The entries of a directory (names only).
    static func listDirectory(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Runs `sql` on a separate raw connection to `path` (like another process would).
    static func rawExecute(_ path: String, _ sql: String) throws {
        let db = try SQLiteDatabase(path: path, readOnly: false)
        defer { db.close() }
        try db.execute(sql)
    }

    /// The first column of every row of `sql`, as text, on a separate raw connection.
    static func rawQuery(_ path: String, _ sql: String) throws -> [String?] {
        let db = try SQLiteDatabase(path: path, readOnly: false)
        defer { db.close() }
        let statement = try db.prepare(sql)
        defer { statement.finalize() }
        var rows: [String?] = []
        while try statement.step() {
            rows.append(statement.optionalText(0))
        }
        return rows
    }

    /// The error kind thrown by `body`, or `nil` when it does not throw.
    static func errorKind<T>(_ body: () throws -> T) -> StoreError.Kind? {
        do {
            _ = try body()
            return nil
        } catch {
            return (error as? StoreError)?.kind
        }
    }
}

/// Which SQLite store a shared test runs against.
enum SQLiteStoreKind: CaseIterable, CustomStringConvertible {
    case l2
    case l3

    var description: String { self == .l2 ? "L2" : "L3" }

    /// The store's configuration when it lives in `directory`.
    func configuration(in directory: SQLiteTestDirectory) -> SQLiteStore.Configuration {
        switch self {
        case .l2: return .l2(directory: directory.file("l2"))
        case .l3: return .l3(path: directory.file("db/cachesrvd.db"))
        }
    }

    /// The database file for a store living in `directory`.
    func databasePath(in directory: SQLiteTestDirectory) -> String {
        configuration(in: directory).path
    }

    /// The entries table.
    var table: String { self == .l2 ? "l2_cache" : "cache_entries" }

    func open(
        in directory: SQLiteTestDirectory,
        cipher: CredentialCipher,
        fsync: FsyncPolicy = .no
    ) throws -> any PersistentStore {
        try SQLiteStore(configuration(in: directory), cipher: cipher, fsync: fsync, logger: SQLiteTestSupport.logger)
    }

    func openRecovering(
        in directory: SQLiteTestDirectory,
        cipher: CredentialCipher
    ) throws -> (store: any PersistentStore, recoveredFrom: String?, salvage: SalvageReport?) {
        let opened = try SQLiteStore.openRecoveringCorruption(
            configuration(in: directory),
            cipher: cipher,
            fsync: .no,
            logger: SQLiteTestSupport.logger
        )
        return (opened.store, opened.recoveredFrom, opened.salvage)
    }

    func reencryptAll(_ store: any PersistentStore, with cipher: CredentialCipher) throws -> Int {
        guard let store = store as? SQLiteStore else { preconditionFailure("not an SQLite store") }
        return try store.reencryptAll(with: cipher)
    }
}

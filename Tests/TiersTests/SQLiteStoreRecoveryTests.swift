import Dispatch
import TierTestSupport
import XCTest

@testable import Tiers

/// Corruption, decryption failures, key rotation and concurrent use, against both SQLite stores.
final class SQLiteStoreRecoveryTests: XCTestCase {
    private var directory: SQLiteTestDirectory!

    override func setUp() {
        directory = SQLiteTestDirectory()
    }

    override func tearDown() {
        directory.remove()
    }

    func testGarbageFileThrowsCorruptAndRecoveryStartsEmpty() throws {
        for kind in SQLiteStoreKind.allCases {
            let path = kind.databasePath(in: directory)
            try SQLiteFiles.ensureDirectory(SQLiteFiles.directory(of: path))
            let garbage = (0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            SQLiteTestSupport.write(garbage, to: path)
            XCTAssertEqual(
                SQLiteTestSupport.errorKind { try kind.open(in: directory, cipher: EntryFixtures.cipher()) },
                .corrupt,
                "\(kind)"
            )
            let (store, recoveredFrom, salvage) = try kind.openRecovering(
                in: directory,
                cipher: EntryFixtures.cipher()
            )
            defer { store.close() }
            let moved = try XCTUnwrap(recoveredFrom, "\(kind)")
            XCTAssertTrue(moved.hasPrefix(path + ".corrupt-"), moved)
            XCTAssertEqual(SQLiteTestSupport.bytes(of: moved), garbage, "\(kind): the damaged file is kept")
            XCTAssertEqual(try store.count(), 0, "\(kind)")
            XCTAssertEqual(salvage?.salvagedEntries, 0, "\(kind): nothing to salvage in garbage")
            try store.apply([.put(EntryFixtures.fullEntry("fresh"))])
            XCTAssertNotNil(try store.get("fresh"), "\(kind)")

            // A healthy file opens without recovery.
            store.close()
            let again = try kind.openRecovering(in: directory, cipher: EntryFixtures.cipher())
            XCTAssertNil(again.recoveredFrom, "\(kind)")
            XCTAssertEqual(try again.store.count(), 1, "\(kind)")
            again.store.close()
        }
    }

    func testRecoverFromCorruptionOfAnOpenStore() throws {
        for kind in SQLiteStoreKind.allCases {
            let store = try kind.open(in: directory, cipher: EntryFixtures.cipher())
            defer { store.close() }
            try store.apply((0..<10).map { .put(EntryFixtures.plainEntry("x\($0)")) })
            let moved = try store.recoverFromCorruption()
            XCTAssertTrue(SQLiteTestSupport.fileExists(moved), "\(kind)")
            XCTAssertEqual(try SQLiteTestSupport.rawQuery(moved, "SELECT count(*) FROM \(kind.table)"), ["10"])
            XCTAssertEqual(try store.count(), 10, "\(kind): the readable rows are salvaged into the new file")
            XCTAssertEqual(try store.get("x3"), EntryFixtures.plainEntry("x3"), "\(kind)")
            try store.apply([.put(EntryFixtures.plainEntry("y"))])
            XCTAssertEqual(try store.count(), 11, "\(kind): and working")
            // A second recovery in the same second gets its own name.
            let second = try store.recoverFromCorruption()
            XCTAssertNotEqual(second, moved)
            XCTAssertTrue(SQLiteTestSupport.fileExists(second), "\(kind)")
            store.close()
            XCTAssertEqual(SQLiteTestSupport.errorKind { try store.recoverFromCorruption() }, .closed, "\(kind)")
        }
    }

    func testUndecryptableCredentialsAreADecryptionError() throws {
        for kind in SQLiteStoreKind.allCases {
            let writer = try kind.open(in: directory, cipher: EntryFixtures.cipher())
            try writer.apply([.put(EntryFixtures.fullEntry("locked")), .put(EntryFixtures.plainEntry("open"))])
            writer.close()
            let reader = try kind.open(in: directory, cipher: EntryFixtures.cipher())
            defer { reader.close() }
            XCTAssertThrowsError(try reader.get("locked"), "\(kind)") { error in
                let storeError = error as? StoreError
                XCTAssertEqual(storeError?.kind, .decryption)
                XCTAssertFalse(storeError?.message.contains("s3cret") ?? true, "no secret in the message")
            }
            XCTAssertEqual(try reader.get("open"), EntryFixtures.plainEntry("open"), "\(kind): other rows read")
        }
    }

    func testReencryptAllRotatesEveryCredential() throws {
        for kind in SQLiteStoreKind.allCases {
            let oldKey = FernetKey.generate()
            let newKey = FernetKey.generate()
            let store = try kind.open(in: directory, cipher: CredentialCipher(current: oldKey))
            let entries = (0..<1200).map { EntryFixtures.fullEntry("e\($0)") }
            try store.apply(entries.map { .put($0) } + [.put(EntryFixtures.plainEntry("bare"))])
            let changed = try kind.reencryptAll(store, with: CredentialCipher(current: newKey, previous: [oldKey]))
            XCTAssertEqual(changed, 1200, "\(kind): rows with credentials")
            // Later writes use the new cipher too.
            try store.apply([.put(EntryFixtures.fullEntry("later"))])
            store.close()

            let reopened = try kind.open(in: directory, cipher: CredentialCipher(current: newKey))
            defer { reopened.close() }
            XCTAssertEqual(try reopened.get("e0"), entries[0], "\(kind): readable with the new key alone")
            XCTAssertEqual(try reopened.get("e1199"), entries[1199], "\(kind)")
            XCTAssertEqual(try reopened.get("later"), EntryFixtures.fullEntry("later"), "\(kind)")
            XCTAssertEqual(try reopened.get("bare"), EntryFixtures.plainEntry("bare"), "\(kind)")
        }
    }

    func testReencryptAllLeavesUndecryptableRowsAlone() throws {
        for kind in SQLiteStoreKind.allCases {
            let foreign = try kind.open(in: directory, cipher: EntryFixtures.cipher())
            try foreign.apply([.put(EntryFixtures.fullEntry("foreign"))])
            foreign.close()
            let key = FernetKey.generate()
            let store = try kind.open(in: directory, cipher: CredentialCipher(current: key))
            defer { store.close() }
            try store.apply([.put(EntryFixtures.fullEntry("mine"))])
            XCTAssertEqual(
                try kind.reencryptAll(store, with: CredentialCipher(current: .generate(), previous: [key])),
                1
            )
            XCTAssertEqual(try store.get("mine"), EntryFixtures.fullEntry("mine"), "\(kind)")
            XCTAssertEqual(SQLiteTestSupport.errorKind { try store.get("foreign") }, .decryption, "\(kind)")
        }
    }

    func testReadersRunBesideTheWriter() throws {
        for kind in SQLiteStoreKind.allCases {
            let store = try kind.open(in: directory, cipher: EntryFixtures.cipher())
            defer { store.close() }
            try store.apply((0..<200).map { .put(EntryFixtures.fullEntry("seed\($0)")) })
            let batches = 40
            let failures = FailureCounter()
            DispatchQueue.concurrentPerform(iterations: 5) { worker in
                do {
                    if worker == 0 {
                        for batch in 0..<batches {
                            try store.apply((0..<25).map { .put(EntryFixtures.plainEntry("w\(batch)-\($0)")) })
                        }
                    } else {
                        for round in 0..<300 {
                            let entry = try store.get("seed\((round * worker) % 200)")
                            if entry?.password == nil { failures.add() }
                            _ = try store.count()
                            _ = try store.scanKeys(cursor: UInt64(round), limit: 10)
                        }
                    }
                } catch {
                    failures.add()
                }
            }
            XCTAssertEqual(failures.value, 0, "\(kind)")
            XCTAssertEqual(try store.count(), 200 + batches * 25, "\(kind)")
        }
    }
}

/// A thread-safe counter for the concurrency test.
private final class FailureCounter: @unchecked Sendable {
    /// Guarded by `mutex`.
    private var count = 0
    /// A pthread mutex at a stable address (the tests avoid Foundation's NSLock).
    private let mutex: UnsafeMutablePointer<pthread_mutex_t> = {
        let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        return mutex
    }()

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func add() {
        pthread_mutex_lock(mutex)
        count += 1
        pthread_mutex_unlock(mutex)
    }

    var value: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return count
    }
}

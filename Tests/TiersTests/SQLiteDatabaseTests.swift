import CSQLite
import XCTest

@testable import Tiers

/// The C API wrapper: statements, and SQLite's errors mapped to `StoreError` kinds, provoked for real.
final class SQLiteDatabaseTests: XCTestCase {
    private var directory: SQLiteTestDirectory!
    private var path: String { directory.file("t.db") }

    override func setUp() {
        directory = SQLiteTestDirectory()
    }

    override func tearDown() {
        directory.remove()
    }

    func testStatementsBindAndReadEveryType() throws {
        let db = try SQLiteDatabase(path: path, readOnly: false)
        defer { db.close() }
        try db.execute("CREATE TABLE t (i INTEGER, d REAL, s TEXT, b BLOB, n TEXT)")
        let insert = try db.statement("INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5)")
        insert.bind(1, Int.max)
        insert.bind(2, -0.125)
        insert.bind(3, "a\0b ✓")
        insert.bindBlob(4, [0, 1, 255])
        insert.bind(5, nil as String?)
        try insert.run()
        XCTAssertEqual(db.changes, 1)
        let empty = try db.statement("INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5)")
        XCTAssertTrue(empty === insert, "statements are cached per SQL")
        empty.bind(1, 0)
        empty.bind(2, nil as Double?)
        empty.bind(3, "")
        empty.bindBlob(4, [])
        empty.bind(5, "x")
        try empty.run()

        let select = try db.statement("SELECT i, d, s, b, n FROM t ORDER BY rowid")
        XCTAssertTrue(try select.step())
        XCTAssertEqual(select.int(0), Int.max)
        XCTAssertEqual(select.double(1), -0.125)
        XCTAssertEqual(select.text(2), "a\0b ✓", "an embedded NUL survives")
        XCTAssertEqual(select.bytes(3), [0, 1, 255])
        XCTAssertNil(select.optionalText(4))
        XCTAssertTrue(try select.step())
        XCTAssertNil(select.optionalDouble(1))
        XCTAssertEqual(select.optionalText(2), "", "empty text is not NULL")
        XCTAssertEqual(select.bytes(3), [], "an empty blob is not NULL")
        XCTAssertFalse(try select.step())
    }

    func testGarbageIsCorrupt() throws {
        SQLiteTestSupport.write(
            Array("this is not an SQLite database, just some bytes.".utf8) + [UInt8](repeating: 7, count: 4096),
            to: path
        )
        let db = try SQLiteDatabase(path: path, readOnly: false)
        defer { db.close() }
        XCTAssertEqual(SQLiteTestSupport.errorKind { try db.execute("SELECT * FROM sqlite_master") }, .corrupt)
    }

    func testWritingThroughAReadOnlyConnectionIsReadOnly() throws {
        try SQLiteTestSupport.rawExecute(path, "CREATE TABLE t (x)")
        let db = try SQLiteDatabase(path: path, readOnly: true)
        defer { db.close() }
        XCTAssertEqual(SQLiteTestSupport.errorKind { try db.execute("INSERT INTO t VALUES (1)") }, .readOnly)
    }

    func testOpeningAMissingFileReadOnlyFails() throws {
        XCTAssertEqual(
            SQLiteTestSupport.errorKind { try SQLiteDatabase(path: directory.file("none/x.db"), readOnly: true) },
            .io
        )
    }

    func testAFullDatabaseIsFull() throws {
        let db = try SQLiteDatabase(path: path, readOnly: false)
        defer { db.close() }
        try db.execute("CREATE TABLE t (x BLOB)")
        try db.pragmaText("max_page_count = \(try db.pragmaInteger("page_count") + 2)")
        XCTAssertEqual(
            SQLiteTestSupport.errorKind {
                try db.execute("INSERT INTO t VALUES (zeroblob(1000000))")
            },
            .full
        )
    }

    func testALockHeldElsewhereIsBusyAndTheTransactionRollsBack() throws {
        let first = try SQLiteDatabase(path: path, readOnly: false)
        let second = try SQLiteDatabase(path: path, readOnly: false)
        defer {
            first.close()
            second.close()
        }
        try first.execute("PRAGMA journal_mode = WAL; CREATE TABLE t (x)")
        try second.execute("PRAGMA busy_timeout = 0")
        try first.execute("BEGIN IMMEDIATE; INSERT INTO t VALUES (1)")
        XCTAssertEqual(
            SQLiteTestSupport.errorKind {
                try second.immediateTransaction { () throws(StoreError) in
                    try second.execute("INSERT INTO t VALUES (2)")
                }
            },
            .busy
        )
        try first.execute("COMMIT")
        let failed: StoreError.Kind? = SQLiteTestSupport.errorKind {
            try second.immediateTransaction { () throws(StoreError) in
                try second.execute("INSERT INTO t VALUES (3)")
                throw StoreError(.io, "changed my mind")
            }
        }
        XCTAssertEqual(failed, .io)
        try second.immediateTransaction { () throws(StoreError) in try second.execute("INSERT INTO t VALUES (4)") }
        let rows = try second.statement("SELECT group_concat(x) FROM t")
        XCTAssertTrue(try rows.step())
        XCTAssertEqual(rows.text(0), "1,4", "the failed transaction left nothing")
    }

    func testAClosedDatabaseThrowsClosed() throws {
        let db = try SQLiteDatabase(path: path, readOnly: false)
        db.close()
        db.close()
        XCTAssertTrue(db.isClosed)
        XCTAssertEqual(SQLiteTestSupport.errorKind { try db.execute("SELECT 1") }, .closed)
        XCTAssertEqual(SQLiteTestSupport.errorKind { try db.statement("SELECT 1") }, .closed)
    }

    func testErrorKindsOfResultCodes() {
        XCTAssertEqual(StoreError.kind(sqliteCode: SQLITE_NOTADB, systemErrno: 0), .corrupt)
        XCTAssertEqual(StoreError.kind(sqliteCode: SQLITE_CORRUPT | (1 << 8), systemErrno: 0), .corrupt)
        XCTAssertEqual(StoreError.kind(sqliteCode: SQLITE_FULL, systemErrno: 0), .full)
        XCTAssertEqual(StoreError.kind(sqliteCode: SQLITE_IOERR | (4 << 8), systemErrno: ENOSPC), .full)
        XCTAssertEqual(StoreError.kind(sqliteCode: SQLITE_CANTOPEN, systemErrno: EACCES), .readOnly)
        XCTAssertEqual(StoreError.kind(sqliteCode: SQLITE_CANTOPEN, systemErrno: ENOENT), .io)
        XCTAssertEqual(StoreError.kind(sqliteCode: SQLITE_READONLY, systemErrno: 0), .readOnly)
        XCTAssertEqual(StoreError.kind(sqliteCode: SQLITE_LOCKED, systemErrno: 0), .busy)
        XCTAssertEqual(StoreError.kind(sqliteCode: SQLITE_IOERR, systemErrno: EIO), .io)
        XCTAssertEqual(StoreError.kind(sqliteCode: SQLITE_MISUSE, systemErrno: 0), .io)
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Reads the rows of a damaged database through SQLite, as far as SQLite can: the table's columns from its schema,
/// then its rows by rowid; when a step fails (a damaged page), the scan starts again past the last rowid read,
/// jumping further each time it fails again, until it finds readable rows or the end.
///
/// Opened read-only: the damaged file (already moved aside) is never written.
struct SQLiteSalvageSQL {
    /// A table as SQLite could read it: its column names (`nil` when SQLite cannot read its schema) and rows.
    struct Table {
        var columns: [String]?
        var rows: [SQLiteSalvage.Record]
    }

    /// How many failed scans the reader tries per table before it gives up.
    static let maxFailures = 10_000
    /// The largest jump past a damaged region, rowids.
    static let maxGap: Int64 = 1 << 40

    private let database: SQLiteDatabase?
    /// The most rows the file (with its WAL) could hold, a row taking at least 16 bytes: a damaged tree that loops
    /// back on itself cannot make the reader collect more.
    private let mostRows: Int

    init(path: String) {
        database = try? SQLiteDatabase(path: path, readOnly: true)
        var size = 0
        for file in [path, path + "-wal"] {
            var info = stat()
            if stat(file, &info) == 0 { size += Int(info.st_size) }
        }
        mostRows = max(1, size / 16)
    }

    func close() {
        database?.close()
    }

    /// The columns and readable rows of `table` (quoted by the caller's schema: a fixed name).
    func read(table: String) -> Table {
        guard let database else { return Table(columns: nil, rows: []) }
        var columns: [String] = []
        do {
            let info = try database.statement("PRAGMA table_info(\(table))")
            defer { info.reset() }
            while try info.step() {
                columns.append(info.text(1))
            }
        } catch {
            return Table(columns: nil, rows: [])
        }
        guard !columns.isEmpty,
            let select = try? database.statement("SELECT rowid, * FROM \(table) WHERE rowid > ?1 ORDER BY rowid")
        else { return Table(columns: nil, rows: []) }
        defer { select.reset() }
        var rows: [SQLiteSalvage.Record] = []
        var lower: Int64 = 0
        var gap: Int64 = 1
        var failures = 0
        while failures < Self.maxFailures {
            select.reset()
            select.bind(1, Int(lower))
            do {
                while try select.step() {
                    let rowid = select.int64(0)
                    // Rowids only grow in a sound tree: one that goes back is a damaged page pointing back up the
                    // tree, which would repeat rows for ever. Treat it as a failed step and jump past it.
                    guard rowid > lower, rows.count < mostRows else {
                        throw StoreError(.corrupt, "rowids out of order")
                    }
                    let values = (1..<select.columnCount).map { select.salvageValue($0) }
                    rows.append(SQLiteSalvage.Record(rowid: rowid, values: values))
                    lower = rowid
                    gap = 1
                }
                break
            } catch {
                failures += 1
                if rows.count >= mostRows { break }
                let (next, overflow) = lower.addingReportingOverflow(gap)
                guard !overflow, gap <= Self.maxGap else { break }
                lower = next
                gap *= 2
            }
        }
        return Table(columns: columns, rows: rows)
    }
}

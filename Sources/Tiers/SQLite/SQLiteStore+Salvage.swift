import Logging

// Keeping what can be read of a damaged file that was moved aside.

extension SQLiteStore {
    /// Rows salvaged from a damaged file, validated by the store's own row decoding.
    struct Salvaged {
        var entries: [CacheEntry] = []
        /// Health checks whose entry was salvaged, oldest first.
        var history: [(key: String, record: HealthCheckRecord)] = []
        var report: SalvageReport

        /// The writes that put the rows into a fresh store, in batches of `size` (entries before their history).
        func writeBatches(size: Int) -> [[StoreWrite]] {
            let writes =
                entries.map { StoreWrite.put($0) }
                + history.map { StoreWrite.appendHealth(key: $0.key, record: $0.record, keep: historyKeep) }
            return stride(from: 0, to: writes.count, by: max(1, size)).map {
                Array(writes[$0..<min($0 + max(1, size), writes.count)])
            }
        }
    }

    /// Salvaged rows are written in transactions of this many.
    static let salvageBatchSize = 1000
    /// Salvaged health checks are all kept (the configured limit trims them at the key's next check).
    static let historyKeep = Int(Int32.max)

    /// Reads what can be read of the damaged file `path` (already moved aside): first through SQLite (by rowid,
    /// skipping past errors), then from the pages themselves; a row found either way is kept, a row SQLite read
    /// wins over its copy on a page. Every row goes through `EntryRow.read` (credentials must decrypt with
    /// `cipher`) and the column types of `schema`; what does not validate is counted as lost.
    static func salvage(from path: String, schema: SQLiteSchema, cipher: CredentialCipher) -> Salvaged {
        let sql = SQLiteSalvageSQL(path: path)
        let entryTable = sql.read(table: schema.entries.name)
        let historyTable = schema.history.map { sql.read(table: $0.name) }
        sql.close()
        let reader = try? SQLiteSalvage(path: path)
        let pages = reader?.records().records ?? []

        // The file's own column order when SQLite could read its schema; else the orders our files can have: as
        // created now, and as upgraded from older versions (ALTER TABLE appended the newer columns after the rest).
        let entryLayouts = entryTable.columns.map { [$0] } ?? entryLayouts(of: schema)
        let entryWidth = entryLayouts.map(\.count).max() ?? 0
        let historyNames = historyTable?.columns ?? schema.history?.columns.map(\.name) ?? []
        var entryCandidates = entryTable.rows
        var historyCandidates = historyTable?.rows ?? []
        var entryLeaves: Set<Int> = []
        // Page 1 holds sqlite_master, never a row of ours.
        for record in pages where record.page != 1 {
            if !historyNames.isEmpty, record.values.count == historyNames.count, record.values.first == .null {
                historyCandidates.append(record)
            } else if record.values.count > historyNames.count, record.values.count <= entryWidth,
                case .text = record.values.first
            {
                entryCandidates.append(record)
                entryLeaves.insert(record.page)
            }
        }

        var report = SalvageReport(movedTo: path)
        report.sqlReadable = entryTable.columns != nil
        var salvaged = Salvaged(report: report)
        var byKey: [String: Int] = [:]
        var seenRowids: Set<Int64> = []
        var rejectedRowids: Set<Int64> = []
        var validRowids: Set<Int64> = []
        for record in entryCandidates where record.rowid > 0 {
            seenRowids.insert(record.rowid)
            let valid = entryLayouts.lazy.compactMap { names in
                validEntry(
                    Dictionary(zip(names, record.values), uniquingKeysWith: { first, _ in first }),
                    cipher: cipher
                )
            }.first
            guard let entry = valid else {
                rejectedRowids.insert(record.rowid)
                continue
            }
            validRowids.insert(record.rowid)
            // The first copy wins: SQLite's rows come first, then the pages in file order (WAL pages applied).
            if byKey[entry.key] == nil {
                byKey[entry.key] = salvaged.entries.count
                salvaged.entries.append(entry)
            }
        }
        var historyByID: [Int64: (key: String, record: HealthCheckRecord)] = [:]
        for record in historyCandidates where record.rowid > 0 && historyByID[record.rowid] == nil {
            let named = Dictionary(zip(historyNames, record.values), uniquingKeysWith: { first, _ in first })
            if let check = validHistory(named), byKey[check.key] != nil {
                historyByID[record.rowid] = check
            }
        }
        salvaged.history = historyByID.sorted {
            ($0.value.record.checkTime, $0.key) < ($1.value.record.checkTime, $1.key)
        }.map(\.value)
        // Rows past the last one found (a truncated file, a damaged last page) still show in the interior pages.
        let maxKey = reader.map { largestKey(in: $0.interiorPages(), above: entryLeaves) } ?? 0
        let maxRowid = max(seenRowids.max() ?? 0, maxKey)
        let missing = max(0, Int(clamping: maxRowid) - seenRowids.count)
        // An estimate and an upper bound: rowids freed by ordinary deletes look missing too. Damaged keys can be any
        // number, so it is capped by the most rows the file's pages could hold (a row takes at least 16 bytes).
        let mostRows = (reader.map { $0.pages.count * $0.pageSize } ?? 0) / 16
        salvaged.report.salvagedEntries = salvaged.entries.count
        salvaged.report.salvagedHistory = salvaged.history.count
        salvaged.report.lostEntries = min(missing + rejectedRowids.subtracting(validRowids).count, mostRows)
        return salvaged
    }

    /// The column orders an entries table of `schema` can have on disk (`SQLiteSchema.entryLayouts`).
    static func entryLayouts(of schema: SQLiteSchema) -> [[String]] {
        schema.entryLayouts
    }

    /// The largest rowid key of the interior pages above `leaves` (directly or through other interior pages).
    static func largestKey(in interiors: [SQLiteSalvage.InteriorPage], above leaves: Set<Int>) -> Int64 {
        var tree = leaves
        var largest: Int64 = 0
        var changed = true
        var rounds = 0
        while changed && rounds < 64 {
            changed = false
            rounds += 1
            for page in interiors where !tree.contains(page.number) && page.children.contains(where: tree.contains) {
                tree.insert(page.number)
                largest = max(largest, page.keys.max() ?? 0)
                changed = true
            }
        }
        return largest
    }

    // MARK: Validation

    /// The entry in `named` (file column name -> value) when every column has a value of its declared type and
    /// the store's decoding accepts it (credentials decrypt); else `nil`.
    static func validEntry(_ named: [String: SQLiteSalvage.Value], cipher: CredentialCipher) -> CacheEntry? {
        var values: [SQLiteSalvage.Value] = []
        values.reserveCapacity(SQLiteSchema.entryColumns.count)
        for column in SQLiteSchema.entryColumns {
            let value = named[column.name] ?? defaultValue(column.declaration)
            guard accepts(value, declaration: column.declaration) else { return nil }
            values.append(value)
        }
        guard case .text = values[0] else { return nil }  // the empty key is valid (Redis's `SET "" v`)
        if case .text(let status) = values[10], HealthStatus(rawValue: String(decoding: status, as: UTF8.self)) == nil {
            return nil
        }
        // Damaged bytes inside a cell can still parse as a number: keep only values a client could have set
        // (finite times up to the year 5138, counts that cannot overflow), or TTL on the row would trap later.
        if case .text(let custom) = values[22], CustomFieldsCodec.decode(String(decoding: custom, as: UTF8.self)) == nil
        {
            return nil
        }
        guard let entry = try? EntryRow.read(SalvagedEntryRow(values: values), cipher: cipher),
            entry.hasFieldsWithinBounds
        else { return nil }
        return entry
    }

    /// A health check of `health_history` (file column name -> value), or `nil` when it does not validate.
    static func validHistory(_ named: [String: SQLiteSalvage.Value]) -> (key: String, record: HealthCheckRecord)? {
        guard case .text(let keyBytes) = named["proxy_key"], let key = String(validatedUTF8: keyBytes),
            let checkTime = number(named["check_time"]),
            case .text(let statusBytes) = named["status"] ?? .text(Array("unknown".utf8)),
            let status = HealthStatus(rawValue: String(decoding: statusBytes, as: UTF8.self))
        else { return nil }
        let response = named["response_time_ms"] ?? .null
        let error = named["error_message"] ?? .null
        let url = named["check_url"] ?? .null
        guard checkTime.isFinite, checkTime >= 0, checkTime <= CacheEntry.latestTime,
            response == .null || number(response).map({ $0.isFinite && $0 >= 0 }) == true,
            accepts(error, declaration: "TEXT"), accepts(url, declaration: "TEXT")
        else { return nil }
        return (
            key,
            HealthCheckRecord(
                checkTime: checkTime,
                status: status,
                responseTimeMs: number(response),
                errorMessage: text(error),
                checkURL: text(url)
            )
        )
    }

    /// Whether `value` fits a column declared `declaration` (its type, NOT NULL, valid UTF-8 text).
    static func accepts(_ value: SQLiteSalvage.Value, declaration: String) -> Bool {
        let type = declaration.split(separator: " ").first.map(String.init) ?? ""
        switch value {
        case .null:
            return !declaration.contains("NOT NULL") && !declaration.contains("PRIMARY KEY")
        case .integer, .real:
            return type == "INTEGER" || type == "REAL"
        case .text(let bytes):
            return (type == "TEXT" || type == "BLOB") && String(validatedUTF8: bytes) != nil
        case .blob:
            return type == "BLOB"
        }
    }

    /// The value SQLite gives a column missing from an older record: its declared DEFAULT, else NULL.
    static func defaultValue(_ declaration: String) -> SQLiteSalvage.Value {
        guard let range = declaration.range(of: "DEFAULT ") else { return .null }
        let literal = declaration[range.upperBound...].split(separator: " ").first.map(String.init) ?? ""
        if literal.hasPrefix("'") && literal.hasSuffix("'") && literal.count >= 2 {
            return .text(Array(literal.dropFirst().dropLast().utf8))
        }
        return Int64(literal).map { .integer($0) } ?? .null
    }

    private static func number(_ value: SQLiteSalvage.Value?) -> Double? {
        switch value {
        case .integer(let number): Double(number)
        case .real(let number): number
        default: nil
        }
    }

    private static func text(_ value: SQLiteSalvage.Value) -> String? {
        if case .text(let bytes) = value { return String(validatedUTF8: bytes) }
        return nil
    }

    // MARK: Restoring

    /// Writes salvaged rows into this (fresh) store through `apply`, and logs the outcome at error level (counts
    /// and paths only, never a key or a credential). A failure to write them is logged; the damaged file stays
    /// where it was moved.
    func restore(_ salvaged: Salvaged) -> SalvageReport {
        restore(salvaged) { batch throws(StoreError) in try apply(batch) }
    }

    /// Writes salvaged rows on `db` (the new writer connection, before anyone else uses it).
    func restore(_ salvaged: Salvaged, in db: SQLiteDatabase) -> SalvageReport {
        restore(salvaged) { batch throws(StoreError) in try write(batch, in: db) }
    }

    private func restore(
        _ salvaged: Salvaged,
        writing write: (_ batch: [StoreWrite]) throws(StoreError) -> Void
    ) -> SalvageReport {
        var report = salvaged.report
        do {
            for batch in salvaged.writeBatches(size: Self.salvageBatchSize) {
                try write(batch)
            }
        } catch {
            logger.error(
                "cannot write the salvaged rows into the new database; they stay in the damaged file",
                metadata: ["store.moved_to": "\(report.movedTo)", "error": "\(error)"]
            )
            report.lostEntries += report.salvagedEntries
            report.salvagedEntries = 0
            report.salvagedHistory = 0
        }
        Self.logSalvage(report, logger: logger)
        return report
    }

    static func logSalvage(_ report: SalvageReport, logger: Logger) {
        logger.error(
            "salvaged the readable rows of the corrupt database file into a new one",
            metadata: [
                "store.moved_to": "\(report.movedTo)", "salvage.entries": "\(report.salvagedEntries)",
                "salvage.history": "\(report.salvagedHistory)", "salvage.lost_entries": "\(report.lostEntries)",
                "salvage.sql_readable": "\(report.sqlReadable)",
            ]
        )
    }
}

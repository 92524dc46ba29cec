/// The format of a warm file.
enum WarmFormat: String, CaseIterable, Sendable {
    /// One JSON array of objects.
    case json
    /// One JSON object per line (JSON Lines).
    case jsonl
    /// Comma-separated values with a header line naming the columns.
    case csv

    /// The format implied by a file name's extension (`.json`, `.jsonl` or `.ndjson`, `.csv`; any case).
    init?(path: String) {
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return nil }
        switch path[path.index(after: dot)...].lowercased() {
        case "json":
            self = .json
        case "jsonl", "ndjson":
            self = .jsonl
        case "csv":
            self = .csv
        default:
            return nil
        }
    }
}

/// A warm file that cannot be read as its format at all (exit 65).
struct WarmFileError: Error, Equatable, CustomStringConvertible {
    var message: String

    var description: String { message }
}

/// The rows of a warm file, parsed as proxywhirl's `warm_from_file` reads them.
struct WarmFile: Equatable, Sendable {
    /// Rows with a usable `proxy_url`, in file order.
    var rows: [WarmRow]
    /// Rows without a usable `proxy_url` or with a field of the wrong type (blank lines are not rows).
    var skipped: Int
    /// JSONL lines that are not JSON at all: counted as failed, as proxywhirl's `warm_from_file` does.
    var failed: Int = 0
    /// Notes for stderr about the file as a whole (e.g. a CSV header without `proxy_url`).
    var warnings: [String]

    /// Parses a whole warm file.
    ///
    /// - Parameters:
    ///   - bytes: The file's contents (UTF-8; a leading byte-order mark is ignored).
    ///   - format: How to read them.
    /// - Throws: `WarmFileError` when the file as a whole is unreadable: JSON that does not parse or is not an array,
    ///   CSV with a quoted field that never closes. A JSONL line that is not JSON counts as failed; a JSONL line or
    ///   array element that is JSON but not a usable row counts as skipped.
    static func parse(_ bytes: [UInt8], format: WarmFormat) throws(WarmFileError) -> WarmFile {
        let body = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes
        switch format {
        case .json:
            return try parseJSON(body)
        case .jsonl:
            return parseJSONLines(body)
        case .csv:
            return try parseCSV(body)
        }
    }

    private static func parseJSON(_ bytes: [UInt8]) throws(WarmFileError) -> WarmFile {
        let document: JSONValue
        do {
            document = try JSONParser.parse(bytes)
        } catch {
            throw WarmFileError(message: "not valid JSON: \(error)")
        }
        guard case .array(let elements) = document else {
            throw WarmFileError(message: "a .json warm file must hold an array of objects")
        }
        var file = WarmFile(rows: [], skipped: 0, warnings: [])
        file.rows.reserveCapacity(elements.count)
        for element in elements {
            file.add(WarmRow(json: element))
        }
        return file
    }

    private static func parseJSONLines(_ bytes: [UInt8]) -> WarmFile {
        var file = WarmFile(rows: [], skipped: 0, warnings: [])
        var badLines: [Int] = []
        var lineStart = 0
        var lineNumber = 0
        while lineStart < bytes.count {
            lineNumber += 1
            let lineEnd = bytes[lineStart...].firstIndex(of: 0x0A) ?? bytes.count
            let isBlank = bytes[lineStart..<lineEnd].allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
            if !isBlank {
                if let value = try? JSONParser.parse(bytes, in: lineStart..<lineEnd) {
                    file.add(WarmRow(json: value))
                } else {
                    file.failed += 1
                    badLines.append(lineNumber)
                }
            }
            lineStart = lineEnd + 1
        }
        if badLines.count == 1 {
            file.warnings.append("line \(badLines[0]) is not valid JSON: counted as failed")
        } else if !badLines.isEmpty {
            let shown = badLines.prefix(shownBadLines).map(String.init).joined(separator: ", ")
            let more = badLines.count > shownBadLines ? ", ..." : ""
            file.warnings.append(
                "\(badLines.count) lines are not valid JSON (lines \(shown)\(more)): counted as failed"
            )
        }
        return file
    }

    /// How many numbers of unparsable lines a warning lists.
    static let shownBadLines = 10

    private static func parseCSV(_ bytes: [UInt8]) throws(WarmFileError) -> WarmFile {
        let records: [[String]]
        do {
            records = try CSVParser.parse(bytes)
        } catch {
            throw WarmFileError(message: "not valid CSV: \(error)")
        }
        var file = WarmFile(rows: [], skipped: 0, warnings: [])
        guard let header = records.first else { return file }
        let names = header.map(WarmRow.trimmed)
        func column(_ name: String) -> Int? { names.lastIndex(of: name) }
        guard let urlColumn = column("proxy_url") else {
            file.skipped = records.count - 1
            file.warnings.append("the CSV header has no proxy_url column: every row skipped")
            return file
        }
        let keyColumn = column("key")
        let usernameColumn = column("username")
        let passwordColumn = column("password")
        let sourceColumn = column("source")
        file.rows.reserveCapacity(records.count - 1)
        for record in records.dropFirst() {
            func value(_ column: Int?) -> String? {
                guard let column, column < record.count else { return nil }
                return record[column]
            }
            guard let url = value(urlColumn) else {
                file.skipped += 1
                continue
            }
            file.add(
                WarmRow(
                    key: value(keyColumn),
                    proxyURL: url,
                    username: value(usernameColumn),
                    password: value(passwordColumn),
                    source: value(sourceColumn)
                )
            )
        }
        return file
    }

    private mutating func add(_ row: WarmRow?) {
        if let row {
            rows.append(row)
        } else {
            skipped += 1
        }
    }
}

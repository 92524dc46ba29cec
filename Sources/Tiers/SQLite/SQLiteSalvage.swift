#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the rows of a damaged SQLite database file straight from its pages, without SQLite: every table
/// b-tree leaf page (its cells, their varints, records and overflow chains), whatever tree it belongs to,
/// skipping whatever does not parse. Pages in a `-wal` file beside it replace the file's copies (the newest
/// committed frame of a page wins). Freelist pages are skipped when page 1 still names them.
///
/// It does not tell which table a row came from: callers classify the records by their shape and validate
/// them (see `SQLiteStore+Salvage.swift`). Debian's SQLite 3.40 has neither the recovery API
/// (`sqlite3_recover_init`, 3.44) nor the `sqlite_dbpage` table, hence this reader of the file format
/// (https://www.sqlite.org/fileformat2.html).
struct SQLiteSalvage {
    /// One value of a record.
    enum Value: Equatable {
        case null
        case integer(Int64)
        case real(Double)
        case text([UInt8])
        case blob([UInt8])
    }

    /// One cell of a table b-tree leaf: its rowid and its record's values.
    struct Record {
        var rowid: Int64
        var values: [Value]
        /// The page it was read from (0 when SQLite read it).
        var page: Int = 0
    }

    /// The page size assumed when page 1's header is damaged (SQLite's default).
    static let defaultPageSize = 4096
    /// The largest file (and WAL) this reader loads, bytes: it holds the file in memory. A larger file is left to
    /// the SQL reader alone (`SQLiteSalvageSQL`).
    static let maxFileSize = 1 << 30
    /// The largest record payload accepted, bytes (SQLite's default SQLITE_MAX_LENGTH).
    static let maxPayload = 1_000_000_000

    /// The pages, numbered from 1 (index 0 is page 1), the WAL's newest committed frames applied.
    let pages: [ArraySlice<UInt8>]
    let pageSize: Int
    /// Bytes at the end of each page reserved for extensions (page 1's header, byte 20).
    let reserved: Int
    /// Pages on the freelist (when page 1's header could be read).
    let freePages: Set<Int>

    /// Loads `path` and `path-wal` (if present).
    ///
    /// - Throws: `.io` when the file cannot be read (an unreadable or missing file is not salvageable).
    init(path: String) throws(StoreError) {
        let file = try Self.readFile(path)
        let wal = (try? Self.readFile(path + "-wal")) ?? []
        self.init(file: file, wal: wal)
    }

    /// Parses a database image and an optional WAL image.
    init(file: [UInt8], wal: [UInt8] = []) {
        let header = Self.headerPageSize(file)
        let walPageSize = Self.walPageSize(wal)
        let pageSize = header ?? walPageSize ?? Self.defaultPageSize
        self.pageSize = pageSize
        let reservedByte = file.count > 20 && header != nil ? Int(file[20]) : 0
        self.reserved = reservedByte < pageSize - 480 ? reservedByte : 0
        var pages: [ArraySlice<UInt8>] = []
        var offset = 0
        while offset + pageSize <= file.count {
            pages.append(file[offset..<offset + pageSize])
            offset += pageSize
        }
        if walPageSize == pageSize {
            // A damaged frame header can name any page: never grow past what a file we would load can hold.
            let mostPages = Self.maxFileSize / pageSize
            for (number, page) in Self.committedWALFrames(wal, pageSize: pageSize) where number <= mostPages {
                while pages.count < number { pages.append(ArraySlice(repeating: 0, count: pageSize)) }
                pages[number - 1] = page
            }
        }
        self.pages = pages
        self.freePages = header == nil ? [] : Self.freelist(pages, pageSize: pageSize)
    }

    /// Every record of every table leaf page, in page order, skipping cells that do not parse.
    ///
    /// - Returns: the records, and how many cells were found but could not be read.
    func records() -> (records: [Record], unreadableCells: Int) {
        var records: [Record] = []
        var unreadable = 0
        // SQLite never shares an overflow page between cells: a page claimed twice is damage, and so is a chain
        // that would copy more than the file holds (hostile cells claiming huge payloads over one long chain).
        var overflow = OverflowBudget(bytes: pages.count * pageSize)
        for number in 1...max(pages.count, 1) where number <= pages.count && !freePages.contains(number) {
            let page = pages[number - 1]
            let start = page.startIndex + (number == 1 ? 100 : 0)
            guard start + 8 <= page.endIndex, page[start] == 0x0d else { continue }
            let cellCount = Int(Self.uint16(page, start + 3))
            let usable = pageSize - reserved
            guard cellCount > 0, 8 + 2 * cellCount <= usable else { continue }
            for cell in 0..<cellCount {
                let pointer = Int(Self.uint16(page, start + 8 + 2 * cell))
                if var record = readCell(page, at: pointer, overflow: &overflow) {
                    record.page = number
                    records.append(record)
                } else {
                    unreadable += 1
                }
            }
        }
        return (records, unreadable)
    }

    /// One table b-tree interior page: its child pages and the rowid keys dividing them.
    struct InteriorPage {
        var number: Int
        var children: [Int]
        /// Each key is the largest rowid in the subtree to its left.
        var keys: [Int64]
    }

    /// Every table b-tree interior page that parses (its cells' child pointers and rowid keys).
    func interiorPages() -> [InteriorPage] {
        var result: [InteriorPage] = []
        let usable = pageSize - reserved
        for number in 1...max(pages.count, 1) where number <= pages.count && !freePages.contains(number) {
            let page = pages[number - 1]
            let start = page.startIndex + (number == 1 ? 100 : 0)
            guard start + 12 <= page.endIndex, page[start] == 0x05 else { continue }
            let cellCount = Int(Self.uint16(page, start + 3))
            guard 12 + 2 * cellCount <= usable else { continue }
            var interior = InteriorPage(number: number, children: [Int(Self.uint32(page, start + 8))], keys: [])
            for cell in 0..<cellCount {
                let pointer = Int(Self.uint16(page, start + 12 + 2 * cell))
                guard pointer >= 12, pointer + 5 <= usable else { continue }
                var position = page.startIndex + pointer + 4
                interior.children.append(Int(Self.uint32(page, page.startIndex + pointer)))
                if let key = Self.varint(page, &position, end: page.startIndex + usable) {
                    interior.keys.append(key)
                }
            }
            result.append(interior)
        }
        return result
    }

    // MARK: Cells

    /// What overflow chains may still take: pages not yet claimed by a chain, and bytes left to copy.
    struct OverflowBudget {
        var bytes: Int
        var claimed: Set<Int> = []
    }

    private func readCell(_ page: ArraySlice<UInt8>, at pointer: Int, overflow budget: inout OverflowBudget) -> Record?
    {
        let usable = pageSize - reserved
        guard pointer >= 8, pointer < usable else { return nil }
        var position = page.startIndex + pointer
        let end = page.startIndex + usable
        guard let payloadSize = Self.varint(page, &position, end: end),
            let rowid = Self.varint(page, &position, end: end),
            payloadSize >= 1, payloadSize <= Self.maxPayload
        else { return nil }
        let total = Int(payloadSize)
        // How much of the payload is on this page (fileformat2 "Cell Payload Overflow Pages").
        let maxLocal = usable - 35
        var local = total
        if total > maxLocal {
            let minLocal = (usable - 12) * 32 / 255 - 23
            local = minLocal + (total - minLocal) % (usable - 4)
            if local > maxLocal { local = minLocal }
        }
        guard position + local <= end else { return nil }
        var payload = Array(page[position..<position + local])
        if local < total {
            guard position + local + 4 <= end else { return nil }
            var next = Int(Self.uint32(page, position + local))
            var visited = 0
            guard total - local <= budget.bytes else { return nil }
            budget.bytes -= total - local
            while payload.count < total {
                guard next >= 2, next <= pages.count, visited < pages.count, !budget.claimed.contains(next) else {
                    return nil
                }
                budget.claimed.insert(next)
                visited += 1
                let overflow = pages[next - 1]
                let take = min(usable - 4, total - payload.count)
                payload += overflow[(overflow.startIndex + 4)..<(overflow.startIndex + 4 + take)]
                next = Int(Self.uint32(overflow, overflow.startIndex))
            }
        }
        guard let values = Self.decodeRecord(payload) else { return nil }
        return Record(rowid: rowid, values: values)
    }

    /// The values of a record, or `nil` when its header or body does not parse.
    static func decodeRecord(_ payload: [UInt8]) -> [Value]? {
        var position = 0
        guard let headerSize = varint(payload[...], &position, end: payload.count),
            headerSize >= 1, Int(headerSize) <= payload.count
        else { return nil }
        var types: [Int64] = []
        while position < Int(headerSize) {
            guard let type = varint(payload[...], &position, end: Int(headerSize)) else { return nil }
            types.append(type)
        }
        var body = Int(headerSize)
        var values: [Value] = []
        values.reserveCapacity(types.count)
        for type in types {
            let length: Int
            switch type {
            case 0, 8, 9: length = 0
            case 1...4: length = Int(type)
            case 5: length = 6
            case 6, 7: length = 8
            case 10, 11: return nil
            default:
                // A 9-byte varint can be negative: only 12 and up are blob and text types.
                guard type >= 12, type <= Int64(maxPayload) * 2 + 13 else { return nil }
                length = Int((type - 12) / 2)
            }
            guard body + length <= payload.count else { return nil }
            let bytes = payload[body..<body + length]
            body += length
            switch type {
            case 0: values.append(.null)
            case 8: values.append(.integer(0))
            case 9: values.append(.integer(1))
            case 1...6: values.append(.integer(signedInteger(bytes)))
            case 7: values.append(.real(Double(bitPattern: UInt64(bitPattern: signedInteger(bytes)))))
            default: values.append(type % 2 == 0 ? .blob(Array(bytes)) : .text(Array(bytes)))
            }
        }
        guard body == payload.count else { return nil }
        return values
    }

    // MARK: Integers

    /// A big-endian two's-complement integer of 1 to 8 bytes.
    private static func signedInteger(_ bytes: ArraySlice<UInt8>) -> Int64 {
        guard let first = bytes.first else { return 0 }
        var value: Int64 = first & 0x80 != 0 ? -1 : 0
        for byte in bytes {
            value = (value << 8) | Int64(byte)
        }
        return value
    }

    /// SQLite's varint (1 to 9 bytes, big-endian, 7 bits a byte, all 8 bits in the ninth); advances `position`.
    static func varint(_ bytes: ArraySlice<UInt8>, _ position: inout Int, end: Int) -> Int64? {
        var value: UInt64 = 0
        for index in 0..<9 {
            guard position < end, position < bytes.endIndex else { return nil }
            let byte = bytes[position]
            position += 1
            if index == 8 {
                return Int64(bitPattern: (value << 8) | UInt64(byte))
            }
            value = (value << 7) | UInt64(byte & 0x7f)
            if byte & 0x80 == 0 { return Int64(bitPattern: value) }
        }
        return nil
    }

    static func uint16(_ bytes: ArraySlice<UInt8>, _ at: Int) -> UInt16 {
        guard at >= bytes.startIndex, at + 2 <= bytes.endIndex else { return 0 }
        return UInt16(bytes[at]) << 8 | UInt16(bytes[at + 1])
    }

    static func uint32(_ bytes: ArraySlice<UInt8>, _ at: Int) -> UInt32 {
        guard at >= bytes.startIndex, at + 4 <= bytes.endIndex else { return 0 }
        return (at..<at + 4).reduce(0) { $0 << 8 | UInt32(bytes[$1]) }
    }
}

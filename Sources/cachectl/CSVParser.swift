/// Why a CSV text could not be parsed.
struct CSVParseError: Error, Equatable, CustomStringConvertible {
    /// What was wrong.
    var message: String
    /// The 1-based line where the problem starts.
    var line: Int

    var description: String { "\(message) (line \(line))" }
}

/// An RFC 4180 CSV reader over UTF-8 bytes, with the leniencies of Python's `csv` module.
///
/// - Fields are separated by `,`; records end at `\r\n`, `\n` or a lone `\r`.
/// - A field starting with `"` is quoted: it may hold commas, line ends and `""` (one quote); text between its
///   closing quote and the next separator is kept (`"ab"c` is `abc`), as Python does.
/// - A quote inside an unquoted field is an ordinary character.
/// - Empty lines are skipped; a quoted field still open at the end of the input is an error.
enum CSVParser {
    private enum State {
        case fieldStart
        case unquoted
        case quoted
        case afterQuote
    }

    /// Parses `bytes` into records, each an array of fields.
    ///
    /// - Throws: `CSVParseError` for a quoted field that is never closed.
    static func parse(_ bytes: [UInt8]) throws(CSVParseError) -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field: [UInt8] = []
        var state = State.fieldStart
        var line = 1
        var quoteLine = 1
        var index = 0

        func endField() {
            record.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
        }
        func endRecord() {
            if state != .fieldStart || !record.isEmpty {
                endField()
            }
            if !record.isEmpty {
                records.append(record)
            }
            record = []
            state = .fieldStart
        }

        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if state == .quoted {
                if byte == UInt8(ascii: "\"") {
                    if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
                        field.append(byte)
                        index += 1
                    } else {
                        state = .afterQuote
                    }
                } else {
                    if byte == UInt8(ascii: "\n") {
                        line += 1
                    }
                    field.append(byte)
                }
                continue
            }
            switch byte {
            case UInt8(ascii: ","):
                endField()
                state = .fieldStart
            case 0x0A, 0x0D:
                endRecord()
                if byte == 0x0D, index < bytes.count, bytes[index] == 0x0A {
                    index += 1
                }
                line += 1
            case UInt8(ascii: "\"") where state == .fieldStart:
                state = .quoted
                quoteLine = line
            default:
                field.append(byte)
                state = .unquoted
            }
        }
        if state == .quoted {
            throw CSVParseError(message: "quoted field is never closed", line: quoteLine)
        }
        endRecord()
        return records
    }
}

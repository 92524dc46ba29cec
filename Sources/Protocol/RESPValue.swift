/// A reply as a client sees it, in RESP2 terms.
///
/// RESP3 replies are folded into these cases by ``RESPReplyParser``: null as `.bulkString(nil)`, booleans as
/// integers 1 and 0, doubles and big numbers as bulk strings of their text, verbatim strings as bulk strings
/// without their `txt:` prefix, blob errors as errors, sets and pushes as arrays, and maps as flat arrays of
/// key, value, key, value (as RESP2 sends them).
public indirect enum RESPValue: Sendable, Hashable {
    /// `+OK`: a status line.
    case simpleString(String)
    /// `-ERR message`: an error, without the leading `-`, so it starts with its code (`ERR`, `WRONGPASS`, ...).
    case error(String)
    /// `:42`.
    case integer(Int64)
    /// `$3\r\nabc`; `nil` is the null bulk string `$-1`.
    case bulkString([UInt8]?)
    /// `*2\r\n...`; `nil` is the null array `*-1`.
    case array([RESPValue]?)
}

extension RESPValue {
    /// The text of a simple string, error or bulk string (decoded as UTF-8, invalid bytes replaced), or the decimal
    /// text of an integer; `nil` for null and arrays.
    public var text: String? {
        switch self {
        case .simpleString(let string), .error(let string):
            string
        case .integer(let value):
            String(value)
        case .bulkString(let bytes?):
            String(decoding: bytes, as: UTF8.self)
        case .bulkString(nil), .array:
            nil
        }
    }

    /// Whether this is an error reply.
    public var isError: Bool {
        if case .error = self { return true }
        return false
    }
}

import BinaryText
import NIOCore

/// Writes the replies of one connection in its protocol version.
///
/// RESP3 has types of its own: null, maps, sets, doubles, booleans, verbatim strings, big numbers and pushes. Under
/// RESP2 each is written as Redis 7 writes it there: a null as the null bulk string (or the null array where Redis
/// uses one), a map as a flat array of key, value, ..., a set or a push as an array, a double or a big number as a
/// bulk string of its text, a boolean as the integer 1 or 0, a verbatim string as a bulk string without its format.
public struct RESPReplyWriter {
    /// Where the replies go.
    public var buffer: ByteBuffer
    /// The connection's protocol.
    public var version: RESPVersion

    public init(buffer: ByteBuffer, version: RESPVersion) {
        self.buffer = buffer
        self.version = version
    }

    /// The position the next reply starts at, to roll back a reply that failed half-way.
    public var writerIndex: Int { buffer.writerIndex }

    /// Drops what was written after `index`.
    public mutating func moveWriterIndex(to index: Int) {
        buffer.moveWriterIndex(to: index)
    }

    // MARK: - The same in both protocols

    /// `+OK`: a status line (CR and LF become spaces).
    public mutating func writeRESPSimpleString(_ string: String) {
        buffer.writeRESPSimpleString(string)
    }

    /// `-ERR message`.
    public mutating func writeRESPError(_ message: String) {
        buffer.writeRESPError(message)
    }

    /// `:42`.
    public mutating func writeRESPInteger(_ value: Int) {
        buffer.writeRESPInteger(value)
    }

    /// A bulk string of the bytes `string` stands for (``BinaryText``).
    public mutating func writeRESPBulkString(_ string: String) {
        buffer.writeRESPBulkString(string)
    }

    /// A bulk string of the readable bytes of `bytes`.
    public mutating func writeRESPBulkString(_ bytes: ByteBuffer) {
        buffer.writeRESPBulkString(bytes)
    }

    /// A bulk string of arbitrary bytes.
    public mutating func writeRESPBulkString<Bytes: Collection>(bytes: Bytes) where Bytes.Element == UInt8 {
        buffer.writeRESPBulkString(bytes: bytes)
    }

    /// An array header; `count` replies follow.
    public mutating func writeRESPArrayHeader(_ count: Int) {
        buffer.writeRESPArrayHeader(count)
    }

    // MARK: - RESP3 types, folded into RESP2 as Redis 7 folds them

    /// A missing value: `_` (RESP3) or the null bulk string `$-1` (RESP2).
    public mutating func writeRESPNull() {
        switch version {
        case .resp2: buffer.writeRESPNull()
        case .resp3: buffer.writeStaticString("_\r\n")
        }
    }

    /// A missing array (an aborted EXEC, a timed-out blocking call): `_` (RESP3) or `*-1` (RESP2).
    public mutating func writeRESPNullArray() {
        switch version {
        case .resp2: buffer.writeRESPNullArray()
        case .resp3: buffer.writeStaticString("_\r\n")
        }
    }

    /// A map header for `count` pairs: `%2` (RESP3) or an array of twice as many elements (RESP2); the caller then
    /// writes key, value, key, value.
    public mutating func writeRESPMapHeader(_ count: Int) {
        switch version {
        case .resp2: buffer.writeRESPHeader(UInt8(ascii: "*"), count * 2)
        case .resp3: buffer.writeRESPHeader(UInt8(ascii: "%"), count)
        }
    }

    /// A set header: `~3` (RESP3) or an array (RESP2).
    public mutating func writeRESPSetHeader(_ count: Int) {
        buffer.writeRESPHeader(version == .resp3 ? UInt8(ascii: "~") : UInt8(ascii: "*"), count)
    }

    /// A push header (out-of-band data): `>3` (RESP3) or an array (RESP2).
    public mutating func writeRESPPushHeader(_ count: Int) {
        buffer.writeRESPHeader(version == .resp3 ? UInt8(ascii: ">") : UInt8(ascii: "*"), count)
    }

    /// A double: `,3.14` (RESP3) or a bulk string of the same text (RESP2), in Redis's form: up to 17 significant
    /// digits, `inf`, `-inf` (see ``RESPDouble``).
    public mutating func writeRESPDouble(_ value: Double) {
        let text = RESPDouble.text(of: value)
        switch version {
        case .resp2:
            buffer.writeRESPBulkString(text)
        case .resp3:
            buffer.writeInteger(UInt8(ascii: ","))
            buffer.writeString(text)
            buffer.writeRESPCRLF()
        }
    }

    /// A boolean: `#t` / `#f` (RESP3) or the integer 1 / 0 (RESP2).
    public mutating func writeRESPBoolean(_ value: Bool) {
        switch version {
        case .resp2: buffer.writeRESPInteger(value ? 1 : 0)
        case .resp3: buffer.writeStaticString(value ? "#t\r\n" : "#f\r\n")
        }
    }

    /// A big number, given as its decimal digits with an optional leading `-`: `(12345...` (RESP3) or a bulk string
    /// of the digits (RESP2).
    public mutating func writeRESPBigNumber(_ digits: String) {
        switch version {
        case .resp2:
            buffer.writeRESPBulkString(digits)
        case .resp3:
            buffer.writeInteger(UInt8(ascii: "("))
            buffer.writeRESPLine(digits)
        }
    }

    /// A verbatim string (INFO, CLIENT LIST): `=<length>\r\ntxt:<text>` (RESP3) or a bulk string of the text
    /// (RESP2). `format` is three characters: `txt` or `mkd`.
    public mutating func writeRESPVerbatimString(_ text: String, format: StaticString = "txt") {
        switch version {
        case .resp2:
            buffer.writeRESPBulkString(text)
        case .resp3:
            let length = text.utf8.count + 4
            buffer.writeRESPHeader(UInt8(ascii: "="), length)
            buffer.writeStaticString(format)
            buffer.writeInteger(UInt8(ascii: ":"))
            buffer.writeString(text)
            buffer.writeRESPCRLF()
        }
    }
}

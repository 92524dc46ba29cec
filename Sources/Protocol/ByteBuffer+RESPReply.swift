import BinaryText
import NIOCore

/// Writing RESP2 replies (server side). Headers are formatted straight into the buffer, without Strings.
extension ByteBuffer {
    /// Writes a status reply: `+OK\r\n`. CR and LF in `string` become spaces so the reply stays one line.
    ///
    /// - Parameter string: The status text, e.g. `OK`.
    public mutating func writeRESPSimpleString(_ string: String) {
        writeInteger(UInt8(ascii: "+"))
        writeRESPLine(string)
    }

    /// Writes an error reply: `ERR syntax error` becomes `-ERR syntax error\r\n`.
    ///
    /// CR and LF in `message` become spaces, as Redis does, so the reply stays one line.
    ///
    /// - Parameter message: The error including its code (`ERR`, `WRONGTYPE`, `NOAUTH`, ...).
    public mutating func writeRESPError(_ message: String) {
        writeInteger(UInt8(ascii: "-"))
        writeRESPLine(message)
    }

    /// Writes an integer reply: `:42\r\n`.
    public mutating func writeRESPInteger(_ value: Int) {
        writeRESPHeader(UInt8(ascii: ":"), value)
    }

    /// Writes a bulk string reply of the bytes `string` stands for (``BinaryText``: its UTF-8 unless it holds
    /// escaped bytes): `$3\r\nabc\r\n`.
    public mutating func writeRESPBulkString(_ string: String) {
        BinaryText.withBytes(of: string) { bytes in
            writeRESPHeader(UInt8(ascii: "$"), bytes.count)
            writeBytes(bytes)
        }
        writeRESPCRLF()
    }

    /// Writes a bulk string reply of the readable bytes of `bytes`, which is not consumed.
    public mutating func writeRESPBulkString(_ bytes: ByteBuffer) {
        writeRESPHeader(UInt8(ascii: "$"), bytes.readableBytes)
        writeImmutableBuffer(bytes)
        writeRESPCRLF()
    }

    /// Writes a bulk string reply of arbitrary bytes.
    public mutating func writeRESPBulkString<Bytes: Collection>(bytes: Bytes) where Bytes.Element == UInt8 {
        writeRESPHeader(UInt8(ascii: "$"), bytes.count)
        writeBytes(bytes)
        writeRESPCRLF()
    }

    /// Writes the null bulk string: `$-1\r\n`.
    public mutating func writeRESPNull() {
        writeStaticString("$-1\r\n")
    }

    /// Writes the null array: `*-1\r\n`.
    public mutating func writeRESPNullArray() {
        writeStaticString("*-1\r\n")
    }

    /// Writes an array header, `*3\r\n`; the caller then writes `count` replies.
    public mutating func writeRESPArrayHeader(_ count: Int) {
        writeRESPHeader(UInt8(ascii: "*"), count)
    }

    /// Writes any reply value, recursively.
    public mutating func writeRESPValue(_ value: RESPValue) {
        switch value {
        case .simpleString(let string):
            writeRESPSimpleString(string)
        case .error(let message):
            writeRESPError(message)
        case .integer(let integer):
            writeRESPHeader(UInt8(ascii: ":"), Int(integer))
        case .bulkString(let bytes?):
            writeRESPBulkString(bytes: bytes)
        case .bulkString(nil):
            writeRESPNull()
        case .array(let elements?):
            writeRESPArrayHeader(elements.count)
            for element in elements { writeRESPValue(element) }
        case .array(nil):
            writeRESPNullArray()
        }
    }
}

// MARK: - Building blocks

extension ByteBuffer {
    /// Writes `prefix`, the decimal `value`, and CRLF in one reservation.

    mutating func writeRESPHeader(_ prefix: UInt8, _ value: Int) {
        writeWithUnsafeMutableBytes(minimumWritableBytes: 23) { pointer in
            var magnitude = value.magnitude
            var digits = 1
            var rest = magnitude / 10
            while rest != 0 {
                digits += 1
                rest /= 10
            }
            let sign = value < 0 ? 1 : 0
            pointer[0] = prefix
            if sign == 1 { pointer[1] = UInt8(ascii: "-") }
            var index = sign + digits
            repeat {
                pointer[index] = UInt8(truncatingIfNeeded: magnitude % 10) &+ UInt8(ascii: "0")
                magnitude /= 10
                index -= 1
            } while magnitude != 0
            let end = 1 + sign + digits
            pointer[end] = UInt8(ascii: "\r")
            pointer[end + 1] = UInt8(ascii: "\n")
            return end + 2
        }
    }

    mutating func writeRESPCRLF() {
        writeInteger(UInt16(0x0D0A), endianness: .big)
    }

    /// Writes `string` then CRLF, with any CR or LF inside it written as a space.
    mutating func writeRESPLine(_ string: String) {
        let utf8 = string.utf8
        if utf8.contains(where: { $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") }) {
            writeBytes(utf8.lazy.map { $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") ? UInt8(ascii: " ") : $0 })
        } else {
            writeString(string)
        }
        writeRESPCRLF()
    }
}

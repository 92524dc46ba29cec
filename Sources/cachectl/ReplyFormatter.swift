import BinaryText
import CacheProtocol

/// Turns replies into text the way people and programs expect: redis-cli's terminal format, or JSON.
enum ReplyFormatter {
    /// The reply as `redis-cli` prints it on a terminal, without the final newline.
    ///
    /// `OK` for a simple string, `(error) ERR ...`, `(integer) 1`, `"text"` with C-style escapes, `(nil)`,
    /// `(empty array)`, and numbered array items (`1) ...`), nested items indented under their parent's number.
    static func redisCLI(_ reply: RESPValue) -> String {
        var out = ""
        format(reply, prefix: "", into: &out)
        return out
    }

    /// The reply as JSON: strings for simple and bulk strings (bytes that are not UTF-8 as `{"base64": ...}`, see
    /// `JSONValue.writeString`), numbers for integers, `null` for nil, arrays for arrays, and
    /// `{"error": "message"}` for an error reply.
    static func json(_ reply: RESPValue) -> JSONValue {
        switch reply {
        case .simpleString(let text):
            return .string(text)
        case .error(let message):
            return .object([("error", .string(message))])
        case .integer(let value):
            return .integer(value)
        case .bulkString(let bytes):
            return bytes.map { .string(BinaryText.string(from: $0)) } ?? .null
        case .array(let elements):
            return elements.map { .array($0.map(json)) } ?? .null
        }
    }

    /// `bytes` in double quotes as redis-cli shows a bulk string: `\\`, `\"`, `\n`, `\r`, `\t`, `\a`, `\b`, printable
    /// ASCII as is, every other byte as `\xhh`.
    static func quoted(_ bytes: [UInt8]) -> String {
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = [UInt8(ascii: "\"")]
        out.reserveCapacity(bytes.count + 2)
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\\"):
                out += Array(#"\\"#.utf8)
            case UInt8(ascii: "\""):
                out += Array(#"\""#.utf8)
            case 0x0A:
                out += Array(#"\n"#.utf8)
            case 0x0D:
                out += Array(#"\r"#.utf8)
            case 0x09:
                out += Array(#"\t"#.utf8)
            case 0x07:
                out += Array(#"\a"#.utf8)
            case 0x08:
                out += Array(#"\b"#.utf8)
            case 0x20...0x7E:
                out.append(byte)
            default:
                out += [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        out.append(UInt8(ascii: "\""))
        return String(decoding: out, as: UTF8.self)
    }

    private static func format(_ reply: RESPValue, prefix: String, into out: inout String) {
        switch reply {
        case .simpleString(let text):
            out += text
        case .error(let message):
            out += "(error) " + message
        case .integer(let value):
            out += "(integer) \(value)"
        case .bulkString(nil), .array(nil):
            out += "(nil)"
        case .bulkString(let bytes?):
            out += quoted(bytes)
        case .array(let elements?):
            guard !elements.isEmpty else {
                out += "(empty array)"
                return
            }
            let width = String(elements.count).count
            let childPrefix = prefix + String(repeating: " ", count: width + 2)
            for (index, element) in elements.enumerated() {
                if index > 0 {
                    out += "\n" + prefix
                }
                let number = String(index + 1)
                out += String(repeating: " ", count: width - number.count) + number + ") "
                format(element, prefix: childPrefix, into: &out)
            }
        }
    }
}

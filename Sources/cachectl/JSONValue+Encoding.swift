import BinaryText

extension JSONValue {
    /// The value as compact JSON text on one line (no spaces), UTF-8 left unescaped.
    var jsonText: String {
        var out: [UInt8] = []
        write(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the compact JSON text of the value to `out`.
    func write(into out: inout [UInt8]) {
        switch self {
        case .null:
            out.append(contentsOf: "null".utf8)
        case .bool(let value):
            out.append(contentsOf: (value ? "true" : "false").utf8)
        case .number(let text):
            out.append(contentsOf: text.utf8)
        case .string(let text):
            Self.writeValueString(text, into: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 {
                    out.append(UInt8(ascii: ","))
                }
                element.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, (name, value)) in members.enumerated() {
                if index > 0 {
                    out.append(UInt8(ascii: ","))
                }
                Self.writeString(name, into: &out)
                out.append(UInt8(ascii: ":"))
                value.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Appends a string value. A value whose bytes (``BinaryText``) are UTF-8 is a JSON string; one whose bytes are
    /// not (a binary value) cannot be one, and is written `{"base64": "..."}`, which `warm` reads back.
    static func writeValueString(_ text: String, into out: inout [UInt8]) {
        let bytes = BinaryText.bytes(of: text)
        if let utf8 = String(validating: bytes, as: UTF8.self) {
            writeString(utf8, into: &out)
        } else {
            out.append(contentsOf: #"{"base64":"#.utf8)
            writeString(Base64.encode(bytes), into: &out)
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Appends `text` as a JSON string: `"` and `\` escaped, control characters as `\n`-style or `\u00XX`.
    static func writeString(_ text: String, into out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""):
                out.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"):
                out.append(contentsOf: "\\\\".utf8)
            case 0x0A:
                out.append(contentsOf: "\\n".utf8)
            case 0x0D:
                out.append(contentsOf: "\\r".utf8)
            case 0x09:
                out.append(contentsOf: "\\t".utf8)
            case 0x08:
                out.append(contentsOf: "\\b".utf8)
            case 0x0C:
                out.append(contentsOf: "\\f".utf8)
            case 0x00..<0x20, 0x7F:
                out.append(contentsOf: "\\u00".utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            default:
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

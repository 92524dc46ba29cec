import Foundation

/// How the disk tiers and files keep an entry's custom fields: a JSON array of `[name, value]` pairs in insertion
/// order (`[["country","de"],["protocol","http"]]`), which keeps the order and byte-distinct names a JSON object
/// would not. SQLite keeps it in the `custom_fields` TEXT column; JSONL lines under the `custom_fields` key. An entry
/// without custom fields has none of it (NULL, or no key), so older readers and files see no difference.
enum CustomFieldsCodec {
    /// The JSON text of `fields`; nil when there are none.
    static func encode(_ fields: [CustomField]) -> String? {
        guard !fields.isEmpty else { return nil }
        var output: [UInt8] = [UInt8(ascii: "[")]
        for (index, field) in fields.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            output.append(UInt8(ascii: "["))
            appendJSONString(field.name, to: &output)
            output.append(UInt8(ascii: ","))
            appendJSONString(field.value, to: &output)
            output.append(UInt8(ascii: "]"))
        }
        output.append(UInt8(ascii: "]"))
        return String(decoding: output, as: UTF8.self)
    }

    /// The fields of `text`; nil when it is not an array of two-string arrays (a damaged cell or line).
    static func decode(_ text: String) -> [CustomField]? {
        guard let pairs = try? JSONDecoder().decode([[String]].self, from: Data(text.utf8)) else { return nil }
        return fields(of: pairs)
    }

    /// The fields of decoded pairs; nil when one is not a pair.
    static func fields(of pairs: [[String]]) -> [CustomField]? {
        var fields: [CustomField] = []
        fields.reserveCapacity(pairs.count)
        for pair in pairs {
            guard pair.count == 2 else { return nil }
            fields.append(CustomField(name: pair[0], value: pair[1]))
        }
        return fields
    }

    /// Appends `value` as a JSON string: quotes, backslashes and control characters escaped, the rest as UTF-8.
    static func appendJSONString(_ value: String, to output: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        output.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): output += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case UInt8(ascii: "\n"): output += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case UInt8(ascii: "\r"): output += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case UInt8(ascii: "\t"): output += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                output += Array("\\u00".utf8)
                output += [hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}

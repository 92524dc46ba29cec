import EntrySchema
import Foundation

/// Reads and writes shard lines: one JSON object per entry with every field under proxywhirl's
/// names, times as ISO-8601 text with an offset, credentials as hex of the Fernet token's bytes.
/// A proxy URL with a password is written masked, followed by `proxy_url_encrypted` (hex of the whole
/// URL's token); the field is left out otherwise, so lines without a password are proxywhirl's.
///
/// Writing is done by hand (`EntryField.all`'s order, `"expires_at": null` for an entry that never
/// expires); reading uses `JSONDecoder` and accepts proxywhirl's lines (times as text or numbers,
/// health fields absent). A line that is not such an object decodes to `nil` (a corrupt line).
/// Custom fields follow the schema fields as `"custom_fields": [["name", "value"], ...]` in insertion order, only
/// when the entry has some: lines without them are as before.
enum JSONLEntryCodec {
    /// Appends `record` as one line, newline included, to `output`.
    static func encode(_ record: JSONLRecord, into output: inout [UInt8]) {
        let entry = record.entry
        // Move the buffer into the writer and back: a copy would make every append copy all earlier lines.
        var writer = JSONObjectWriter(taking: &output)
        writer.field(EntryColumn.key, string: entry.key)
        for field in EntryField.all {
            switch entry[field] {
            case .text where field.isCredential:
                writer.field(field.columnName, string: record.token(of: field).map { Hex.encode($0.utf8) })
            case .text(let text): writer.field(field.columnName, string: text)
            case .status(let status): writer.field(field.columnName, string: status.rawValue)
            case .integer(let number): writer.field(field.columnName, int: number)
            case .time(let time): writer.field(field.columnName, string: time.map(ISO8601Time.format))
            case .flag(let flag): writer.field(field.columnName, bool: flag)
            }
            if field == .proxyURL, let token = record.proxyURLToken {
                writer.field(EntryColumn.sealedProxyURL, string: Hex.encode(token.utf8))
            }
        }
        if !entry.customFields.isEmpty {
            writer.field(EntryColumn.customFields, pairs: entry.customFields.map { ($0.name, $0.value) })
        }
        output = writer.finish()
        output.append(UInt8(ascii: "\n"))
    }

    /// One encoded line (newline included).
    static func encode(_ record: JSONLRecord) -> [UInt8] {
        var output = [UInt8]()
        encode(record, into: &output)
        return output
    }

    /// Decodes one line (without its newline); `nil` when the line is corrupt.
    static func decode(_ line: some Collection<UInt8>) -> JSONLRecord? {
        guard let decoded = try? JSONDecoder().decode(JSONLLine.self, from: Data(line)) else { return nil }
        return decoded.record
    }
}

/// Writes one flat JSON object.
private struct JSONObjectWriter {
    var output: [UInt8]
    private var first = true

    /// Takes over `output` (left empty) without copying it.
    init(taking output: inout [UInt8]) {
        self.output = []
        swap(&self.output, &output)
        self.output.append(UInt8(ascii: "{"))
    }

    mutating func field(_ name: String, string value: String?) {
        appendName(name)
        if let value {
            appendString(value)
        } else {
            output += Array("null".utf8)
        }
    }

    mutating func field(_ name: String, int value: Int) {
        appendName(name)
        output += Array(String(value).utf8)
    }

    mutating func field(_ name: String, bool value: Bool) {
        appendName(name)
        output += Array((value ? "true" : "false").utf8)
    }

    /// A member holding an array of `[name, value]` string pairs.
    mutating func field(_ name: String, pairs: [(String, String)]) {
        appendName(name)
        output.append(UInt8(ascii: "["))
        for (index, (first, second)) in pairs.enumerated() {
            output += index == 0 ? [UInt8(ascii: "[")] : [UInt8(ascii: ","), UInt8(ascii: " "), UInt8(ascii: "[")]
            appendString(first)
            output += [UInt8(ascii: ","), UInt8(ascii: " ")]
            appendString(second)
            output.append(UInt8(ascii: "]"))
        }
        output.append(UInt8(ascii: "]"))
    }

    mutating func finish() -> [UInt8] {
        output.append(UInt8(ascii: "}"))
        return output
    }

    private mutating func appendName(_ name: String) {
        if !first {
            output += [UInt8(ascii: ","), UInt8(ascii: " ")]
        }
        first = false
        appendString(name)
        output += [UInt8(ascii: ":"), UInt8(ascii: " ")]
    }

    private mutating func appendString(_ value: String) {
        CustomFieldsCodec.appendJSONString(value, to: &output)
    }
}

/// One reply exactly as it came off the wire, split into its RESP2/RESP3 parts, for the parity test.
///
/// It is parsed here rather than by the project's own reply parser so that the differential test does not judge the
/// server with the server's own code, and so that RESP3 types (maps, sets, doubles) stay distinct.
struct RawReply: Equatable {
    /// The RESP type byte: `+ - : $ * _ # , ( = ! % ~ > |`.
    var type: UInt8
    /// The header line (simple types, and the length of bulk strings and aggregates).
    var line: [UInt8]
    /// The content of a bulk, verbatim or blob-error string; `nil` for other types and for the null bulk string.
    var content: [UInt8]?
    /// The elements of an aggregate, in order; a map's keys and values alternate; an attribute ends with its value.
    var elements: [RawReply]

    /// Parses one complete reply.
    ///
    /// - Parameter bytes: Exactly one reply, as ``RawClient/readRawReply()`` returns it.
    /// - Returns: The reply, or `nil` when the bytes are not one well-formed reply.
    static func parse(_ bytes: [UInt8]) -> RawReply? {
        var index = 0
        guard let reply = parse(bytes, at: &index), index == bytes.count else { return nil }
        return reply
    }

    private static func parse(_ bytes: [UInt8], at index: inout Int) -> RawReply? {
        guard index < bytes.count else { return nil }
        let type = bytes[index]
        var end = index + 1
        while end + 1 < bytes.count && !(bytes[end] == 13 && bytes[end + 1] == 10) { end += 1 }
        guard end + 1 < bytes.count else { return nil }
        let line = Array(bytes[(index + 1)..<end])
        index = end + 2
        let count = Int(String(decoding: line, as: UTF8.self))
        var reply = RawReply(type: type, line: line, content: nil, elements: [])
        switch UnicodeScalar(type) {
        case "$", "=", "!":
            guard let length = count else { return nil }
            if length < 0 { return reply }
            guard index + length + 2 <= bytes.count else { return nil }
            reply.content = Array(bytes[index..<(index + length)])
            index += length + 2
        case "*", "~", ">", "%", "|":
            guard var elements = count else { return nil }
            if type == UInt8(ascii: "%") || type == UInt8(ascii: "|") { elements *= 2 }
            if type == UInt8(ascii: "|") { elements += 1 }
            for _ in 0..<max(elements, 0) {
                guard let element = parse(bytes, at: &index) else { return nil }
                reply.elements.append(element)
            }
        default:
            break
        }
        return reply
    }

    /// Whether `other` has the same type and structure: every aggregate of the same kind and size, every bulk string
    /// null or not alike; the text of scalars is not compared.
    func hasSameShape(as other: RawReply) -> Bool {
        guard type == other.type, (content == nil) == (other.content == nil),
            elements.count == other.elements.count
        else { return false }
        if isAggregate && line != other.line { return false }
        return zip(elements, other.elements).allSatisfy { $0.hasSameShape(as: $1) }
    }

    /// The reply's bytes with the elements of every aggregate in sorted order (a map's pairs kept together), so that
    /// two replies listing the same things in different orders compare equal.
    var sortedBytes: [UInt8] {
        var out = [type] + line + [13, 10]
        if let content { out += content + [13, 10] }
        var units: [[UInt8]]
        if type == UInt8(ascii: "%") {
            units = stride(from: 0, to: elements.count - 1, by: 2).map {
                elements[$0].sortedBytes + elements[$0 + 1].sortedBytes
            }
        } else {
            units = elements.map(\.sortedBytes)
        }
        if type != UInt8(ascii: "|") { units.sort { $0.lexicographicallyPrecedes($1) } }
        for unit in units { out += unit }
        return out
    }

    private var isAggregate: Bool { "*~>%|".utf8.contains(type) }
}

extension Array where Element == UInt8 {
    /// The bytes as one readable line: printable ASCII as is, `\r` `\n` `\t` `\\` `\"` escaped, other bytes as
    /// `\xHH`; cut after `limit` characters.
    func escapedForReport(limit: Int = 400) -> String {
        var text = "\""
        for byte in self {
            switch byte {
            case 13: text += "\\r"
            case 10: text += "\\n"
            case 9: text += "\\t"
            case UInt8(ascii: "\\"): text += "\\\\"
            case UInt8(ascii: "\""): text += "\\\""
            case 0x20..<0x7f: text.unicodeScalars.append(UnicodeScalar(byte))
            default:
                let hex = String(byte, radix: 16)
                text += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
            if text.count > limit { return text + "...\" (\(count) bytes)" }
        }
        return text + "\""
    }
}

/// Decodes a reply that ``RESPReplyParser`` has already checked to be complete and well formed, and holds the
/// line and number helpers that the check uses.
struct RESPReplyReader {
    let raw: UnsafeRawBufferPointer
    /// Offset of the next byte to decode.
    var position = 0

    init(raw: UnsafeRawBufferPointer) {
        self.raw = raw
    }

    /// Decodes the value at `position` and moves past it. Only call on checked bytes.
    mutating func value() -> RESPValue {
        let type = raw[position]
        // A checked reply has its CRLF: the search cannot fail.
        let line = Self.endOfLine(raw, from: position + 1)
        position = line.upperBound + 2
        switch type {
        case UInt8(ascii: "+"):
            return .simpleString(string(line))
        case UInt8(ascii: "-"):
            return .error(string(line))
        case UInt8(ascii: ":"):
            return .integer(Self.integer(raw, line) ?? 0)
        case UInt8(ascii: "_"):
            return .bulkString(nil)
        case UInt8(ascii: "#"):
            return .integer(raw[line.lowerBound] == UInt8(ascii: "t") ? 1 : 0)
        case UInt8(ascii: ","), UInt8(ascii: "("):
            return .bulkString(bytes(line))
        case UInt8(ascii: "$"), UInt8(ascii: "="), UInt8(ascii: "!"):
            let length = Int(Self.integer(raw, line) ?? -1)
            if length < 0 { return .bulkString(nil) }
            var payload = position..<(position + length)
            position += length + 2
            if type == UInt8(ascii: "!") { return .error(string(payload)) }
            // A verbatim string starts with its three-letter format and a colon: "txt:".
            if type == UInt8(ascii: "="), length >= 4, raw[payload.lowerBound + 3] == UInt8(ascii: ":") {
                payload = (payload.lowerBound + 4)..<payload.upperBound
            }
            return .bulkString(bytes(payload))
        case UInt8(ascii: "|"):
            let count = Int(Self.integer(raw, line) ?? 0)
            for _ in 0..<(2 * count) { _ = value() }
            return value()
        default:
            // Arrays, sets, pushes and maps.
            let count = Int(Self.integer(raw, line) ?? -1)
            if count < 0 { return .array(nil) }
            let elements = type == UInt8(ascii: "%") ? 2 * count : count
            var array: [RESPValue] = []
            array.reserveCapacity(elements)
            for _ in 0..<elements { array.append(value()) }
            return .array(array)
        }
    }

    private func string(_ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: raw[range]), as: UTF8.self)
    }

    private func bytes(_ range: Range<Int>) -> [UInt8] {
        Array(UnsafeRawBufferPointer(rebasing: raw[range]))
    }
}

// MARK: - Lines and numbers

extension RESPReplyReader {
    /// The content of the line starting at `start`, which must end in CRLF.
    ///
    /// - Returns: The content's range (the CRLF follows it), or `nil` when the line is not complete yet.
    /// - Throws: When a CR is not followed by LF, or the line is longer than `maxLength`.
    static func line(
        _ raw: UnsafeRawBufferPointer,
        from start: Int,
        maxLength: Int
    ) throws(RESPProtocolError) -> Range<Int>? {
        let line = endOfLine(raw, from: start)
        if line.upperBound - start > maxLength { throw .tooBigReplyLine }
        guard line.upperBound + 1 < raw.count else { return nil }
        guard raw[line.upperBound + 1] == UInt8(ascii: "\n") else { throw .invalidReplyLine }
        return line
    }

    /// `start..<r` where `r` is the offset of the first CR at or after `start`, or the end of the bytes.
    static func endOfLine(_ raw: UnsafeRawBufferPointer, from start: Int) -> Range<Int> {
        var index = start
        while index < raw.count && raw[index] != UInt8(ascii: "\r") { index += 1 }
        return start..<index
    }

    /// A reply integer: optional sign, then 1 to 19 digits, fitting in 64 bits.
    static func integer(_ raw: UnsafeRawBufferPointer, _ line: Range<Int>) -> Int64? {
        var index = line.lowerBound
        guard index < line.upperBound else { return nil }
        let negative = raw[index] == UInt8(ascii: "-")
        if negative || raw[index] == UInt8(ascii: "+") { index += 1 }
        guard index < line.upperBound, line.upperBound - index <= 19 else { return nil }
        var magnitude: UInt64 = 0
        while index < line.upperBound {
            let digit = raw[index] &- UInt8(ascii: "0")
            guard digit <= 9 else { return nil }
            magnitude = magnitude * 10 + UInt64(digit)
            index += 1
        }
        if negative {
            return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil
        }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    /// A bulk length or element count: -1 (if `allowsNull`) or 0 through `Int32.max`.
    static func length(
        _ raw: UnsafeRawBufferPointer,
        _ line: Range<Int>,
        allowsNull: Bool
    ) throws(RESPProtocolError) -> Int {
        guard let value = integer(raw, line), value >= (allowsNull ? -1 : 0), value <= Int64(Int32.max) else {
            let aggregate = line.lowerBound > 0 && !"$=!".utf8.contains(raw[line.lowerBound - 1])
            throw aggregate ? .invalidMultibulkLength : .invalidBulkLength
        }
        return Int(value)
    }
}

/// Multibulk requests: `*<count>\r\n` then `count` times `$<length>\r\n<payload>\r\n`.
extension RESPRequestParser {
    mutating func stepMultibulk(_ raw: UnsafeRawBufferPointer) throws(RESPProtocolError) -> Step {
        if phase == .multibulkCount {
            let (position, found) = Self.scan(raw, from: searchedTo, for: UInt8(ascii: "\r"))
            guard found else {
                searchedTo = position
                if raw.count > limits.maxInlineLength { throw .tooBigMultibulkCount }
                return .needMore
            }
            // Bytes arriving one at a time would have hit the limit before the terminator came.
            if position > limits.maxInlineLength { throw .tooBigMultibulkCount }
            // Redis wants the byte after '\r' buffered too, but never looks at it.
            if position > raw.count - 2 {
                searchedTo = position
                return .needMore
            }
            guard let count = RedisInteger.parse(raw, from: 1, to: position),
                count <= Int64(limits.maxMultibulkLength)
            else { throw .invalidMultibulkLength }
            if authenticationRequired && count > 10 { throw .unauthenticatedMultibulkLength }
            cursor = position + 2
            if count <= 0 { return .skip(consumed: cursor) }
            remaining = Int(count)
            searchedTo = cursor
            bulkLength = -1
            ranges.reserveCapacity(2 * min(remaining, 1024))
            phase = .multibulkArguments
        }
        while remaining > 0 {
            if bulkLength < 0 {
                try readBulkHeader(raw)
                if bulkLength < 0 { return .needMore }
            }
            // The payload and the two bytes after it (Redis skips them without checking they are CRLF).
            if raw.count - cursor - 2 < bulkLength { return .needMore }
            ranges.append(cursor)
            ranges.append(bulkLength)
            cursor += bulkLength + 2
            searchedTo = cursor
            bulkLength = -1
            remaining -= 1
        }
        return .multibulk(consumed: cursor)
    }

    /// Reads the `$<length>` line at `cursor` into `bulkLength`, or leaves it at -1 when the line is incomplete.
    private mutating func readBulkHeader(_ raw: UnsafeRawBufferPointer) throws(RESPProtocolError) {
        let (position, found) = Self.scan(raw, from: searchedTo, for: UInt8(ascii: "\r"))
        guard found else {
            searchedTo = position
            if raw.count - cursor > limits.maxInlineLength { throw .tooBigBulkCount }
            return
        }
        if position - cursor > limits.maxInlineLength { throw .tooBigBulkCount }
        if position > raw.count - 2 {
            searchedTo = position
            return
        }
        let first = raw[cursor]
        if first != UInt8(ascii: "$") { throw .expectedDollar(got: first) }
        guard let length = RedisInteger.parse(raw, from: cursor + 1, to: position),
            length >= 0, length <= Int64(limits.maxBulkLength)
        else { throw .invalidBulkLength }
        if authenticationRequired && length > 16384 { throw .unauthenticatedBulkLength }
        cursor = position + 2
        bulkLength = Int(length)
    }
}

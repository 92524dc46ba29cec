import NIOCore

/// Client-side incremental reply parser: RESP2, plus RESP3's types so that a reply to `HELLO 3` cannot wedge it.
///
/// Untrusted input is bounded: aggregates nest at most ``maximumDepth`` deep, bulk lengths and line lengths are
/// checked before anything is read, and nothing is reserved for an aggregate until all its elements have arrived.
/// Parsing is resumable: while a reply is incomplete nothing is consumed and the parser remembers the elements it
/// has already checked, so the next call must see the same bytes with more appended (use ``reset()`` before
/// switching to another buffer). A reply is decoded in one pass once it is complete, so a large reply arriving in
/// many pieces costs linear time.
public struct RESPReplyParser: Sendable {
    /// The deepest nesting of arrays, maps, sets and pushes accepted.
    public static let maximumDepth = 32

    /// The longest bulk string accepted.
    public var maxBulkLength: Int
    /// The longest simple-string, error or number line accepted.
    public var maxLineLength: Int

    /// The first bytes of the RESP2 and RESP3 types.
    private static let types: Set<UInt8> = Set("+-:$*_#,(=!%~>|".utf8)

    /// Offset from the reader index of the first element not yet checked.
    private var offset = 0
    /// For each open aggregate, how many elements it still needs.
    private var pending: [Int] = []

    /// Creates a parser.
    ///
    /// - Parameters:
    ///   - maxBulkLength: The longest bulk string accepted.
    ///   - maxLineLength: The longest line (simple string, error, number) accepted.
    public init(maxBulkLength: Int = 512 * 1024 * 1024, maxLineLength: Int = 1024 * 1024) {
        self.maxBulkLength = maxBulkLength
        self.maxLineLength = maxLineLength
    }

    /// Consumes one complete reply from the front of `buffer`.
    ///
    /// - Parameter buffer: The bytes received; the reply's bytes are consumed when it is returned.
    /// - Returns: The reply, or `nil` when more bytes are needed.
    /// - Throws: ``RESPProtocolError`` on malformed or out-of-bounds input.
    public mutating func next(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> RESPValue? {
        if buffer.readableBytes < offset { reset() }
        let result: (RESPValue, Int)?
        do {
            result = try buffer.withUnsafeReadableBytes { (raw) throws(RESPProtocolError) -> (RESPValue, Int)? in
                guard try self.check(raw) else { return nil }
                var reader = RESPReplyReader(raw: raw)
                return (reader.value(), reader.position)
            }
        } catch {
            reset()
            throw error
        }
        guard let (value, consumed) = result else { return nil }
        buffer.moveReaderIndex(forwardBy: consumed)
        reset()
        return value
    }

    /// Forgets a partly checked reply.
    public mutating func reset() {
        offset = 0
        pending.removeAll(keepingCapacity: true)
    }

    /// Checks elements from `offset` on until the reply is complete (`true`, with `offset` at its end) or the bytes
    /// run out (`false`).
    private mutating func check(_ raw: UnsafeRawBufferPointer) throws(RESPProtocolError) -> Bool {
        while true {
            guard offset < raw.count else { return false }
            let type = raw[offset]
            guard Self.types.contains(type) else { throw .unexpectedReplyType(type) }
            guard let line = try RESPReplyReader.line(raw, from: offset + 1, maxLength: maxLineLength) else {
                return false
            }
            var next = line.upperBound + 2
            var opens = 0
            switch type {
            case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ","), UInt8(ascii: "("):
                break
            case UInt8(ascii: ":"):
                guard RESPReplyReader.integer(raw, line) != nil else { throw .invalidInteger }
            case UInt8(ascii: "_"):
                guard line.isEmpty else { throw .invalidNull }
            case UInt8(ascii: "#"):
                guard line.count == 1,
                    raw[line.lowerBound] == UInt8(ascii: "t") || raw[line.lowerBound] == UInt8(ascii: "f")
                else { throw .invalidBoolean }
            case UInt8(ascii: "$"), UInt8(ascii: "="), UInt8(ascii: "!"):
                let length = try RESPReplyReader.length(raw, line, allowsNull: type == UInt8(ascii: "$"))
                if length >= 0 {
                    guard length <= maxBulkLength else { throw .invalidBulkLength }
                    if raw.count - next - 2 < length { return false }
                    next += length
                    guard raw[next] == UInt8(ascii: "\r"), raw[next + 1] == UInt8(ascii: "\n") else {
                        throw .bulkNotTerminated
                    }
                    next += 2
                }
            case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"):
                opens = try RESPReplyReader.length(raw, line, allowsNull: type == UInt8(ascii: "*"))
            case UInt8(ascii: "%"):
                opens = try RESPReplyReader.length(raw, line, allowsNull: false) * 2
            case UInt8(ascii: "|"):
                // The attribute's pairs, then the value they describe: together one element of the parent.
                opens = try RESPReplyReader.length(raw, line, allowsNull: false) * 2 + 1
            default:
                throw .unexpectedReplyType(type)
            }
            offset = next
            if opens > 0 {
                guard pending.count < Self.maximumDepth else { throw .replyNestingTooDeep }
                pending.append(opens)
                continue
            }
            // One element is complete: close every aggregate it completes.
            while let last = pending.last {
                if last > 1 {
                    pending[pending.count - 1] = last - 1
                    break
                }
                pending.removeLast()
            }
            if pending.isEmpty { return true }
        }
    }
}

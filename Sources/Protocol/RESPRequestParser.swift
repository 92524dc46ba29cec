import NIOCore

/// Server-side incremental request parser with the semantics of Redis 7's `processInlineBuffer` and
/// `processMultibulkBuffer`.
///
/// Feed it the connection's buffer each time bytes arrive: ``next(_:)`` returns one request and consumes its bytes,
/// or returns `nil` and consumes nothing while a request is incomplete. In the second case it remembers how far it
/// has looked, so the next call must see the same bytes again with more appended (compacting the buffer with
/// `discardReadBytes()` is fine; the offsets are relative to the reader index).
///
/// Where Redis's outcome depends on how the kernel chunked the input (a line is only "too big" if at least
/// `maxInlineLength + 1` bytes were buffered without its terminator), this parser decides as Redis would with the
/// bytes arriving one at a time, so the result never depends on the split. Like Redis, a NUL byte hides any later
/// line terminator (Redis scans with `strchr`): such a line only ends in a "too big" error.
public struct RESPRequestParser: Sendable {
    /// Bounds on what a client may send; Redis's defaults except `maxMultibulkLength` (Redis allows `INT_MAX`).
    public struct Limits: Sendable, Equatable {
        /// The longest inline request, or `*`/`$` count line, without its terminator ("too big inline request").
        public var maxInlineLength: Int = 64 * 1024
        /// The longest argument of a multibulk request (Redis's `proto-max-bulk-len`).
        public var maxBulkLength: Int = 512 * 1024 * 1024
        /// The most arguments in one multibulk request.
        public var maxMultibulkLength: Int = 1024 * 1024

        /// Creates the default limits.
        public init() {}
    }

    /// What the parser is in the middle of.
    enum Phase: Sendable {
        /// Between requests.
        case idle
        /// Looking for the end of an inline line.
        case inline
        /// Looking for the end of the `*<count>` line.
        case multibulkCount
        /// Reading the `$<length>` lines and bulk payloads of a multibulk request.
        case multibulkArguments
    }

    /// What one look at the buffered bytes found.
    enum Step {
        case needMore
        /// A blank inline line or a `*0`/negative count: drop this many bytes and go on.
        case skip(consumed: Int)
        /// A complete multibulk request; its argument ranges are in `ranges`.
        case multibulk(consumed: Int)
        case inline(consumed: Int, tokens: [InlineToken])
    }

    /// The limits in force; they may be changed between requests.
    public var limits: Limits
    /// Redis 7's tighter limits for a connection that must still authenticate: at most 10 arguments and 16 KiB per
    /// argument ("unauthenticated multibulk length" / "unauthenticated bulk length"). Off by default.
    public var authenticationRequired = false

    var phase = Phase.idle
    /// Offset from the request's first byte where the next argument's `$` line starts.
    var cursor = 0
    /// Offset from the request's first byte up to which the current line's terminator was searched for in vain.
    var searchedTo = 0
    /// Arguments still to read in the current multibulk request.
    var remaining = 0
    /// The announced length of the bulk being read, or -1 before its `$` line.
    var bulkLength = -1
    /// The multibulk request's arguments so far, as (offset, length) pairs; reused between requests.
    var ranges: [Int] = []

    /// Creates a parser.
    ///
    /// - Parameter limits: The bounds on requests.
    public init(limits: Limits = .init()) {
        self.limits = limits
    }

    /// Consumes one request from the front of `buffer`.
    ///
    /// Blank inline lines and multibulk requests announcing `*0` or a negative count are consumed without being
    /// returned, as Redis skips them.
    ///
    /// - Parameter buffer: The connection's received bytes; the request's bytes are consumed when it is returned.
    /// - Returns: The next request, or `nil` when more bytes are needed (nothing is consumed then except skipped
    ///   blank requests).
    /// - Throws: ``RESPProtocolError`` on malformed input; the caller should reply `-ERR <message>` and close.
    public mutating func next(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> RESPRequest? {
        while true {
            let step: Step
            do {
                step = try buffer.withUnsafeReadableBytes { (raw) throws(RESPProtocolError) -> Step in
                    try self.step(raw)
                }
            } catch {
                reset()
                throw error
            }
            switch step {
            case .needMore:
                return nil
            case .skip(let consumed):
                buffer.moveReaderIndex(forwardBy: consumed)
                reset()
            case .multibulk(let consumed):
                let request = makeMultibulkRequest(from: buffer)
                buffer.moveReaderIndex(forwardBy: consumed)
                reset()
                return request
            case .inline(let consumed, let tokens):
                let request = Self.makeInlineRequest(tokens, from: buffer)
                buffer.moveReaderIndex(forwardBy: consumed)
                reset()
                return request
            }
        }
    }

    /// Forgets a partly parsed request, e.g. before parsing a different buffer.
    public mutating func reset() {
        phase = .idle
        cursor = 0
        searchedTo = 0
        remaining = 0
        bulkLength = -1
        ranges.removeAll(keepingCapacity: ranges.capacity <= 4096)
    }

    private mutating func step(_ raw: UnsafeRawBufferPointer) throws(RESPProtocolError) -> Step {
        if phase != .idle, raw.count < searchedTo || raw.count < cursor {
            // Not the bytes we saw last time: start over rather than read out of bounds.
            reset()
        }
        if phase == .idle {
            guard let first = raw.first else { return .needMore }
            phase = first == UInt8(ascii: "*") ? .multibulkCount : .inline
        }
        if phase == .inline {
            return try stepInline(raw)
        }
        return try stepMultibulk(raw)
    }

    private func makeMultibulkRequest(from buffer: ByteBuffer) -> RESPRequest {
        var arguments: [ByteBuffer] = []
        arguments.reserveCapacity(ranges.count / 2)
        let base = buffer.readerIndex
        var index = 0
        while index < ranges.count {
            arguments.append(buffer.getSlice(at: base + ranges[index], length: ranges[index + 1])!)
            index += 2
        }
        return RESPRequest(arguments: arguments, isInline: false)
    }
}

// MARK: - Scanning helpers shared by both request kinds

extension RESPRequestParser {
    /// Finds `terminator` at or after `start` the way Redis's `strchr` does: a NUL byte ends the search.
    ///
    /// - Returns: The terminator's offset and `true`, or the offset where the search stopped (the end, or the NUL,
    ///   so searching again from there is instant) and `false`.
    @inline(__always)
    static func scan(_ raw: UnsafeRawBufferPointer, from start: Int, for terminator: UInt8) -> (Int, Bool) {
        var index = start
        let end = raw.count
        while index < end {
            let byte = raw[index]
            if byte == terminator { return (index, true) }
            if byte == 0 { return (index, false) }
            index &+= 1
        }
        return (end, false)
    }
}

import NIOCore

/// Inline requests: one line split into arguments like Redis's `sdssplitargs`.
extension RESPRequestParser {
    /// One argument of an inline request: a range of the line, or bytes rebuilt from quotes and escapes.
    enum InlineToken: Equatable {
        case range(start: Int, length: Int)
        case bytes([UInt8])
    }

    mutating func stepInline(_ raw: UnsafeRawBufferPointer) throws(RESPProtocolError) -> Step {
        let (newline, found) = Self.scan(raw, from: searchedTo, for: UInt8(ascii: "\n"))
        guard found else {
            searchedTo = newline
            if raw.count > limits.maxInlineLength { throw .tooBigInlineRequest }
            return .needMore
        }
        // Bytes arriving one at a time would have hit the limit before the newline came.
        if newline > limits.maxInlineLength { throw .tooBigInlineRequest }
        var end = newline
        if end > 0 && raw[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        guard let tokens = Self.splitArguments(raw, end: end) else { throw .unbalancedQuotes }
        if tokens.isEmpty { return .skip(consumed: newline + 1) }
        return .inline(consumed: newline + 1, tokens: tokens)
    }

    static func makeInlineRequest(_ tokens: [InlineToken], from buffer: ByteBuffer) -> RESPRequest {
        var arguments: [ByteBuffer] = []
        arguments.reserveCapacity(tokens.count)
        for token in tokens {
            switch token {
            case .range(let start, let length):
                arguments.append(buffer.getSlice(at: buffer.readerIndex + start, length: length)!)
            case .bytes(let bytes):
                arguments.append(ByteBuffer(bytes: bytes))
            }
        }
        return RESPRequest(arguments: arguments, isInline: true)
    }

    /// Splits `raw[0..<end]` (which holds no NUL) into arguments like `sdssplitargs`.
    ///
    /// Blanks (C's `isspace`) separate arguments, but only space, tab, CR and LF end an unquoted word. In `"..."`:
    /// `\xHH`, `\n \r \t \b \a`, and `\c` for any other `c`; in `'...'` only `\'`. A closing quote must be followed
    /// by a blank or the end of the line.
    ///
    /// - Returns: The arguments (none for a blank line), or `nil` for unbalanced quotes.
    static func splitArguments(_ raw: UnsafeRawBufferPointer, end: Int) -> [InlineToken]? {
        // Reading past the end yields 0, like the C string's terminator.
        @inline(__always) func at(_ index: Int) -> UInt8 { index < end ? raw[index] : 0 }
        var tokens: [InlineToken] = []
        var p = 0
        while true {
            while at(p) != 0 && isSpace(at(p)) { p += 1 }
            if at(p) == 0 { return tokens }
            var inDoubleQuotes = false
            var inSingleQuotes = false
            var done = false
            var token = TokenBuilder()
            while !done {
                let c = at(p)
                if inDoubleQuotes {
                    if c == UInt8(ascii: "\\") && at(p + 1) == UInt8(ascii: "x"), let high = hexValue(at(p + 2)),
                        let low = hexValue(at(p + 3))
                    {
                        token.append(byte: high << 4 | low, raw)
                        p += 3
                    } else if c == UInt8(ascii: "\\") && at(p + 1) != 0 {
                        p += 1
                        token.append(byte: unescaped(at(p)), raw)
                    } else if c == UInt8(ascii: "\"") {
                        if at(p + 1) != 0 && !isSpace(at(p + 1)) { return nil }
                        done = true
                    } else if c == 0 {
                        return nil
                    } else {
                        token.append(offset: p, raw)
                    }
                } else if inSingleQuotes {
                    if c == UInt8(ascii: "\\") && at(p + 1) == UInt8(ascii: "'") {
                        p += 1
                        token.append(byte: UInt8(ascii: "'"), raw)
                    } else if c == UInt8(ascii: "'") {
                        if at(p + 1) != 0 && !isSpace(at(p + 1)) { return nil }
                        done = true
                    } else if c == 0 {
                        return nil
                    } else {
                        token.append(offset: p, raw)
                    }
                } else {
                    switch c {
                    case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"), 0:
                        done = true
                    case UInt8(ascii: "\""):
                        inDoubleQuotes = true
                    case UInt8(ascii: "'"):
                        inSingleQuotes = true
                    default:
                        token.append(offset: p, raw)
                    }
                }
                if at(p) != 0 { p += 1 }
            }
            tokens.append(token.finish())
        }
    }

    /// C's `isspace` in the C locale.
    @inline(__always)
    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func unescaped(_ byte: UInt8) -> UInt8 {
        switch byte {
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "r"): 0x0D
        case UInt8(ascii: "t"): 0x09
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "a"): 0x07
        default: byte
        }
    }
}

/// Builds one inline argument, staying a range of the line until quotes or escapes make it non-contiguous.
private struct TokenBuilder {
    private var start = -1
    private var end = -1
    private var copy: [UInt8]?

    mutating func append(offset: Int, _ raw: UnsafeRawBufferPointer) {
        if copy != nil {
            copy!.append(raw[offset])
        } else if start < 0 {
            start = offset
            end = offset + 1
        } else if offset == end {
            end += 1
        } else {
            materialize(raw)
            copy!.append(raw[offset])
        }
    }

    mutating func append(byte: UInt8, _ raw: UnsafeRawBufferPointer) {
        if copy == nil { materialize(raw) }
        copy!.append(byte)
    }

    private mutating func materialize(_ raw: UnsafeRawBufferPointer) {
        copy = start < 0 ? [] : Array(UnsafeRawBufferPointer(rebasing: raw[start..<end]))
    }

    func finish() -> RESPRequestParser.InlineToken {
        if let copy { return .bytes(copy) }
        return start < 0 ? .range(start: 0, length: 0) : .range(start: start, length: end - start)
    }
}

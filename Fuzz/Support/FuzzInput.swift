import CacheProtocol

/// How a fuzz input is read: a few leading bytes choose the parser's limits and how the payload is chunked, the
/// rest is the payload, so libFuzzer's mutations explore both the bytes and the ways they can arrive.
///
/// Layout: byte 0 holds the options (bits 0-1: limits preset, bit 2: authentication required, bit 3: compact the
/// buffer between chunks, bits 4-7: how many chunk-size bytes follow); then that many bytes, each a chunk size
/// minus one; then the payload. The chunk sizes are used in turn, over and over, until the payload is used up.
public struct FuzzInput {
    /// The parser limits to use.
    public var limits: RESPRequestParser.Limits
    /// Whether the parser enforces Redis's limits for unauthenticated connections.
    public var authenticationRequired: Bool
    /// Whether to call `discardReadBytes()` after each chunk, as the connection handler does on large buffers.
    public var compactsBuffer: Bool
    /// The chunk sizes, each at least 1; empty means the whole payload in one chunk.
    public var chunkSizes: [Int]
    /// The bytes a client would send.
    public var payload: [UInt8]

    /// Decodes an input; an empty input is an empty payload with the default limits.
    ///
    /// - Parameter bytes: The fuzzer's input.
    public init(_ bytes: UnsafeRawBufferPointer) {
        let options = bytes.first ?? 0
        limits = Self.limitsPreset(Int(options & 0x3))
        authenticationRequired = options & 0x4 != 0
        compactsBuffer = options & 0x8 != 0
        let sizeCount = min(Int(options >> 4), max(bytes.count - 1, 0))
        chunkSizes = bytes.dropFirst().prefix(sizeCount).map { Int($0) + 1 }
        payload = Array(bytes.dropFirst(1 + sizeCount))
    }

    /// The limits presets: Redis's defaults, and ever smaller ones so every limit is reached by short inputs.
    public static func limitsPreset(_ preset: Int) -> RESPRequestParser.Limits {
        var limits = RESPRequestParser.Limits()
        switch preset {
        case 1:
            limits.maxInlineLength = 256
            limits.maxBulkLength = 1024
            limits.maxMultibulkLength = 64
        case 2:
            limits.maxInlineLength = 16
            limits.maxBulkLength = 32
            limits.maxMultibulkLength = 8
        case 3:
            limits.maxInlineLength = 2
            limits.maxBulkLength = 3
            limits.maxMultibulkLength = 2
        default:
            break
        }
        return limits
    }

    /// The payload cut into the chunks a socket might deliver.
    public var chunks: [ArraySlice<UInt8>] {
        guard !chunkSizes.isEmpty else { return payload.isEmpty ? [] : [payload[...]] }
        var result: [ArraySlice<UInt8>] = []
        var start = 0
        var index = 0
        while start < payload.count {
            let end = min(start + chunkSizes[index % chunkSizes.count], payload.count)
            result.append(payload[start..<end])
            start = end
            index += 1
        }
        return result
    }
}

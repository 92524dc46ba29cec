import FuzzSupport

/// libFuzzer's entry point for the request parser.
///
/// The payload is parsed three ways: in one piece, in the chunks the input chooses, and (when short) one byte at a
/// time. No way may trap, and all must give the same requests, then the same error or the same unconsumed tail:
/// the parser promises that its result never depends on how the kernel split the bytes.
///
/// - Parameters:
///   - data: The input bytes.
///   - size: How many.
/// - Returns: 0 (libFuzzer's "keep going").
@_cdecl("LLVMFuzzerTestOneInput")
public func requestParserFuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = FuzzInput(UnsafeRawBufferPointer(start: data, count: size))
    let whole = ParseTranscript.parse(input.payload.isEmpty ? [] : [input.payload[...]], input)
    compare(ParseTranscript.parse(input.chunks, input), whole, "chunked \(input.chunkSizes)")
    if input.payload.count <= 4096 {
        let bytes = input.payload.indices.map { input.payload[$0...$0] }
        compare(ParseTranscript.parse(bytes, input), whole, "one byte at a time")
    }
    return 0
}

/// Fails unless two transcripts of the same bytes agree.
private func compare(_ split: ParseTranscript, _ whole: ParseTranscript, _ how: String) {
    fuzzCheck(
        split.requests == whole.requests,
        "\(how): \(split.requests.count) requests, in one piece \(whole.requests.count) (or different arguments)"
    )
    fuzzCheck(
        split.error == whole.error,
        "\(how): error \(String(describing: split.error)), in one piece \(String(describing: whole.error))"
    )
    if whole.error == nil {
        fuzzCheck(
            split.leftover == whole.leftover,
            "\(how): \(split.leftover) bytes left, in one piece \(whole.leftover)"
        )
    }
}

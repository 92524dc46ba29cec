import CacheProtocol
import NIOCore
import XCTest

/// A request as plain bytes, for comparing outcomes.
struct ParsedRequest: Equatable, CustomStringConvertible {
    var arguments: [[UInt8]]
    var isInline: Bool

    init(_ arguments: [String], inline: Bool = false) {
        self.arguments = arguments.map { Array($0.utf8) }
        self.isInline = inline
    }

    init(bytes arguments: [[UInt8]], inline: Bool = false) {
        self.arguments = arguments
        self.isInline = inline
    }

    init(_ request: RESPRequest) {
        self.arguments = request.arguments.map { Array($0.readableBytesView) }
        self.isInline = request.isInline
    }

    var description: String {
        let words = arguments.map { String(decoding: $0.prefix(40), as: UTF8.self).debugDescription }
        return (isInline ? "inline" : "multibulk") + "[" + words.joined(separator: ", ") + "]"
    }
}

/// Everything a connection would see from one input: the requests, then the error (if any), and how many bytes
/// were left unconsumed when the input ran out.
struct ParseOutcome: Equatable {
    var requests: [ParsedRequest] = []
    var error: String?
    var unconsumed = 0
}

/// How the input is cut into reads.
enum Split: CustomStringConvertible {
    case whole
    case chunks(Int)
    case pattern([Int])

    var description: String {
        switch self {
        case .whole: "whole"
        case .chunks(let size): "chunks of \(size)"
        case .pattern(let sizes): "pattern \(sizes)"
        }
    }

    func cut(_ input: [UInt8]) -> [ArraySlice<UInt8>] {
        let sizes: [Int]
        switch self {
        case .whole: return [input[...]]
        case .chunks(let size): sizes = [size]
        case .pattern(let pattern): sizes = pattern
        }
        var pieces: [ArraySlice<UInt8>] = []
        var start = 0
        var turn = 0
        while start < input.count {
            let end = min(input.count, start + sizes[turn % sizes.count])
            pieces.append(input[start..<end])
            start = end
            turn += 1
        }
        return pieces
    }

    /// The splits every request case is checked under. Inputs over 16 KiB are not fed byte by byte, to keep the
    /// tests quick; the cases about size limits are also run with small limits, byte by byte.
    static func all(for count: Int) -> [Split] {
        var splits: [Split] = [.whole, .chunks(3), .chunks(7), .pattern([5, 1, 13, 2, 4096, 3])]
        if count <= 16 * 1024 { splits += [.chunks(1), .chunks(2)] }
        return splits
    }
}

/// Feeds `input` to a fresh parser as a connection would: append each read, then take requests until none.
///
/// - Parameter compact: Compact the buffer after each read (as the server does) to check offsets survive it.
func parse(
    _ input: [UInt8],
    split: Split = .whole,
    limits: RESPRequestParser.Limits = .init(),
    compact: Bool = false,
    authenticationRequired: Bool = false
) -> ParseOutcome {
    var parser = RESPRequestParser(limits: limits)
    parser.authenticationRequired = authenticationRequired
    var buffer = ByteBuffer()
    var outcome = ParseOutcome()
    for piece in split.cut(input) {
        buffer.writeBytes(piece)
        do {
            while let request = try parser.next(&buffer) {
                outcome.requests.append(ParsedRequest(request))
            }
        } catch {
            outcome.error = error.message
            return outcome
        }
        if compact { buffer.discardReadBytes() }
    }
    outcome.unconsumed = buffer.readableBytes
    return outcome
}

/// `string` as bytes, where the Latin-1 range maps to single bytes (so "\u{ff}" is the byte 0xFF).
func bytes(_ string: String) -> [UInt8] {
    string.unicodeScalars.map { scalar in
        precondition(scalar.value < 256, "not a byte: \(scalar)")
        return UInt8(scalar.value)
    }
}

/// Asserts that `input` gives `expected` under every split, with and without compaction.
func assertParses(
    _ input: [UInt8],
    _ expected: ParseOutcome,
    limits: RESPRequestParser.Limits = .init(),
    file: StaticString = #filePath,
    line: UInt = #line
) {
    for split in Split.all(for: input.count) {
        for compact in [false, true] {
            let outcome = parse(input, split: split, limits: limits, compact: compact)
            XCTAssertEqual(outcome, expected, "split: \(split), compact: \(compact)", file: file, line: line)
        }
    }
}

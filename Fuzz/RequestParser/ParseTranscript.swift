import CacheProtocol
import FuzzSupport
import NIOCore

/// Everything a parser made of one client's bytes: the requests in order, then either the protocol error that ended
/// the connection or the count of bytes still waiting for more.
struct ParseTranscript: Equatable {
    var requests: [RESPRequest] = []
    var error: RESPProtocolError?
    /// Unconsumed bytes at the end; only meaningful when there was no error.
    var leftover = 0

    /// Parses `chunks` as if they arrived one by one on a connection, checking every request on the way.
    ///
    /// - Parameters:
    ///   - chunks: The bytes as the socket delivered them.
    ///   - input: The limits and buffer handling to use.
    /// - Returns: What was parsed.
    static func parse(_ chunks: [ArraySlice<UInt8>], _ input: FuzzInput) -> ParseTranscript {
        var parser = RESPRequestParser(limits: input.limits)
        parser.authenticationRequired = input.authenticationRequired
        var buffer = ByteBuffer()
        var transcript = ParseTranscript()
        for chunk in chunks {
            buffer.writeBytes(chunk)
            while true {
                let before = buffer.readerIndex
                let request: RESPRequest?
                do {
                    request = try parser.next(&buffer)
                } catch {
                    transcript.error = error
                    checkParserRecovers(&parser, input)
                    return transcript
                }
                fuzzCheck(buffer.readerIndex >= before, "the reader index went backwards")
                guard let request else {
                    checkNothingMoreWithoutNewBytes(&parser, &buffer)
                    break
                }
                fuzzCheck(buffer.readerIndex > before, "a request was returned without consuming a byte")
                RequestInvariants.check(request, input)
                transcript.requests.append(request)
            }
            if input.compactsBuffer { buffer.discardReadBytes() }
        }
        transcript.leftover = buffer.readableBytes
        return transcript
    }

    /// Once `next` asked for more bytes, asking again without any must consume nothing, find nothing, throw nothing.
    private static func checkNothingMoreWithoutNewBytes(_ parser: inout RESPRequestParser, _ buffer: inout ByteBuffer) {
        let mark = buffer.readerIndex
        do {
            let again = try parser.next(&buffer)
            fuzzCheck(again == nil, "a second call without new bytes found a request")
        } catch {
            fuzzCheck(false, "a second call without new bytes threw \(error)")
        }
        fuzzCheck(buffer.readerIndex == mark, "a second call without new bytes consumed some")
    }

    /// After a protocol error the parser is reset: the same parser reads a fresh buffer correctly.
    private static func checkParserRecovers(_ parser: inout RESPRequestParser, _ input: FuzzInput) {
        var fresh = ByteBuffer(string: "*1\r\n$1\r\nP\r\n")
        do {
            let request = try parser.next(&fresh)
            fuzzCheck(request?.arguments == [ByteBuffer(string: "P")], "the parser did not recover after an error")
        } catch {
            fuzzCheck(false, "the parser did not recover after an error: \(error)")
        }
    }
}

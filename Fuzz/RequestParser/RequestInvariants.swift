import CacheProtocol
import FuzzSupport
import NIOCore

/// What must hold for every request the parser returns, whatever the bytes were.
enum RequestInvariants {
    /// Checks the request against the limits it was parsed under, and that it survives a round trip through the
    /// client-side encoder and the parser unchanged.
    static func check(_ request: RESPRequest, _ input: FuzzInput) {
        fuzzCheck(!request.arguments.isEmpty, "a request without a command name")
        if request.isInline {
            for argument in request.arguments {
                fuzzCheck(
                    argument.readableBytes <= input.limits.maxInlineLength,
                    "an inline argument longer than the inline limit"
                )
            }
        } else {
            fuzzCheck(
                request.arguments.count <= input.limits.maxMultibulkLength,
                "\(request.arguments.count) arguments, over the limit \(input.limits.maxMultibulkLength)"
            )
            for argument in request.arguments {
                fuzzCheck(argument.readableBytes <= input.limits.maxBulkLength, "an argument over the bulk limit")
            }
            if input.authenticationRequired {
                fuzzCheck(request.arguments.count <= 10, "over 10 arguments before authentication")
                fuzzCheck(
                    request.arguments.allSatisfy { $0.readableBytes <= 16384 },
                    "an argument over 16 KiB before authentication"
                )
            }
        }
        checkRoundTrip(request)
    }

    /// Encoding the arguments as a multibulk request and parsing that gives the same arguments, consuming it all.
    private static func checkRoundTrip(_ request: RESPRequest) {
        var encoded = ByteBuffer()
        encoded.writeRESPCommand(buffers: request.arguments)
        var parser = RESPRequestParser()
        do {
            let parsed = try parser.next(&encoded)
            fuzzCheck(parsed?.arguments == request.arguments, "the re-encoded request parsed differently")
            fuzzCheck(encoded.readableBytes == 0, "the re-encoded request left bytes behind")
        } catch {
            fuzzCheck(false, "the re-encoded request did not parse: \(error)")
        }
    }
}

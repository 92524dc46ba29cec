import CacheProtocol
import Dispatch
import FuzzSupport
import LocalSocket
import Logging
import NIOCore
import NIOEmbedded
import Tiers

#if canImport(Glibc)
import Glibc
#endif

@testable import CacheServer

/// libFuzzer's entry point for one whole connection: `ConnectionHandler` on an `EmbeddedChannel` over a
/// memory-only cache.
///
/// The payload arrives in the chunks the input chooses (``FuzzInput``; its "compact" bit instead lowers the query
/// buffer limit to 1 KiB), then the client half-closes. The bytes written back must be whole, well-formed replies,
/// one per request up to QUIT, plus the error that ends a malformed request; and once the channel is closed and
/// dropped, the handler (and the requests it buffered) must be gone, or every connection would leak memory.
///
/// - Parameters:
///   - data: The input bytes.
///   - size: How many.
/// - Returns: 0 (libFuzzer's "keep going").
@_cdecl("LLVMFuzzerTestOneInput")
public func connectionFuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = FuzzInput(UnsafeRawBufferPointer(start: data, count: size))
    let probe = HandlerProbe()
    ConnectionRun.run(input, probe: probe)
    fuzzCheck(probe.handler == nil, "the connection handler outlived its closed channel")
    return 0
}

/// Watches the handler without keeping it alive.
final class HandlerProbe {
    weak var handler: ConnectionHandler?
}

/// One connection's life, in its own scope so that everything it made is released when it returns.
enum ConnectionRun {
    private static let blockingTarget = DispatchQueue(label: "cachesrvd.fuzz.blocking", attributes: .concurrent)
    private static let quietLogger = Logger(label: "cachesrvd.fuzz") { _ in SwiftLogNoOpLogHandler() }

    static func run(_ input: FuzzInput, probe: HandlerProbe) {
        var configuration = ServerConfiguration(socketPath: "/nonexistent.sock", dataDirectory: "/nonexistent")
        configuration.tiers = [.l1]
        configuration.cache.l1MaxEntries = 8
        configuration.maxInlineLength = input.limits.maxInlineLength
        configuration.maxBulkLength = input.limits.maxBulkLength
        configuration.maxArguments = input.limits.maxMultibulkLength
        if input.compactsBuffer { configuration.maxQueryBuffer = 1024 }
        let server = ServerContext(
            configuration: configuration,
            cache: TieredCache(configuration: configuration.cache, clock: ManualClock(), logger: quietLogger),
            processID: 1
        )
        let loop = EmbeddedEventLoop()
        let handler = ConnectionHandler(
            server: server,
            peer: PeerCredentials(pid: getpid(), uid: getuid(), gid: getgid()),
            blockingTarget: blockingTarget,
            flusher: RoundFlusher(eventLoop: loop),
            logger: quietLogger
        )
        probe.handler = handler
        let channel = EmbeddedChannel(handler: handler, loop: loop)
        do {
            try channel.connect(to: SocketAddress(unixDomainSocketPath: "/nonexistent.sock")).wait()
        } catch {
            fuzzCheck(false, "cannot connect the embedded channel: \(error)")
        }
        var written = ByteBuffer()
        for chunk in input.chunks where channel.isActive {
            do {
                try channel.writeInbound(ByteBuffer(bytes: chunk))
            } catch {
                fuzzCheck(false, "the handler threw on a read: \(error)")
            }
            drain(channel, into: &written)
        }
        if channel.isActive {
            channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            drain(channel, into: &written)
        }
        checkReplies(&written, input, configuration)
        _ = try? channel.finish()
    }

    private static func drain(_ channel: EmbeddedChannel, into written: inout ByteBuffer) {
        channel.embeddedEventLoop.run()
        while var bytes = try? channel.readOutbound(as: ByteBuffer.self) {
            written.writeBuffer(&bytes)
        }
    }

    /// The replies are whole and well formed; without a query-buffer limit in play, there is one per request up to
    /// QUIT, plus one for a protocol error.
    private static func checkReplies(
        _ written: inout ByteBuffer,
        _ input: FuzzInput,
        _ configuration: ServerConfiguration
    ) {
        var parser = RESPReplyParser()
        var replies = 0
        do {
            while try parser.next(&written) != nil { replies += 1 }
        } catch {
            fuzzCheck(false, "a malformed reply: \(error)")
        }
        fuzzCheck(written.readableBytes == 0, "a partial reply: \(String(buffer: written).prefix(200))")
        let expected = expectedReplies(input)
        if input.payload.count <= configuration.maxQueryBuffer {
            fuzzCheck(replies == expected, "\(replies) replies, expected \(expected)")
        } else {
            fuzzCheck(replies <= expected, "\(replies) replies, at most \(expected) expected")
        }
    }

    /// Parses the payload in one piece: requests up to and including the first QUIT, or up to a protocol error
    /// plus its error reply.
    private static func expectedReplies(_ input: FuzzInput) -> Int {
        var parser = RESPRequestParser(limits: input.limits)
        var buffer = ByteBuffer(bytes: input.payload)
        var count = 0
        while true {
            do {
                guard let request = try parser.next(&buffer) else { return count }
                count += 1
                if String(buffer: request.arguments[0]).uppercased() == "QUIT" { return count }
            } catch {
                return count + 1
            }
        }
    }
}

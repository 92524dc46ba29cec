import CacheProtocol
import Dispatch
import Foundation
import LocalSocket
import Logging
import NIOCore
import NIOEmbedded
import Tiers
import XCTest

@testable import CacheServer

/// The connection handler's state machine without sockets: an EmbeddedChannel over a memory-only cache.
final class ConnectionHandlerTests: XCTestCase {
    /// A peer the default allow-list admits: this process's own user.
    static let ownPeer = PeerCredentials(pid: getpid(), uid: getuid(), gid: getgid())

    private func makeChannel(maxClients: Int = 10) throws -> (EmbeddedChannel, ServerContext) {
        var configuration = ServerConfiguration(socketPath: "/tmp/unused.sock", dataDirectory: "/tmp/unused")
        configuration.tiers = [.l1]
        configuration.maxClients = maxClients
        let server = ServerContext(
            configuration: configuration,
            cache: TieredCache(configuration: configuration.cache),
            processID: 1
        )
        let channel = try makeConnectedChannel(server: server).channel
        return (channel, server)
    }

    /// A connected channel on its own embedded loop, with a handler of `server` (which the test may keep).
    private func makeConnectedChannel(
        server: ServerContext
    ) throws -> (channel: EmbeddedChannel, handler: ConnectionHandler) {
        let loop = EmbeddedEventLoop()
        let handler = ConnectionHandler(
            server: server,
            peer: Self.ownPeer,
            blockingTarget: DispatchQueue(label: "test", attributes: .concurrent),
            flusher: RoundFlusher(eventLoop: loop),
            logger: Logger(label: "test")
        )
        let channel = EmbeddedChannel(handler: handler, loop: loop)
        try channel.connect(to: SocketAddress(unixDomainSocketPath: "/tmp/unused.sock")).wait()
        return (channel, handler)
    }

    /// A connection whose handler is held only by the channel's pipeline (the test keeps a weak reference).
    private func makeTrackedChannel(
        server: ServerContext? = nil
    ) throws -> (EmbeddedChannel, ServerContext, WeakHandler) {
        let (unused, defaultServer) = try makeChannel()
        _ = try unused.finish()
        let server = server ?? defaultServer
        let (channel, handler) = try makeConnectedChannel(server: server)
        return (channel, server, WeakHandler(handler))
    }

    /// Everything written so far (once the loop's round has ended), as one string.
    private func output(_ channel: EmbeddedChannel) throws -> String {
        channel.embeddedEventLoop.run()
        var text = ""
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
            text += buffer.readString(length: buffer.readableBytes) ?? ""
        }
        return text
    }

    func testPipelinedRepliesOfOneReadAreWrittenOnceInOrder() throws {
        let (channel, _) = try makeChannel()
        try channel.writeInbound(ByteBuffer(string: "SET a http://a:1\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\nPING\r\n"))
        channel.embeddedEventLoop.run()
        let first = try XCTUnwrap(channel.readOutbound(as: ByteBuffer.self))
        XCTAssertEqual(String(buffer: first), "+OK\r\n$10\r\nhttp://a:1\r\n+PONG\r\n")
        XCTAssertNil(try channel.readOutbound(as: ByteBuffer.self), "one write for the whole read")
        XCTAssertTrue(try channel.finish().isClean)
    }

    /// The replies of a read go out once the loop's round of reads ends (a task), not at `channelReadComplete`: NIO
    /// also sends that event when it reads the end of the input, and a write failing then (the client left) closes
    /// the channel where NIO's debug build traps.
    func testRepliesAreWrittenAfterTheRoundNotAtReadComplete() throws {
        let (channel, _) = try makeChannel()
        channel.pipeline.fireChannelRead(ByteBuffer(string: "PING\r\nECHO hi\r\n"))
        channel.pipeline.fireChannelReadComplete()
        XCTAssertNil(try channel.readOutbound(as: ByteBuffer.self), "nothing written within the read")
        XCTAssertEqual(try output(channel), "+PONG\r\n$2\r\nhi\r\n")
        XCTAssertTrue(try channel.finish().isClean)
    }

    /// Connections of one loop with replies in the same round are flushed by one task, after every read of it.
    func testConnectionsOfOneRoundAreFlushedTogether() throws {
        let (_, server) = try makeChannel()
        let loop = EmbeddedEventLoop()
        let flusher = RoundFlusher(eventLoop: loop)
        let channels = try (0..<3).map { _ in
            let handler = ConnectionHandler(
                server: server,
                peer: Self.ownPeer,
                blockingTarget: DispatchQueue(label: "test", attributes: .concurrent),
                flusher: flusher,
                logger: Logger(label: "test")
            )
            let channel = EmbeddedChannel(handler: handler, loop: loop)
            try channel.connect(to: SocketAddress(unixDomainSocketPath: "/tmp/unused.sock")).wait()
            return channel
        }
        for (index, channel) in channels.enumerated() {
            channel.pipeline.fireChannelRead(ByteBuffer(string: "ECHO \(index)\r\nECHO again\r\n"))
        }
        for channel in channels {
            XCTAssertNil(try channel.readOutbound(as: ByteBuffer.self), "nothing written during the round")
        }
        loop.run()
        for (index, channel) in channels.enumerated() {
            let written = try XCTUnwrap(channel.readOutbound(as: ByteBuffer.self))
            XCTAssertEqual(String(buffer: written), "$1\r\n\(index)\r\n$5\r\nagain\r\n")
            XCTAssertNil(try channel.readOutbound(as: ByteBuffer.self), "one write per connection")
        }
    }

    func testPartialRequestWaitsForTheRest() throws {
        let (channel, _) = try makeChannel()
        try channel.writeInbound(ByteBuffer(string: "*2\r\n$4\r\nECHO\r\n$5\r\nhel"))
        XCTAssertEqual(try output(channel), "")
        try channel.writeInbound(ByteBuffer(string: "lo\r\n"))
        XCTAssertEqual(try output(channel), "$5\r\nhello\r\n")
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testQuitRepliesClosesAndSkipsTheRest() throws {
        let (channel, server) = try makeChannel()
        try channel.writeInbound(ByteBuffer(string: "QUIT\r\nSET b http://b:1\r\n"))
        XCTAssertEqual(try output(channel), "+OK\r\n")
        XCTAssertFalse(channel.isActive)
        XCTAssertNil(try server.cache.get("b", mode: .memoryOnly))
    }

    func testProtocolErrorRepliesAndCloses() throws {
        let (channel, server) = try makeChannel()
        try channel.writeInbound(ByteBuffer(string: "*1\r\n$x\r\nPING\r\n"))
        XCTAssertEqual(try output(channel), "-ERR Protocol error: invalid bulk length\r\n")
        XCTAssertFalse(channel.isActive)
        XCTAssertEqual(server.counters.withLockedValue { $0.protocolErrors }, 1)
    }

    func testHalfCloseDrainsThenCloses() throws {
        let (channel, _) = try makeChannel()
        try channel.writeInbound(ByteBuffer(string: "PING\r\n"))
        XCTAssertEqual(try output(channel), "+PONG\r\n")
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        XCTAssertFalse(channel.isActive, "nothing left to answer: closed")
    }

    func testClientsBeyondTheLimitAreRefused() throws {
        let (first, server) = try makeChannel(maxClients: 1)
        let second = try makeConnectedChannel(server: server).channel
        XCTAssertEqual(try output(second), "-ERR max number of clients reached\r\n")
        XCTAssertFalse(second.isActive)
        XCTAssertEqual(server.clients.connectedCount, 1)
        XCTAssertTrue(try first.finish().isClean)
    }

    // MARK: - A closed connection leaves nothing behind

    func testHandlerIsFreedWhenTheClientCloses() throws {
        let (channel, server, weak) = try makeTrackedChannel()
        try channel.writeInbound(ByteBuffer(string: "SET a http://a:1\r\nGET a\r\n"))
        XCTAssertEqual(try output(channel), "+OK\r\n$10\r\nhttp://a:1\r\n")
        XCTAssertNotNil(weak.handler)
        XCTAssertTrue(try channel.finish().isClean)
        XCTAssertEqual(server.clients.connectedCount, 0)
        XCTAssertNil(weak.handler, "the context must not keep the handler alive after the channel closed")
    }

    func testIdleConnectionIsFreedWhenTheClientCloses() throws {
        let (channel, _, weak) = try makeTrackedChannel()
        XCTAssertTrue(try channel.finish().isClean)
        XCTAssertNil(weak.handler)
    }

    func testUnfinishedBulkIsFreedWhenTheClientGoesAway() throws {
        let (channel, server, weak) = try makeTrackedChannel()
        var request = ByteBuffer(string: "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048576\r\nhttp://")
        request.writeRepeatingByte(UInt8(ascii: "x"), count: 512 * 1024)
        try channel.writeInbound(request)
        XCTAssertEqual(try output(channel), "", "half a bulk: no reply yet")
        XCTAssertTrue(try channel.finish().isClean)
        XCTAssertEqual(server.clients.connectedCount, 0)
        XCTAssertNil(weak.handler, "the half-received megabyte goes with the handler")
    }

    func testHandlerIsFreedAfterQuit() throws {
        let (channel, _, weak) = try makeTrackedChannel()
        try channel.writeInbound(ByteBuffer(string: "PING\r\nQUIT\r\n"))
        XCTAssertEqual(try output(channel), "+PONG\r\n+OK\r\n")
        XCTAssertFalse(channel.isActive)
        channel.embeddedEventLoop.run()
        XCTAssertNil(weak.handler)
    }

    func testHandlerIsFreedAfterAProtocolError() throws {
        let (channel, _, weak) = try makeTrackedChannel()
        try channel.writeInbound(ByteBuffer(string: "*1\r\n$x\r\n"))
        XCTAssertEqual(try output(channel), "-ERR Protocol error: invalid bulk length\r\n")
        XCTAssertFalse(channel.isActive)
        channel.embeddedEventLoop.run()
        XCTAssertNil(weak.handler)
    }

    func testHandlerIsFreedAfterAHalfCloseDrained() throws {
        let (channel, _, weak) = try makeTrackedChannel()
        try channel.writeInbound(ByteBuffer(string: "ECHO hello\r\n"))
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        XCTAssertEqual(try output(channel), "$5\r\nhello\r\n")
        XCTAssertFalse(channel.isActive)
        channel.embeddedEventLoop.run()
        XCTAssertNil(weak.handler)
    }

    func testRefusedClientIsFreed() throws {
        let (first, server) = try makeChannel(maxClients: 1)
        let (second, _, weak) = try makeTrackedChannel(server: server)
        XCTAssertEqual(try output(second), "-ERR max number of clients reached\r\n")
        XCTAssertFalse(second.isActive)
        second.embeddedEventLoop.run()
        XCTAssertNil(weak.handler)
        XCTAssertTrue(try first.finish().isClean)
    }

    /// A command that runs off the loop holds the handler only until it returns: a client that went away while it
    /// was queued is freed once it ran.
    func testHandlerWithACommandOffTheLoopIsFreedOnceItReturns() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("handler-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = ServerConfiguration(socketPath: "/tmp/unused.sock", dataDirectory: directory.path)
        configuration.tiers = [.l1, .l2]
        let cache = try TierFactory.makeCache(configuration, environment: [:], logger: Logger(label: "test"))
        defer { cache.shutdown() }
        let server = ServerContext(configuration: configuration, cache: cache, processID: 1)
        let target = DispatchQueue(label: "test.blocking", attributes: .concurrent)
        let weak = WeakHandler(nil)
        let channel = try await NIOAsyncTestingChannel { channel in
            let handler = ConnectionHandler(
                server: server,
                peer: Self.ownPeer,
                blockingTarget: target,
                flusher: RoundFlusher(eventLoop: channel.eventLoop),
                logger: Logger(label: "test")
            )
            weak.handler = handler
            try channel.pipeline.syncOperations.addHandler(handler)
        }
        try await channel.connect(to: SocketAddress(unixDomainSocketPath: "/tmp/unused.sock")).get()
        // DBSIZE needs the disk: it runs on the connection's queue and its reply comes back through the loop.
        try await channel.writeInbound(ByteBuffer(string: "DBSIZE\r\n"))
        let reply = try await channel.waitForOutboundWrite(as: ByteBuffer.self)
        XCTAssertEqual(String(buffer: reply), ":0\r\n")

        target.suspend()
        try await channel.writeInbound(ByteBuffer(string: "DBSIZE\r\n"))
        try await channel.close()
        XCTAssertEqual(server.clients.connectedCount, 0)
        XCTAssertNotNil(weak.handler, "the queued command still holds the handler")
        target.resume()
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            target.async(flags: .barrier) { done.resume() }
        }
        await channel.testingEventLoop.run()
        XCTAssertNil(weak.handler, "freed once the command returned to a closed connection")
        let written = try await channel.readOutbound(as: ByteBuffer.self)
        XCTAssertNil(written, "nothing is written to a closed channel")
    }
}

/// A weak reference to a handler, to see whether anything still holds it.
///
/// `@unchecked Sendable`: set before the channel is registered, read once the loop is idle; never concurrently.
final class WeakHandler: @unchecked Sendable {
    weak var handler: ConnectionHandler?

    init(_ handler: ConnectionHandler?) {
        self.handler = handler
    }
}

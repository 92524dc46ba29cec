import CacheProtocol
import Dispatch
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
        let handler = ConnectionHandler(
            server: server,
            peer: Self.ownPeer,
            blockingTarget: DispatchQueue(label: "test", attributes: .concurrent),
            logger: Logger(label: "test")
        )
        let channel = EmbeddedChannel(handler: handler)
        try channel.connect(to: SocketAddress(unixDomainSocketPath: "/tmp/unused.sock")).wait()
        return (channel, server)
    }

    /// Everything written so far, as one string.
    private func output(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
            text += buffer.readString(length: buffer.readableBytes) ?? ""
        }
        return text
    }

    func testPipelinedRepliesOfOneReadAreWrittenOnceInOrder() throws {
        let (channel, _) = try makeChannel()
        try channel.writeInbound(ByteBuffer(string: "SET a http://a:1\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\nPING\r\n"))
        let first = try XCTUnwrap(channel.readOutbound(as: ByteBuffer.self))
        XCTAssertEqual(String(buffer: first), "+OK\r\n$10\r\nhttp://a:1\r\n+PONG\r\n")
        XCTAssertNil(try channel.readOutbound(as: ByteBuffer.self), "one write for the whole read")
        XCTAssertTrue(try channel.finish().isClean)
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
        let handler = ConnectionHandler(
            server: server,
            peer: Self.ownPeer,
            blockingTarget: DispatchQueue(label: "test", attributes: .concurrent),
            logger: Logger(label: "test")
        )
        let second = EmbeddedChannel(handler: handler)
        try second.connect(to: SocketAddress(unixDomainSocketPath: "/tmp/unused.sock")).wait()
        XCTAssertEqual(try output(second), "-ERR max number of clients reached\r\n")
        XCTAssertFalse(second.isActive)
        XCTAssertEqual(server.clients.connectedCount, 1)
        XCTAssertTrue(try first.finish().isClean)
    }
}

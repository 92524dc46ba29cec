import Foundation
import Logging
import NIOCore
import Tiers
import XCTest

@testable import CacheServer

/// Where a request runs (`ServerContext.placement`), derived from the command table alone: on the event loop,
/// off it on the connection's queue, or on the bulk lane; with real disk tiers in a temporary directory.
final class PlacementTests: XCTestCase {
    private var directory: URL!
    private var caches: [TieredCache] = []

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("placement-\(UUID().uuidString)")
    }

    override func tearDown() {
        for cache in caches { cache.shutdown() }
        caches = []
        try? FileManager.default.removeItem(at: directory)
        super.tearDown()
    }

    private func makeServer(tiers: Set<TierID>) throws -> ServerContext {
        var configuration = ServerConfiguration(socketPath: "/tmp/unused.sock", dataDirectory: directory.path)
        configuration.tiers = tiers
        let cache = try TierFactory.makeCache(configuration, environment: [:], logger: Logger(label: "test"))
        caches.append(cache)
        return ServerContext(configuration: configuration, cache: cache, processID: 1)
    }

    private func session() -> ClientSession {
        ClientSession(id: 1, connectedAt: 0, peer: "test:0", authenticated: false)
    }

    private func placement(
        _ server: ServerContext,
        _ session: ClientSession,
        _ words: [String]
    ) -> Placement {
        let arguments = words.map { ByteBuffer(string: $0) }
        return server.placement(of: server.commands.lookup(arguments[0]), arguments: arguments, session: session)
    }

    /// Queues `words` in the session's open transaction as the dispatcher would.
    private func queue(_ server: ServerContext, _ session: ClientSession, _ words: [String]) {
        let arguments = words.map { ByteBuffer(string: $0) }
        XCTAssertEqual(
            session.state.receive(server.commands.lookup(arguments[0]), arguments: arguments, locked: false),
            .queue,
            "\(words)"
        )
    }

    func testWithDiskTiersTheTableDecides() throws {
        let server = try makeServer(tiers: [.l1, .l2, .l3])
        let client = session()
        XCTAssertEqual(placement(server, client, ["GET", "k"]), .eventLoop, "one key: the loop, retried if need be")
        XCTAssertEqual(placement(server, client, ["SET", "k", "v"]), .eventLoop)
        XCTAssertEqual(placement(server, client, ["HSET", "k", "a", "1", "b", "2"]), .eventLoop, "one key")
        XCTAssertEqual(placement(server, client, ["PING"]), .eventLoop)
        XCTAssertEqual(placement(server, client, ["MGET", "a", "b"]), .blocking, "two keys run whole off the loop")
        XCTAssertEqual(placement(server, client, ["DEL", "a", "b", "c"]), .blocking)
        XCTAssertEqual(
            placement(server, client, ["MSET", "a", "1", "b", "2"]),
            .eventLoop,
            "a blind write reads no tier"
        )
        XCTAssertEqual(placement(server, client, ["DBSIZE"]), .blocking, "whole cache, short")
        XCTAssertEqual(placement(server, client, ["KEYS", "*"]), .bulk)
        XCTAssertEqual(placement(server, client, ["FLUSHALL"]), .bulk)
        XCTAssertEqual(placement(server, client, ["SCAN", "0"]), .bulk)
    }

    func testManyKeysGoToTheBulkLaneAtTheLiveSetting() throws {
        let server = try makeServer(tiers: [.l1, .l2, .l3])
        let client = session()
        let limit = server.live.bulkCommandKeys
        XCTAssertEqual(placement(server, client, ["DEL"] + (0..<limit).map { "k\($0)" }), .blocking)
        XCTAssertEqual(placement(server, client, ["DEL"] + (0...limit).map { "k\($0)" }), .bulk)
        server.live.bulkCommandKeys = 2
        XCTAssertEqual(placement(server, client, ["MGET", "a", "b"]), .blocking)
        XCTAssertEqual(placement(server, client, ["MGET", "a", "b", "c"]), .bulk, "CONFIG SET bulk-command-keys")
    }

    func testMemoryOnlyEverythingRunsOnTheLoop() throws {
        let server = try makeServer(tiers: [.l1])
        let client = session()
        for words in [
            ["MGET", "a", "b"], ["KEYS", "*"], ["FLUSHALL"], ["DBSIZE"], ["DEL"] + (0..<500).map { "k\($0)" },
        ] {
            XCTAssertEqual(placement(server, client, words), .eventLoop, words[0])
        }
    }

    func testRefusedRequestsStayOnTheLoop() throws {
        let server = try makeServer(tiers: [.l1, .l2])
        let client = session()
        XCTAssertEqual(placement(server, client, ["NOSUCH", "a", "b"]), .eventLoop, "unknown")
        XCTAssertEqual(placement(server, client, ["MGET"]), .eventLoop, "wrong arity")
        XCTAssertEqual(placement(server, client, ["KEYS"]), .eventLoop, "wrong arity")

        server.access.replace(with: AccessControl.Settings(allowedUIDs: [], password: Array("pw".utf8)))
        XCTAssertEqual(placement(server, client, ["KEYS", "*"]), .eventLoop, "NOAUTH is answered on the loop")
        client.state.authenticate()
        XCTAssertEqual(placement(server, client, ["KEYS", "*"]), .bulk)
    }

    func testInsideMultiOnlyQueuedAndExecRunsWhereItsHardestCommandWould() throws {
        let server = try makeServer(tiers: [.l1, .l2, .l3])
        let client = session()
        client.state.authenticate()
        try client.state.beginTransaction()
        XCTAssertEqual(placement(server, client, ["KEYS", "*"]), .eventLoop, "only queued")
        XCTAssertEqual(placement(server, client, ["MGET", "a", "b"]), .eventLoop, "only queued")
        XCTAssertEqual(placement(server, client, ["EXEC"]), .eventLoop, "an empty EXEC")

        queue(server, client, ["PING"])
        XCTAssertEqual(placement(server, client, ["EXEC"]), .eventLoop, "no keys")
        queue(server, client, ["GET", "a"])
        XCTAssertEqual(placement(server, client, ["EXEC"]), .blocking, "one key inside EXEC cannot be retried")
        XCTAssertEqual(placement(server, client, ["DISCARD"]), .eventLoop)
        queue(server, client, ["DBSIZE"])
        XCTAssertEqual(placement(server, client, ["EXEC"]), .blocking)
        queue(server, client, ["KEYS", "*"])
        XCTAssertEqual(placement(server, client, ["EXEC"]), .bulk, "a bulk command makes the whole EXEC bulk")
    }

    func testExecOfManyKeysInSmallCommandsIsBulk() throws {
        let server = try makeServer(tiers: [.l1, .l2])
        let client = session()
        client.state.authenticate()
        server.live.bulkCommandKeys = 4
        try client.state.beginTransaction()
        for index in 0..<4 { queue(server, client, ["INCR", "c\(index)"]) }
        XCTAssertEqual(placement(server, client, ["EXEC"]), .blocking, "four keys: at the limit")
        queue(server, client, ["INCR", "c4"])
        XCTAssertEqual(placement(server, client, ["EXEC"]), .bulk, "five keys over five commands")
    }

    func testExecWithoutDiskTiersStaysOnTheLoop() throws {
        let server = try makeServer(tiers: [.l1])
        let client = session()
        client.state.authenticate()
        try client.state.beginTransaction()
        queue(server, client, ["KEYS", "*"])
        XCTAssertEqual(placement(server, client, ["EXEC"]), .eventLoop)
    }
}

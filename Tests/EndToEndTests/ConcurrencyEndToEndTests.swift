import CacheProtocol
import Dispatch
import NIOCore
import XCTest

/// Many clients at once and deep pipelines, against the real server with every tier on.
final class ConcurrencyEndToEndTests: XCTestCase {
    func testTwoHundredClientsKeepTheirOwnData() throws {
        let server = try ServerProcess(arguments: ["--l1-max-entries", "100000"])
        defer {
            XCTAssertEqual(server.stop(), 0)
            server.removeDirectory()
        }
        let clients = try (0..<200).map { _ in try server.client() }
        let failures = SharedCounter()
        DispatchQueue.concurrentPerform(iterations: clients.count) { index in
            let client = clients[index]
            do {
                for round in 0..<20 {
                    let key = "c\(index):k\(round)"
                    let value = "http://10.\(index / 250).\(index % 250).\(round):8080"
                    guard try client.command(["SET", key, value]) == .ok,
                        try client.command(["GET", key]) == .bulk(value),
                        try client.command(["HSET", key, "source", "client\(index)"]) == .integer(0)
                    else {
                        failures.increment()
                        return
                    }
                }
            } catch {
                failures.increment()
            }
        }
        XCTAssertEqual(failures.value, 0)
        let check = try server.client()
        XCTAssertEqual(try check.command(["DBSIZE"]), .integer(4000))
        for index in stride(from: 0, to: 200, by: 37) {
            XCTAssertEqual(try check.command(["HGET", "c\(index):k19", "source"]), .bulk("client\(index)"))
        }
    }

    func testTwentyThousandPipelinedCommandsComeBackInOrder() throws {
        let server = try ServerProcess()
        defer {
            XCTAssertEqual(server.stop(), 0)
            server.removeDirectory()
        }
        let client = try server.client()
        var request = ByteBuffer()
        for index in 0..<10_000 {
            request.writeRESPCommand(["SET", "pipe:\(index)", "http://p:\(index)"])
            request.writeRESPCommand(["GET", "pipe:\(index)"])
        }
        // One write; the reader below runs concurrently so neither side's buffer fills up.
        let bytes = Array(request.readableBytesView)
        let sender = DispatchQueue(label: "sender")
        let sent = DispatchSemaphore(value: 0)
        sender.async {
            try? client.send(bytes)
            sent.signal()
        }
        for index in 0..<10_000 {
            XCTAssertEqual(try client.readReply(), .ok)
            let reply = try client.readReply()
            if reply != .bulk("http://p:\(index)") {
                XCTFail("reply \(2 * index + 1) out of order: \(reply)")
                break
            }
        }
        sent.wait()
    }

    func testWritersWaitForABackedUpDiskInsteadOfQueuingWithoutBound() throws {
        let server = try ServerProcess(arguments: ["--max-pending-writes", "1", "--l1-max-entries", "100"])
        defer {
            XCTAssertEqual(server.stop(), 0)
            server.removeDirectory()
        }
        let client = try server.client()
        var request = ByteBuffer()
        for index in 0..<3_000 { request.writeRESPCommand(["SET", "b\(index)", "http://b:\(index)"]) }
        try client.send(Array(request.readableBytesView))
        for _ in 0..<3_000 { XCTAssertEqual(try client.readReply(), .ok) }
        XCTAssertEqual(try client.command(["DBSIZE"]), .integer(3_000))
        XCTAssertEqual(try client.command(["GET", "b17"]), .bulk("http://b:17"), "demoted and read back from disk")
    }

    func testMaxClientsGetsRedisError() throws {
        let server = try ServerProcess(arguments: ["--tiers", "l1", "--max-clients", "2"])
        defer {
            XCTAssertEqual(server.stop(), 0)
            server.removeDirectory()
        }
        let first = try server.client()
        let second = try server.client()
        XCTAssertEqual(try first.command(["PING"]), .simpleString("PONG"))
        XCTAssertEqual(try second.command(["PING"]), .simpleString("PONG"))
        let third = try server.client()
        XCTAssertEqual(try third.readUntilClosed(), "-ERR max number of clients reached\r\n")
        XCTAssertEqual(try first.command(["PING"]), .simpleString("PONG"))
    }

    func testSlowReaderDoesNotStopOthers() throws {
        let server = try ServerProcess(arguments: ["--tiers", "l1"])
        defer {
            XCTAssertEqual(server.stop(), 0)
            server.removeDirectory()
        }
        let setup = try server.client()
        let big = String(repeating: "x", count: 100_000)
        XCTAssertEqual(try setup.command(["SET", "big", "http://" + big]), .ok)
        // A client that asks for 50 MB of replies and never reads them.
        let slow = try server.client()
        var request = ByteBuffer()
        for _ in 0..<500 { request.writeRESPCommand(["GET", "big"]) }
        try slow.send(Array(request.readableBytesView))
        let other = try server.client()
        for index in 0..<100 {
            XCTAssertEqual(try other.command(["SET", "o\(index)", "http://o:1"]), .ok)
        }
        let info = try XCTUnwrap(other.command(["INFO", "memory"]).text)
        let rss = info.split(separator: "\r\n").first { $0.hasPrefix("used_memory_rss:") }
            .flatMap { Int($0.dropFirst("used_memory_rss:".count)) }
        XCTAssertLessThan(try XCTUnwrap(rss), 40_000_000, "the server buffered a slow reader's replies")
    }
}

/// A counter shared by test threads.
final class SharedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    func increment() {
        lock.lock()
        count += 1
        lock.unlock()
    }

    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }
}

extension ConcurrencyEndToEndTests {
    /// Commands over many keys or the whole cache run on the bulk lane (one at a time), so a few clients deleting
    /// huge key lists cannot hold every thread of the pool that serves other clients' disk reads
    /// (scripts/bench_bulk_lane.py measures the effect).
    func testHugeMultiKeyCommandsRunOnTheBulkLane() throws {
        let server = try ServerProcess(arguments: ["--bulk-command-keys", "64"])
        defer {
            XCTAssertEqual(server.stop(), 0)
            server.removeDirectory()
        }
        let client = try server.client()
        func bulkCount() throws -> Int? {
            let info = try client.command(["INFO", "stats"]).text ?? ""
            let line = info.split(separator: "\r\n").first { $0.hasPrefix("commands_on_bulk_lane:") }
            return line.flatMap { Int($0.split(separator: ":")[1]) }
        }
        XCTAssertEqual(try bulkCount(), 0)
        XCTAssertEqual(try client.command(["DEL", "a", "b", "c"]), .integer(0))
        XCTAssertEqual(try bulkCount(), 0, "a few keys: the shared pool")
        XCTAssertEqual(try client.command(["DEL"] + (0..<65).map { "k\($0)" }), .integer(0))
        XCTAssertEqual(try bulkCount(), 1, "more than --bulk-command-keys keys")
        XCTAssertEqual(try client.command(["KEYS", "*"]), .array([]))
        XCTAssertEqual(try bulkCount(), 2, "whole-cache scans")
        XCTAssertEqual(try client.command(["MULTI"]), .ok)
        XCTAssertEqual(try client.command(["MGET"] + (0..<70).map { "k\($0)" }), .simpleString("QUEUED"))
        guard case .array(let results?) = try client.command(["EXEC"]) else { return XCTFail("EXEC replies") }
        XCTAssertEqual(results.count, 1)
        XCTAssertEqual(try bulkCount(), 3, "an EXEC of many keys")
    }
}

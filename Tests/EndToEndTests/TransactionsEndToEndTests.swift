import CacheProtocol
import Dispatch
import Foundation
import NIOCore
import XCTest

/// WATCH and MULTI/EXEC between several clients of the real server, memory only and with the disk tiers: a watched
/// key changed by another client aborts EXEC, a read or an unrelated write does not, and nothing of another client
/// runs between a transaction's commands.
final class TransactionsEndToEndTests: XCTestCase {
    // Set in class setUp and cleared in class tearDown, which XCTest runs serially around the tests.
    nonisolated(unsafe) private static var memoryServer: ServerProcess!
    nonisolated(unsafe) private static var diskServer: ServerProcess!

    override class func setUp() {
        super.setUp()
        // Four event loops: clients land on different threads, so commands of different clients really overlap.
        memoryServer = try! ServerProcess(arguments: ["--tiers", "l1", "--threads", "4"])
        diskServer = try! ServerProcess(arguments: ["--l1-max-entries", "4", "--threads", "4"])
    }

    override class func tearDown() {
        XCTAssertEqual(memoryServer.stop(), 0)
        XCTAssertEqual(diskServer.stop(), 0)
        memoryServer.removeDirectory()
        diskServer.removeDirectory()
        super.tearDown()
    }

    private static let aborted = Array("*-1\r\n".utf8)
    private static let abortedRESP3 = Array("_\r\n".utf8)
    private static let ranPing = Array("*1\r\n+PONG\r\n".utf8)

    /// Runs `body` against each server, flushed first. On the disk server L1 holds 4 entries, so a key a test
    /// writes and then six fillers is read back from the disk tiers.
    private func onEveryServer(_ body: (ServerProcess, String) throws -> Void) throws {
        for (name, server) in [("memory", Self.memoryServer!), ("disk", Self.diskServer!)] {
            XCTAssertEqual(try server.client().command(["FLUSHALL"]), .ok)
            try body(server, name)
        }
    }

    private func raw(_ client: RawClient, _ arguments: String...) throws -> [UInt8] {
        var request = ByteBuffer()
        request.writeRESPCommand(arguments)
        try client.send(Array(request.readableBytesView))
        return try client.readRawReply()
    }

    /// Client A watches `w` after `setup` (run by A, then six filler keys), another client runs `change`, then A
    /// runs MULTI, PING, EXEC; returns EXEC's exact reply.
    private func exec(
        on server: ServerProcess,
        setup: [[String]] = [],
        change: [[String]],
        resp3: Bool = false
    ) throws -> [UInt8] {
        let watcher = try server.client()
        let other = try server.client()
        if resp3 { XCTAssertFalse(try watcher.command(["HELLO", "3"]).isError) }
        for command in setup { XCTAssertFalse(try watcher.command(command).isError, "\(command)") }
        for index in 0..<6 { XCTAssertEqual(try watcher.command(["SET", "filler\(index)", "v"]), .ok) }
        XCTAssertEqual(try watcher.command(["WATCH", "w"]), .ok)
        for command in change { XCTAssertFalse(try other.command(command).isError, "\(command)") }
        XCTAssertEqual(try watcher.command(["MULTI"]), .ok)
        XCTAssertEqual(try watcher.command(["PING"]), .simpleString("QUEUED"))
        return try raw(watcher, "EXEC")
    }

    // MARK: - WATCH

    func testAnotherClientsWriteOfAWatchedKeyAbortsExec() throws {
        let writes: [(setup: [[String]], change: [[String]])] = [
            ([["SET", "w", "http://w:1"]], [["SET", "w", "http://w:2"]]),
            ([["SET", "w", "http://w:1"]], [["SET", "w", "http://w:1"]]),
            ([["SET", "w", "http://w:1"]], [["DEL", "w"]]),
            ([["SET", "w", "http://w:1"]], [["EXPIRE", "w", "100"]]),
            ([["SET", "w", "http://w:1"]], [["HSET", "w", "country", "de"]]),
            ([["SET", "w", "5"]], [["INCR", "w"]]),
            ([["SET", "src", "http://s:1"]], [["RENAME", "src", "w"]]),
            ([["SET", "w", "http://w:1"], ["SET", "src", "http://s:1"]], [["RENAME", "src", "w"]]),
            ([["SET", "w", "http://w:1"]], [["FLUSHALL"]]),
            ([], [["SET", "w", "http://new:1"]]),
        ]
        try onEveryServer { server, name in
            for write in writes {
                XCTAssertEqual(try server.client().command(["FLUSHALL"]), .ok)
                XCTAssertEqual(
                    try exec(on: server, setup: write.setup, change: write.change),
                    Self.aborted,
                    "\(name): \(write.change)"
                )
            }
            XCTAssertEqual(try server.client().command(["FLUSHALL"]), .ok)
            XCTAssertEqual(
                try exec(on: server, setup: [["SET", "w", "x"]], change: [["SET", "w", "y"]], resp3: true),
                Self.abortedRESP3,
                "\(name): RESP3's null"
            )
        }
    }

    /// With L1 alone, an eviction deletes the key: a change, as Redis signals an evicted key to its watchers.
    func testEvictionOfAWatchedKeyWithL1AloneAbortsExec() throws {
        let server = try ServerProcess(arguments: ["--tiers", "l1", "--l1-max-entries", "1"])
        defer {
            XCTAssertEqual(server.stop(), 0)
            server.removeDirectory()
        }
        let watcher = try server.client()
        XCTAssertEqual(try watcher.command(["SET", "w", "http://w:1"]), .ok)
        XCTAssertEqual(try watcher.command(["WATCH", "w"]), .ok)
        XCTAssertEqual(try server.client().command(["SET", "other", "http://o:1"]), .ok, "evicts w")
        XCTAssertEqual(try watcher.command(["MULTI"]), .ok)
        XCTAssertEqual(try watcher.command(["PING"]), .simpleString("QUEUED"))
        XCTAssertEqual(try raw(watcher, "EXEC"), Self.aborted)
        XCTAssertEqual(try watcher.command(["EXISTS", "w"]), .integer(0))
    }

    func testReadsAndOtherKeysDoNotAbortExec() throws {
        let harmless: [(setup: [[String]], change: [[String]])] = [
            ([["SET", "w", "http://w:1"]], [["GET", "w"], ["EXISTS", "w"], ["TTL", "w"], ["HGETALL", "w"]]),
            ([["SET", "w", "http://w:1"]], [["SET", "other", "x"], ["DEL", "filler0"], ["INCR", "n"]]),
            ([], [["DEL", "w"]]),
            ([], [["EXPIRE", "w", "100"], ["GET", "w"]]),
        ]
        try onEveryServer { server, name in
            for item in harmless {
                XCTAssertEqual(try server.client().command(["FLUSHALL"]), .ok)
                XCTAssertEqual(
                    try exec(on: server, setup: item.setup, change: item.change),
                    Self.ranPing,
                    "\(name): \(item.change)"
                )
            }
        }
    }

    func testWatchedKeyThatExpiresBeforeExecAbortsIt() throws {
        try onEveryServer { server, name in
            let client = try server.client()
            let set = Date()
            XCTAssertEqual(try client.command(["SET", "w", "v", "PX", "300"]), .ok)
            XCTAssertEqual(try client.command(["WATCH", "w"]), .ok)
            guard Date().timeIntervalSince(set) < 0.25 else {
                throw XCTSkip("\(name): the machine took 250 ms between SET and WATCH; the key may have expired")
            }
            // Past the expiry time, whatever the machine's speed: EXEC must see the key as changed.
            Thread.sleep(until: set.addingTimeInterval(0.5))
            XCTAssertEqual(try client.command(["MULTI"]), .ok)
            XCTAssertEqual(try client.command(["PING"]), .simpleString("QUEUED"))
            XCTAssertEqual(try raw(client, "EXEC"), Self.aborted, name)
        }
    }

    func testKeyAlreadyExpiredAtWatchDoesNotAbortExec() throws {
        try onEveryServer { server, name in
            let client = try server.client()
            let set = Date()
            XCTAssertEqual(try client.command(["SET", "w", "v", "PX", "1"]), .ok)
            Thread.sleep(until: set.addingTimeInterval(0.05))
            XCTAssertEqual(try client.command(["WATCH", "w"]), .ok)
            XCTAssertEqual(try client.command(["MULTI"]), .ok)
            XCTAssertEqual(try client.command(["PING"]), .simpleString("QUEUED"))
            XCTAssertEqual(try raw(client, "EXEC"), Self.ranPing, name)
        }
    }

    /// CLIENT LIST's line of client `id`, as another client sees it, as `field=value` pairs.
    private func clientFields(_ observer: RawClient, id: Int64) throws -> [String: String] {
        let text = try XCTUnwrap(observer.command(["CLIENT", "LIST", "ID", String(id)]).text)
        let line = try XCTUnwrap(text.split(separator: "\n").first)
        var fields: [String: String] = [:]
        for pair in line.split(separator: " ") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            fields[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return fields
    }

    func testNothingIsWatchedAfterExecOrDiscard() throws {
        try onEveryServer { server, name in
            let client = try server.client()
            let other = try server.client()
            guard case .integer(let id) = try client.command(["CLIENT", "ID"]) else { return XCTFail("CLIENT ID") }
            for ending in ["EXEC", "DISCARD"] {
                XCTAssertEqual(try client.command(["SET", "w", "1"]), .ok)
                XCTAssertEqual(try client.command(["WATCH", "w"]), .ok)
                XCTAssertEqual(try other.command(["SET", "w", "2"]), .ok)
                XCTAssertTrue(try clientFields(other, id: id)["flags"]?.contains("d") == true, "\(name): dirty")
                XCTAssertEqual(try client.command(["MULTI"]), .ok)
                XCTAssertEqual(try client.command(["PING"]), .simpleString("QUEUED"))
                let inMulti = try clientFields(other, id: id)
                XCTAssertEqual(inMulti["multi"], "1", name)
                XCTAssertTrue(inMulti["flags"]?.contains("x") == true, name)
                if ending == "EXEC" {
                    XCTAssertEqual(try raw(client, "EXEC"), Self.aborted, name)
                } else {
                    XCTAssertEqual(try client.command(["DISCARD"]), .ok)
                }
                let after = try clientFields(other, id: id)
                XCTAssertEqual(after["multi"], "-1", "\(name) after \(ending)")
                XCTAssertEqual(after["flags"]?.contains("d"), false, "\(name) after \(ending)")
                XCTAssertEqual(after["flags"]?.contains("x"), false, "\(name) after \(ending)")

                // The key is no longer watched: another change of it does not abort the next transaction.
                XCTAssertEqual(try other.command(["SET", "w", "3"]), .ok)
                XCTAssertEqual(try client.command(["MULTI"]), .ok)
                XCTAssertEqual(try client.command(["PING"]), .simpleString("QUEUED"))
                XCTAssertEqual(try raw(client, "EXEC"), Self.ranPing, "\(name) after \(ending)")
            }
        }
    }

    // MARK: - Isolation

    /// Client A runs MULTI, a long run of INCR c, GET c, EXEC while four other clients pipeline INCR c from their
    /// own threads the whole time. Isolated, A's INCR replies are consecutive and its GET equals its last INCR;
    /// without the gate other clients' increments land between them (checked by making `exclusive` take the gate
    /// shared: this test then fails on both servers).
    func testNothingOfAnotherClientRunsBetweenATransactionsCommands() throws {
        let increments = 2000
        let rounds = 3
        try onEveryServer { server, name in
            let stop = StopFlag()
            let hammered = SharedCounter()
            let failures = SharedCounter()
            let hammers = try (0..<4).map { _ in try server.client() }
            let started = DispatchSemaphore(value: 0)
            let done = DispatchGroup()
            for hammer in hammers {
                DispatchQueue.global().async(group: done) {
                    var request = ByteBuffer()
                    for _ in 0..<20 { request.writeRESPCommand(["INCR", "c"]) }
                    let bytes = Array(request.readableBytesView)
                    var signalled = false
                    do {
                        while !stop.isSet {
                            try hammer.send(bytes)
                            for _ in 0..<20 {
                                guard case .integer = try hammer.readReply() else { return failures.increment() }
                                hammered.increment()
                            }
                            if !signalled {
                                started.signal()
                                signalled = true
                            }
                        }
                    } catch {
                        failures.increment()
                    }
                    if !signalled { started.signal() }
                }
            }
            for _ in hammers { started.wait() }

            let client = try server.client()
            for round in 0..<rounds {
                var request = ByteBuffer()
                request.writeRESPCommand(["MULTI"])
                for _ in 0..<increments { request.writeRESPCommand(["INCR", "c"]) }
                request.writeRESPCommand(["GET", "c"])
                let queuing = Array(request.readableBytesView)
                let sender = DispatchQueue(label: "sender")
                sender.async { try? client.send(queuing) }
                XCTAssertEqual(try client.readReply(), .ok)
                for _ in 0...increments { XCTAssertEqual(try client.readReply(), .simpleString("QUEUED")) }
                let replies = try XCTUnwrap(client.command(["EXEC"]).array, "\(name) round \(round)")
                XCTAssertEqual(replies.count, increments + 1)
                let values = replies.dropLast().compactMap { reply -> Int64? in
                    if case .integer(let value) = reply { return value }
                    return nil
                }
                XCTAssertEqual(values.count, increments, name)
                let gaps = zip(values, values.dropFirst()).filter { $1 != $0 + 1 }.count
                XCTAssertEqual(gaps, 0, "\(name) round \(round): other clients' INCRs ran inside the transaction")
                XCTAssertEqual(replies.last?.text, values.last.map(String.init), "\(name) round \(round)")
            }
            stop.set()
            done.wait()
            XCTAssertEqual(failures.value, 0, name)
            XCTAssertGreaterThan(hammered.value, 0, name)
            // Nothing lost either: every INCR of every client counted once.
            XCTAssertEqual(
                try client.command(["GET", "c"]).text,
                String(rounds * increments + hammered.value),
                name
            )
        }
    }

    /// A transaction over keys runs off the event loop when there are disk tiers (it cannot be retried half-way),
    /// as INFO stats shows.
    func testExecOverKeysRunsOffTheLoopWithDiskTiers() throws {
        let client = try Self.diskServer.client()
        XCTAssertEqual(try client.command(["FLUSHALL"]), .ok)
        func offLoop() throws -> Int {
            let text = try XCTUnwrap(client.command(["INFO", "stats"]).text)
            let line = try XCTUnwrap(text.split(separator: "\r\n").first { $0.hasPrefix("commands_off_event_loop:") })
            return try XCTUnwrap(Int(line.dropFirst("commands_off_event_loop:".count)))
        }
        // INFO reads the whole cache: it runs off the loop itself, and counts itself once.
        let before = try offLoop()
        XCTAssertEqual(try client.command(["MULTI"]), .ok)
        XCTAssertEqual(try client.command(["INCR", "k"]), .simpleString("QUEUED"))
        XCTAssertEqual(try client.command(["EXEC"]).array?.count, 1)
        XCTAssertEqual(try offLoop(), before + 2, "the EXEC ran off the loop (the INCR was only queued)")
        XCTAssertEqual(try client.command(["MGET", "a", "b"]).array?.count, 2)
        XCTAssertEqual(try offLoop(), before + 4, "so does a command over two keys")
        XCTAssertEqual(try client.command(["PING"]), .simpleString("PONG"))
        XCTAssertEqual(try client.command(["GET", "k"]), .bulk("1"))
        XCTAssertEqual(try offLoop(), before + 5, "PING and a GET of a key in L1 stay on the loop")
    }
}

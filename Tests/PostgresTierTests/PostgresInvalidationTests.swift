import Foundation
import NIOConcurrencyHelpers
import XCTest

@testable import PostgresTier
@testable import Tiers

/// The notices one sidecar's L3 commits send the others: their payloads, and their delivery through a real
/// PostgreSQL to a second store's listener (not to the sender's own).
final class PostgresInvalidationTests: PostgresStoreTestCase {
    /// Records what a store's listener hands it.
    final class Recorder: InvalidationTarget, @unchecked Sendable {
        private let lock = NIOLock()
        private var keys: [String] = []
        private var everything = 0
        func invalidate(keys: [String]) { lock.withLock { self.keys += keys } }
        func invalidateAll() { lock.withLock { everything += 1 } }
        var received: (keys: [String], everything: Int) { lock.withLock { (keys, everything) } }
    }

    func testPayloadsStayUnderTheLimitAndAnyKeySurvives() throws {
        let keys = (0..<300).map { "key-\($0)-" + String(repeating: "x", count: 40) } + ["b\u{0}\u{FF}\r\n *", ""]
        let payloads = PostgresInvalidation.payloads(sender: "s1", keys: keys + keys, keyLimit: 4096)
        XCTAssertGreaterThan(payloads.count, 1, "split")
        var decoded: [String] = []
        for payload in payloads {
            XCTAssertLessThan(payload.utf8.count, 8000)
            guard case .keys(let sender, let keys) = PostgresInvalidation.parse(payload) else {
                return XCTFail("unreadable \(payload.prefix(40))")
            }
            XCTAssertEqual(sender, "s1")
            decoded += keys
        }
        XCTAssertEqual(decoded, keys, "each once, in order")
        XCTAssertEqual(
            PostgresInvalidation.payloads(sender: "s1", keys: keys, keyLimit: 10),
            ["v1 s1 *"],
            "too many keys: everything"
        )
        XCTAssertEqual(
            PostgresInvalidation.payloads(sender: "s1", keys: [String(repeating: "k", count: 5000)], keyLimit: 10),
            ["v1 s1 *"],
            "a key too long for a notice: everything"
        )
        XCTAssertNil(PostgresInvalidation.parse("v2 s1 k00"))
        XCTAssertNil(PostgresInvalidation.parse("v1 s1 00"))
        XCTAssertNil(PostgresInvalidation.parse("v1 s1 k0g"))
    }

    func testAnotherSidecarsCommitsReachTheListenerAndItsOwnDoNot() throws {
        let cipher = CredentialCipher(current: .generate())
        let a = try open(cipher: cipher, sidecar: "sidecar-a")
        defer { a.close() }
        let b = try open(cipher: cipher, sidecar: "sidecar-b")
        defer { b.close() }
        let atA = Recorder()
        let atB = Recorder()
        a.subscribe(atA)
        b.subscribe(atB)
        XCTAssertEqual(atB.received.everything, 1, "a new subscriber drops every local copy first")
        try waitUntil { a.isListening && b.isListening }

        let entry = CacheEntry(key: "k\u{0}1", proxyURL: "http://h:1", now: 1, ttlSeconds: nil)
        let long = (0..<400).map { "long-key-\($0)-" + String(repeating: "y", count: 30) }
        try a.apply([.put(entry), .delete(key: "gone")] + long.map { .delete(key: $0) })
        try waitUntil { atB.received.keys.count >= 402 }
        XCTAssertEqual(atB.received.keys, ["k\u{0}1", "gone"] + long)
        XCTAssertEqual(a.invalidationsSent, 402)
        XCTAssertGreaterThan(b.notificationsReceived, 1, "split across notices")

        _ = try b.removeAll()
        try waitUntil { atA.received.everything == 2 }
        XCTAssertEqual(atA.received.keys, [], "a sidecar ignores its own notices")
        XCTAssertEqual(atB.received.everything, 1)
    }

    func testALostListenConnectionDropsEveryLocalCopyWhenItIsBack() throws {
        let cipher = CredentialCipher(current: .generate())
        let a = try open(cipher: cipher, sidecar: "sidecar-a")
        defer { a.close() }
        let recorder = Recorder()
        a.subscribe(recorder)
        try waitUntil { a.isListening }
        XCTAssertEqual(recorder.received.everything, 1)
        let killed = try cluster.psql(
            database,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'"
        )
        XCTAssertEqual(killed, ["t"], "the listening connection is found and ended")
        try waitUntil { recorder.received.everything == 2 && a.isListening }
        XCTAssertEqual(recorder.received.keys, [], "dropped at start and when back (copies are served while deaf)")
    }
}

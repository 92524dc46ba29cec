import NIOCore
import XCTest

@testable import CacheServer

/// The slow log: Redis's truncation, bounds and ids, and no secret kept in clear.
final class SlowLogTests: XCTestCase {
    private func buffers(_ arguments: [String]) -> [ByteBuffer] {
        arguments.map { ByteBuffer(string: $0) }
    }

    private func strings(_ arguments: [ByteBuffer]) -> [String] {
        arguments.map { String(buffer: $0) }
    }

    func testThresholdNegativeZeroAndPositive() {
        XCTAssertFalse(SlowLog(slowerThan: -1, maxLength: 10).wants(microseconds: 1_000_000))
        XCTAssertTrue(SlowLog(slowerThan: 0, maxLength: 10).wants(microseconds: 0))
        XCTAssertFalse(SlowLog(slowerThan: 100, maxLength: 10).wants(microseconds: 99))
        XCTAssertTrue(SlowLog(slowerThan: 100, maxLength: 10).wants(microseconds: 100))
        XCTAssertFalse(SlowLog(slowerThan: 0, maxLength: 0).wants(microseconds: 5))
    }

    func testKeepsTheNewestUpToMaxLengthWithIncreasingIDs() {
        let log = SlowLog(slowerThan: 10, maxLength: 3)
        for index in 0..<5 {
            log.record(
                buffers(["GET", "k\(index)"]),
                microseconds: 10 + index,
                timestamp: 1000,
                peer: "p",
                clientName: ""
            )
        }
        log.record(buffers(["GET", "fast"]), microseconds: 9, timestamp: 1000, peer: "p", clientName: "")
        XCTAssertEqual(log.count, 3)
        let newest = log.newest(nil)
        XCTAssertEqual(newest.map(\.id), [4, 3, 2])
        XCTAssertEqual(newest.map(\.microseconds), [14, 13, 12])
        XCTAssertEqual(strings(newest[0].arguments), ["GET", "k4"])
        XCTAssertEqual(log.newest(1).map(\.id), [4])
        log.reset()
        XCTAssertEqual(log.count, 0)
        log.record(buffers(["GET", "again"]), microseconds: 50, timestamp: 1000, peer: "p", clientName: "n")
        XCTAssertEqual(log.newest(10).map(\.id), [5], "RESET does not restart the ids")
        XCTAssertEqual(log.newest(10).first?.clientName, "n")
    }

    func testTruncatesArgumentsAndLongStringsAsRedis() {
        let many = ["MGET"] + (1...40).map(String.init)
        let logged = strings(SlowLog.loggedArguments(buffers(many)))
        XCTAssertEqual(logged.count, 32)
        XCTAssertEqual(Array(logged.prefix(31)), Array(many.prefix(31)))
        XCTAssertEqual(logged[31], "... (10 more arguments)")

        let exactly = ["MGET"] + (1...31).map(String.init)
        XCTAssertEqual(strings(SlowLog.loggedArguments(buffers(exactly))), exactly)

        let long = String(repeating: "a", count: 300)
        let truncated = strings(SlowLog.loggedArguments(buffers(["SET", "k", long])))
        XCTAssertEqual(truncated[2], String(repeating: "a", count: 128) + "... (172 more bytes)")
        let limit = String(repeating: "b", count: 128)
        XCTAssertEqual(strings(SlowLog.loggedArguments(buffers(["SET", "k", limit])))[2], limit)
    }

    func testRedactsAuthAndHelloAuth() {
        XCTAssertEqual(
            strings(SlowLog.loggedArguments(buffers(["AUTH", "user", "pw"]))),
            ["AUTH", "(redacted)", "(redacted)"]
        )
        XCTAssertEqual(
            strings(SlowLog.loggedArguments(buffers(["hello", "2", "auth", "default", "pw", "SETNAME", "me"]))),
            ["hello", "2", "auth", "(redacted)", "(redacted)", "SETNAME", "me"]
        )
        XCTAssertEqual(
            strings(SlowLog.loggedArguments(buffers(["HELLO", "AUTH", "u", "pw"]))),
            ["HELLO", "AUTH", "(redacted)", "(redacted)"],
            "even without the protocol version, which HELLO then refuses"
        )
        XCTAssertEqual(
            strings(SlowLog.loggedArguments(buffers(["HELLO", "2", "SETNAME", "auth", "AUTH", "default", "hunter2"]))),
            ["HELLO", "2", "SETNAME", "auth", "AUTH", "(redacted)", "(redacted)"],
            "a client named auth does not shift the password out of view"
        )
        XCTAssertEqual(
            strings(SlowLog.loggedArguments(buffers(["CONFIG", "SET", "requirepass", "pw"]))),
            ["CONFIG", "SET", "requirepass", "(redacted)"]
        )
    }

    func testRedactsCredentialFieldsAndURLUserInfo() {
        XCTAssertEqual(
            strings(
                SlowLog.loggedArguments(
                    buffers(["PUT", "p1", "http://u:pw@10.0.0.1:3128/x@y", "USERNAME", "alice", "password", "s3cret"])
                )
            ),
            ["PUT", "p1", "http://u:***@10.0.0.1:3128/x@y", "USERNAME", "(redacted)", "password", "(redacted)"]
        )
        XCTAssertEqual(
            strings(SlowLog.loggedArguments(buffers(["HSET", "p1", "source", "feed", "password", "pw2"]))),
            ["HSET", "p1", "source", "feed", "password", "(redacted)"]
        )
        XCTAssertEqual(
            strings(SlowLog.loggedArguments(buffers(["HMSET", "p1", "proxy_url", "socks5://a:b@h:1"]))),
            ["HMSET", "p1", "proxy_url", "socks5://a:***@h:1"]
        )
        XCTAssertEqual(
            strings(SlowLog.loggedArguments(buffers(["SET", "k", "http://u:a/b@10.0.0.1:80"]))),
            ["SET", "k", "http://u:***@10.0.0.1:80"],
            "a password holding '/' is still a password"
        )
        XCTAssertEqual(
            strings(SlowLog.loggedArguments(buffers(["SET", "k", "http://10.0.0.1:80/a"]))),
            ["SET", "k", "http://10.0.0.1:80/a"],
            "no userinfo, nothing masked"
        )
    }

    func testNoSecretSurvivesTruncation() {
        let password = String(repeating: "s", count: 200)
        let logged = strings(SlowLog.loggedArguments(buffers(["PUT", "k", "http://h:1", "password", password])))
        XCTAssertFalse(logged.contains { $0.contains("sss") })
    }

    func testEntriesDoNotShareTheRequestBuffer() {
        // A slice would keep a client's whole (possibly huge) request buffer alive as long as the entry.
        let request = ByteBuffer(string: "SETkeyhttp://u:p@h:1")
        let arguments = [
            request.getSlice(at: 0, length: 3)!, request.getSlice(at: 3, length: 3)!,
            request.getSlice(at: 6, length: 14)!,
        ]
        let log = SlowLog(slowerThan: 0, maxLength: 1)
        log.record(arguments, microseconds: 1, timestamp: 1, peer: "p", clientName: "")
        let requestBytes = request.withUnsafeReadableBytes { raw in
            let start = UInt(bitPattern: raw.baseAddress)
            return start..<(start + UInt(raw.count))
        }
        let entry = log.newest(1)[0]
        XCTAssertEqual(strings(entry.arguments), ["SET", "key", "http://u:***@h:1"])
        for argument in entry.arguments {
            let address = argument.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
            XCTAssertFalse(requestBytes.contains(address), "\(String(buffer: argument)) shares the request's bytes")
        }
    }
}

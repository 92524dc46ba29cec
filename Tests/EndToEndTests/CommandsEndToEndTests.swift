import CacheProtocol
import XCTest

/// The Redis-compatible commands and the cache's own verbs, against the real server (memory tier only).
final class CommandsEndToEndTests: XCTestCase {
    // Set in class setUp and cleared in class tearDown, which XCTest runs serially around the tests.
    nonisolated(unsafe) private static var server: ServerProcess!
    private var client: RawClient!

    override class func setUp() {
        super.setUp()
        server = try! ServerProcess(arguments: ["--tiers", "l1", "--default-ttl", "600", "--source-ttl", "short=5"])
    }

    override class func tearDown() {
        XCTAssertEqual(server.stop(), 0)
        server.removeDirectory()
        super.tearDown()
    }

    override func setUpWithError() throws {
        client = try Self.server.client()
        XCTAssertEqual(try client.command(["FLUSHALL"]), .ok)
    }

    private func run(_ arguments: String...) throws -> RESPValue {
        try client.command(arguments)
    }

    func testSetGetAndOptions() throws {
        XCTAssertEqual(try run("SET", "a", "http://1.1.1.1:80"), .ok)
        XCTAssertEqual(try run("GET", "a"), .bulk("http://1.1.1.1:80"))
        XCTAssertEqual(try run("TTL", "a"), .integer(-1), "SET without an expiry keeps the key, as in Redis")
        XCTAssertEqual(try run("PUT", "p", "http://1.1.1.1:80"), .ok)
        XCTAssertEqual(try run("TTL", "p"), .integer(600), "the cache verb PUT applies --default-ttl")
        XCTAssertEqual(try run("SET", "empty", ""), .ok)
        XCTAssertEqual(try run("GET", "empty"), .bulk(""))
        XCTAssertEqual(try run("SET", "a", "http://2.2.2.2:80", "NX"), .null)
        XCTAssertEqual(try run("SET", "b", "http://2.2.2.2:80", "XX"), .null)
        XCTAssertEqual(try run("SET", "a", "http://3.3.3.3:80", "XX", "GET"), .bulk("http://1.1.1.1:80"))
        XCTAssertEqual(try run("SET", "a", "http://4.4.4.4:80", "EX", "100"), .ok)
        XCTAssertEqual(try run("TTL", "a"), .integer(100))
        XCTAssertEqual(try run("SET", "a", "http://5.5.5.5:80", "KEEPTTL"), .ok)
        XCTAssertEqual(try run("TTL", "a"), .integer(100))
        XCTAssertEqual(try run("SET", "a", "http://6.6.6.6:80", "PX", "100000"), .ok)
        XCTAssertEqual(try run("PTTL", "a").integerValue.map { $0 > 99_000 && $0 <= 100_000 }, true)
        XCTAssertEqual(try run("SET", "a", "x", "EX", "0"), .error("ERR invalid expire time in 'set' command"))
        XCTAssertEqual(try run("SET", "a", "x", "EX", "ten"), .error("ERR value is not an integer or out of range"))
        XCTAssertEqual(try run("SET", "a", "x", "NX", "XX"), .error("ERR syntax error"))
        XCTAssertEqual(try run("SET", "a", "x", "EX", "10", "PX", "10"), .error("ERR syntax error"))
        XCTAssertEqual(try run("GET", "a"), .bulk("http://6.6.6.6:80"), "errors change nothing")
        XCTAssertEqual(try run("SET", "past", "http://p:1", "EXAT", "1000"), .ok)
        XCTAssertEqual(try run("EXISTS", "past"), .integer(0), "an expiry in the past stores nothing")
    }

    func testMultiKeyAndKeyspaceCommands() throws {
        XCTAssertEqual(try run("MSET", "k1", "http://1:1", "k2", "http://2:2", "k3", "http://3:3"), .ok)
        XCTAssertEqual(try run("MGET", "k1", "nope", "k3"), .array([.bulk("http://1:1"), .null, .bulk("http://3:3")]))
        XCTAssertEqual(try run("EXISTS", "k1", "k2", "nope", "k1"), .integer(3))
        XCTAssertEqual(try run("DBSIZE"), .integer(3))
        XCTAssertEqual(try run("TYPE", "k1"), .simpleString("string"), "an entry without custom fields is a string")
        XCTAssertEqual(try run("TYPE", "nope"), .simpleString("none"))
        XCTAssertEqual(try run("HSET", "k3", "country", "de"), .integer(1))
        XCTAssertEqual(try run("TYPE", "k3"), .simpleString("hash"), "an entry with custom fields is a hash")
        XCTAssertEqual(try run("SCAN", "0", "TYPE", "hash"), .array([.bulk("0"), .array([.bulk("k3")])]))
        XCTAssertEqual(try run("HSET", "plain", "f1", "v1"), .integer(1))
        XCTAssertEqual(
            try run("HGETALL", "plain"),
            .array([.bulk("f1"), .bulk("v1")]),
            "a plain hash lists only its own fields"
        )
        XCTAssertEqual(try run("HDEL", "plain", "f1"), .integer(1))
        XCTAssertEqual(try run("EXISTS", "plain"), .integer(0), "a hash whose last field is deleted is gone")
        XCTAssertEqual(try run("DEL", "k1", "nope"), .integer(1))
        XCTAssertEqual(try run("UNLINK", "k2"), .integer(1))
        XCTAssertEqual(try run("GETDEL", "k3"), .bulk("http://3:3"))
        XCTAssertEqual(try run("GETDEL", "k3"), .null)
        XCTAssertEqual(try run("DBSIZE"), .integer(0))
        XCTAssertEqual(try run("MSET", "k1", "v1", "k2"), .error("ERR wrong number of arguments for 'mset' command"))
    }

    func testExpiryCommands() throws {
        XCTAssertEqual(try run("SET", "e", "http://e:1"), .ok)
        XCTAssertEqual(try run("EXPIRE", "e", "50"), .integer(1))
        XCTAssertEqual(try run("TTL", "e"), .integer(50))
        XCTAssertEqual(try run("EXPIRE", "e", "100", "LT"), .integer(0))
        XCTAssertEqual(try run("EXPIRE", "e", "100", "GT"), .integer(1))
        XCTAssertEqual(try run("EXPIRE", "e", "100", "NX"), .integer(0))
        XCTAssertEqual(
            try run("EXPIRE", "e", "1", "NX", "XX"),
            .error("ERR NX and XX, GT or LT options at the same time are not compatible")
        )
        XCTAssertEqual(try run("PERSIST", "e"), .integer(1))
        XCTAssertEqual(try run("TTL", "e"), .integer(-1))
        XCTAssertEqual(try run("PERSIST", "e"), .integer(0))
        XCTAssertEqual(try run("TTL", "missing"), .integer(-2))
        XCTAssertEqual(try run("PEXPIRE", "e", "-1"), .integer(1))
        XCTAssertEqual(try run("EXISTS", "e"), .integer(0), "a TTL in the past removes the entry")
        XCTAssertEqual(try run("EXPIRE", "missing", "10"), .integer(0))
    }

    func testShortTTLExpiresAndIsNeverReturned() throws {
        XCTAssertEqual(try run("SET", "soon", "http://s:1", "PX", "50"), .ok)
        let deadline = Date().addingTimeInterval(5)
        while try run("GET", "soon") != .null {
            XCTAssertLessThan(Date(), deadline, "entry never expired")
            usleep(10_000)
        }
        XCTAssertEqual(try run("EXISTS", "soon"), .integer(0))
    }

    func testHashCommandsAddressEntryFields() throws {
        XCTAssertEqual(try run("HSET", "h", "proxy_url", "http://h:1", "source", "feed", "username", "u"), .integer(3))
        XCTAssertEqual(try run("HGET", "h", "source"), .bulk("feed"))
        XCTAssertEqual(try run("HGET", "h", "password"), .null)
        XCTAssertEqual(try run("HSET", "h", "password", "p", "source", "feed2"), .integer(1))
        XCTAssertEqual(try run("HMGET", "h", "username", "password", "nope"), .array([.bulk("u"), .bulk("p"), .null]))
        XCTAssertEqual(try run("HEXISTS", "h", "password"), .integer(1))
        XCTAssertEqual(try run("HDEL", "h", "password", "username"), .integer(2))
        XCTAssertEqual(try run("HEXISTS", "h", "password"), .integer(0))
        XCTAssertEqual(try run("HDEL", "h", "proxy_url"), .error("ERR field 'proxy_url' cannot be deleted"))
        let all = try XCTUnwrap(run("HGETALL", "h").array)
        var fields: [String: String] = [:]
        for index in stride(from: 0, to: all.count, by: 2) { fields[all[index].text!] = all[index + 1].text! }
        XCTAssertEqual(fields["proxy_url"], "http://h:1")
        XCTAssertEqual(fields["health_status"], "unknown")
        XCTAssertEqual(fields["ttl_seconds"], "0", "HSET of a new key keeps it until deleted, as in Redis")
        XCTAssertEqual(try run("HLEN", "h"), .integer(Int64(all.count / 2)))
        XCTAssertEqual(try run("HKEYS", "h").array?.count, all.count / 2)
        XCTAssertEqual(try run("HVALS", "h").array?.count, all.count / 2)
        XCTAssertEqual(try run("GET", "h"), .bulk("http://h:1"), "the string value is the proxy_url")
    }

    func testInvalidFieldValuesChangeNothing() throws {
        XCTAssertEqual(try run("PUT", "v", "http://v:1", "source", "s1"), .ok)
        // HGETALL is a cache hit: leave out the fields a hit changes.
        func fields() throws -> [String: String] {
            let all = try XCTUnwrap(run("HGETALL", "v").array)
            var fields: [String: String] = [:]
            for index in stride(from: 0, to: all.count, by: 2) { fields[all[index].text!] = all[index + 1].text! }
            fields["access_count"] = nil
            fields["last_accessed"] = nil
            return fields
        }
        let before = try fields()
        XCTAssertEqual(before["source"], "s1")
        XCTAssertEqual(
            try run("HSET", "v", "health_status", "sick"),
            .error("ERR invalid value for 'health_status': expected unknown|healthy|degraded|unhealthy|dead")
        )
        XCTAssertEqual(
            try run("HSET", "v", "source", "s2", "ttl_seconds", "-5"),
            .error("ERR invalid value for 'ttl_seconds': expected a non-negative integer")
        )
        XCTAssertEqual(
            try run("HSET", "v", "custom", String(repeating: "x", count: 8192)),
            .error("ERR custom field of 8198 bytes (name and value): the most is 8192 (max-custom-field-size)")
        )
        XCTAssertEqual(
            try run("PUT", "w", "http://w:1", "access_count", "many"),
            .error("ERR invalid value for 'access_count': expected a non-negative integer")
        )
        XCTAssertEqual(try fields(), before)
        XCTAssertEqual(try run("EXISTS", "w"), .integer(0))
    }

    func testPutHealthAndThreshold() throws {
        XCTAssertEqual(try run("PUT", "p", "http://p:1", "username", "alice", "password", "pw", "source", "short"), .ok)
        XCTAssertEqual(try run("TTL", "p"), .integer(5), "per-source TTL applies when the entry gives none")
        XCTAssertEqual(try run("PUT", "q", "http://q:1", "ttl_seconds", "77"), .ok)
        XCTAssertEqual(try run("TTL", "q"), .integer(77))
        XCTAssertEqual(try run("HEALTH", "p", "fail", "1500", "timeout", "https://check"), .simpleString("unhealthy"))
        XCTAssertEqual(try run("HGET", "p", "failure_count"), .bulk("1"))
        XCTAssertEqual(try run("HGET", "p", "last_health_error"), .bulk("timeout"))
        XCTAssertEqual(try run("HEALTH", "p", "ok", "90"), .simpleString("healthy"), "an entry can recover")
        XCTAssertEqual(try run("HGET", "p", "failure_count"), .bulk("0"))
        XCTAssertEqual(try run("HEALTH", "p", "fail"), .simpleString("unhealthy"))
        XCTAssertEqual(try run("HEALTH", "p", "fail"), .simpleString("unhealthy"))
        XCTAssertEqual(try run("HEALTH", "p", "fail"), .simpleString("removed"))
        XCTAssertEqual(try run("EXISTS", "p"), .integer(0))
        XCTAssertEqual(try run("HEALTH", "p", "ok"), .null)
        XCTAssertEqual(try run("HEALTH", "q", "maybe"), .error("ERR health result must be 'ok' or 'fail'"))
        XCTAssertEqual(try run("HEALTH", "q", "fail", "slow"), .error("ERR response_ms must be a non-negative number"))
        let stats = try XCTUnwrap(run("STATS").array)
        var figures: [String: String] = [:]
        for index in stride(from: 0, to: stats.count, by: 2) { figures[stats[index].text!] = stats[index + 1].text! }
        XCTAssertEqual(figures["l1_evictions_health"], "1")
        XCTAssertEqual(figures["l1_size"], "1")
    }

    func testKeysScanAndCleanup() throws {
        for index in 0..<120 { XCTAssertEqual(try run("SET", "scan:\(index)", "http://s:\(index)"), .ok) }
        XCTAssertEqual(try run("SET", "other", "http://o:1"), .ok)
        XCTAssertEqual(try run("KEYS", "scan:1?").array?.count, 10)
        var cursor = "0"
        var seen = Set<String>()
        repeat {
            let reply = try XCTUnwrap(run("SCAN", cursor, "MATCH", "scan:*", "COUNT", "13").array)
            cursor = try XCTUnwrap(reply[0].text)
            for key in try XCTUnwrap(reply[1].array) { seen.insert(try XCTUnwrap(key.text)) }
        } while cursor != "0"
        XCTAssertEqual(seen.count, 120)
        XCTAssertEqual(try run("SCAN", "abc"), .error("ERR invalid cursor"))
        XCTAssertEqual(try run("SET", "gone", "http://g:1", "PX", "1"), .ok)
        usleep(5_000)
        XCTAssertEqual(try run("CLEANUP"), .integer(1))
        XCTAssertEqual(try run("SIZE"), .integer(121))
        XCTAssertEqual(try run("SIZE", "l1"), .integer(121))
        XCTAssertEqual(try run("SIZE", "l9"), .error("ERR unknown tier 'l9' (expected l1, l2 or l3)"))
    }

    func testServerCommandsForClients() throws {
        XCTAssertEqual(try run("SELECT", "0"), .ok)
        XCTAssertEqual(try run("SELECT", "1"), .error("ERR DB index is out of range"))
        XCTAssertEqual(try run("CONFIG", "GET", "save"), .array([.bulk("save"), .bulk("")]))
        XCTAssertEqual(try run("CONFIG", "GET", "appendonly"), .array([.bulk("appendonly"), .bulk("no")]))
        XCTAssertEqual(try run("CLIENT", "SETNAME", "tester"), .ok)
        XCTAssertEqual(try run("CLIENT", "GETNAME"), .bulk("tester"))
        XCTAssertEqual(try run("CLIENT", "SETINFO", "LIB-NAME", "rawclient"), .ok)
        XCTAssertNotNil(try run("CLIENT", "ID").integerValue)
        let count = try XCTUnwrap(run("COMMAND", "COUNT").integerValue)
        XCTAssertGreaterThan(count, 40)
        XCTAssertEqual(try run("COMMAND").array?.count, count)
        let info = try XCTUnwrap(run("COMMAND", "INFO", "get").array?.first?.array)
        XCTAssertEqual(info[0], .bulk("get"))
        XCTAssertEqual(info[1], .integer(2))
        XCTAssertEqual(try run("COMMAND", "DOCS", "put").array?.count, 2)
        let text = try XCTUnwrap(run("INFO").text)
        for section in ["# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Cache"] {
            XCTAssertTrue(text.contains(section), "INFO lacks \(section)")
        }
        XCTAssertTrue(try XCTUnwrap(run("INFO", "cache").text).hasPrefix("# Cache\r\nl1_enabled:1"))
        XCTAssertEqual(try run("ECHO", "hi"), .bulk("hi"))
        XCTAssertEqual(try run("PING", "hi"), .bulk("hi"))
    }

    func testMultiExec() throws {
        XCTAssertEqual(try run("MULTI"), .ok)
        XCTAssertEqual(try run("SET", "t", "http://t:1"), .simpleString("QUEUED"))
        XCTAssertEqual(try run("GET", "t"), .simpleString("QUEUED"))
        XCTAssertEqual(try run("EXEC"), .array([.ok, .bulk("http://t:1")]))
        XCTAssertEqual(try run("EXEC"), .error("ERR EXEC without MULTI"))
        XCTAssertEqual(try run("MULTI"), .ok)
        XCTAssertEqual(try run("NOPE"), .error("ERR unknown command 'NOPE', with args beginning with: "))
        XCTAssertEqual(try run("EXEC"), .error("EXECABORT Transaction discarded because of previous errors."))
        XCTAssertEqual(try run("MULTI"), .ok)
        XCTAssertEqual(try run("DEL", "t"), .simpleString("QUEUED"))
        XCTAssertEqual(try run("DISCARD"), .ok)
        XCTAssertEqual(try run("EXISTS", "t"), .integer(1))
    }
}

extension RESPValue {
    var integerValue: Int? {
        if case .integer(let value) = self { return Int(value) }
        return nil
    }
}

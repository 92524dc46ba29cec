import CacheProtocol
import Foundation
import XCTest

/// The keyspace commands against the real server, memory only and with the disk tiers, with the edge cases of
/// Redis 7.0's own suite (tests/unit/expire.tcl, keyspace.tcl, introspection.tcl): each reply is redis-server's.
final class KeyspaceEndToEndTests: XCTestCase {
    // Set in class setUp and cleared in class tearDown, which XCTest runs serially around the tests.
    nonisolated(unsafe) private static var memoryServer: ServerProcess!
    nonisolated(unsafe) private static var diskServer: ServerProcess!

    override class func setUp() {
        super.setUp()
        memoryServer = try! ServerProcess(arguments: ["--tiers", "l1"])
        diskServer = try! ServerProcess(arguments: ["--fsync", "always", "--l1-max-entries", "4"])
    }

    override class func tearDown() {
        XCTAssertEqual(memoryServer.stop(), 0)
        XCTAssertEqual(diskServer.stop(), 0)
        memoryServer.removeDirectory()
        diskServer.removeDirectory()
        super.tearDown()
    }

    /// Runs `body` with a client of each server, flushed first. The disk server holds at most 4 entries in L1,
    /// so most keys of a test are read back from the disk tiers.
    private func onEveryServer(_ body: (Session) throws -> Void) throws {
        for (name, server) in [("memory", Self.memoryServer!), ("disk", Self.diskServer!)] {
            let session = Session(client: try server.client(), name: name)
            XCTAssertEqual(try session.run("FLUSHALL"), .ok)
            try body(session)
        }
    }

    func testExpireOptionsFollowRedis() throws {
        try onEveryServer { r in
            XCTAssertEqual(try r.run("SET", "foo", "bar", "EX", "100"), .ok)
            XCTAssertEqual(try r.run("EXPIRE", "foo", "200", "NX"), .integer(0), r.name)
            XCTAssertEqual(try r.run("TTL", "foo"), .integer(100), r.name)
            XCTAssertEqual(try r.run("EXPIRE", "foo", "200", "XX"), .integer(1), r.name)
            XCTAssertEqual(try r.run("TTL", "foo"), .integer(200), r.name)
            XCTAssertEqual(try r.run("EXPIRE", "foo", "100", "GT"), .integer(0), r.name)
            XCTAssertEqual(try r.run("EXPIRE", "foo", "300", "GT"), .integer(1), r.name)
            XCTAssertEqual(try r.run("EXPIRE", "foo", "400", "LT"), .integer(0), r.name)
            XCTAssertEqual(try r.run("EXPIRE", "foo", "100", "LT", "XX"), .integer(1), r.name)
            XCTAssertEqual(try r.run("TTL", "foo"), .integer(100), r.name)

            // A key without TTL counts as an infinite TTL: GT never applies, LT always does; NX applies, XX not.
            XCTAssertEqual(try r.run("SET", "foo", "bar"), .ok)
            XCTAssertEqual(try r.run("EXPIRE", "foo", "200", "GT"), .integer(0), r.name)
            XCTAssertEqual(try r.run("EXPIRE", "foo", "200", "XX"), .integer(0), r.name)
            XCTAssertEqual(try r.run("EXPIRE", "foo", "200", "LT", "XX"), .integer(0), r.name)
            XCTAssertEqual(try r.run("TTL", "foo"), .integer(-1), r.name)
            XCTAssertEqual(try r.run("EXPIRE", "foo", "100", "LT"), .integer(1), r.name)
            XCTAssertEqual(try r.run("TTL", "foo"), .integer(100), r.name)
            XCTAssertEqual(try r.run("SET", "foo", "bar"), .ok)
            XCTAssertEqual(try r.run("EXPIRE", "foo", "200", "NX"), .integer(1), r.name)
            XCTAssertEqual(try r.run("TTL", "foo"), .integer(200), r.name)

            // A time in the past removes the key and answers 1, even with LT.
            XCTAssertEqual(try r.run("EXPIRE", "foo", "-10", "LT"), .integer(1), r.name)
            XCTAssertEqual(try r.run("TTL", "foo"), .integer(-2), r.name)
            XCTAssertEqual(try r.run("SET", "foo", "bar"), .ok)
            XCTAssertEqual(try r.run("EXPIRE", "foo", "0", "GT"), .integer(0), "GT fails on no TTL: \(r.name)")
            XCTAssertEqual(try r.run("EXISTS", "foo"), .integer(1), r.name)
            XCTAssertEqual(try r.run("EXPIRE", "foo", "0"), .integer(1), r.name)
            XCTAssertEqual(try r.run("EXISTS", "foo"), .integer(0), r.name)
            for option in ["NX", "XX", "GT", "LT"] {
                XCTAssertEqual(try r.run("EXPIRE", "none", "100", option), .integer(0), r.name)
            }
        }
    }

    func testExpireErrorsFollowRedis() throws {
        let incompatible = RESPValue.error("ERR NX and XX, GT or LT options at the same time are not compatible")
        try onEveryServer { r in
            XCTAssertEqual(try r.run("SET", "foo", "bar"), .ok)
            XCTAssertEqual(try r.run("EXPIRE", "foo", "200", "LT", "GT"), .error(Self.gtAndLt), r.name)
            XCTAssertEqual(try r.run("EXPIRE", "foo", "200", "NX", "GT"), incompatible, r.name)
            XCTAssertEqual(try r.run("EXPIRE", "foo", "200", "NX", "LT"), incompatible, r.name)
            XCTAssertEqual(try r.run("EXPIRE", "foo", "200", "NX", "XX"), incompatible, r.name)
            XCTAssertEqual(try r.run("EXPIRE", "foo", "200", "AB"), .error("ERR Unsupported option AB"), r.name)
            XCTAssertEqual(try r.run("EXPIRE", "foo", "200", "XX", "AB"), .error("ERR Unsupported option AB"))
            // Options are checked before the amount, as Redis does.
            XCTAssertEqual(try r.run("EXPIRE", "foo", "abc", "XY"), .error("ERR Unsupported option XY"), r.name)
            XCTAssertEqual(try r.run("EXPIRE", "foo", ""), .error(Self.notInteger), r.name)
            for amount in ["9223370399119966", "9223372036854776", "10000000000000000", "18446744073709561"] {
                XCTAssertEqual(try r.run("EXPIRE", "foo", amount), .error(Self.invalidExpire("expire")), amount)
            }
            for amount in ["-9223372036854776", "-9999999999999999"] {
                XCTAssertEqual(try r.run("EXPIRE", "foo", amount), .error(Self.invalidExpire("expire")), amount)
            }
            XCTAssertEqual(
                try r.run("PEXPIRE", "foo", "9223372036854770000"),
                .error(Self.invalidExpire("pexpire")),
                r.name
            )
            XCTAssertEqual(try r.run("TTL", "foo"), .integer(-1), "errors change nothing: \(r.name)")
            XCTAssertEqual(try r.run("PEXPIREAT", "foo", "9223372036854770000"), .integer(1), r.name)
            XCTAssertEqual(try r.run("TTL", "foo").integerValue.map { $0 > 1_000_000_000 }, true, r.name)
            XCTAssertEqual(try r.run("PEXPIREAT", "foo", "-9223372036854770000"), .integer(1), r.name)
            XCTAssertEqual(try r.run("TTL", "foo"), .integer(-2), r.name)
            XCTAssertEqual(try r.run("EXPIREAT", "foo"), .error("ERR wrong number of arguments for 'expireat' command"))
        }
    }

    func testAbsoluteExpiryTimes() throws {
        try onEveryServer { r in
            XCTAssertEqual(try r.run("SET", "x", "hello"), .ok)
            for command in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
                XCTAssertEqual(try r.run(command, "x"), .integer(-1), "\(command) \(r.name)")
                XCTAssertEqual(try r.run(command, "none"), .integer(-2), "\(command) \(r.name)")
            }
            XCTAssertEqual(try r.run("SET", "x", "v", "EXAT", "4000000000"), .ok)
            XCTAssertEqual(try r.run("EXPIRETIME", "x"), .integer(4_000_000_000), r.name)
            XCTAssertEqual(try r.run("PEXPIRETIME", "x"), .integer(4_000_000_000_000), r.name)
            XCTAssertEqual(try r.run("PEXPIREAT", "x", "4000000000123"), .integer(1), r.name)
            XCTAssertEqual(try r.run("PEXPIRETIME", "x"), .integer(4_000_000_000_123), r.name)
            // Seconds are rounded from milliseconds as Redis does: (ms + 500) / 1000.
            XCTAssertEqual(try r.run("PEXPIREAT", "x", "4000000000500"), .integer(1), r.name)
            XCTAssertEqual(try r.run("EXPIRETIME", "x"), .integer(4_000_000_001), r.name)
            XCTAssertEqual(try r.run("PEXPIREAT", "x", "4000000000499"), .integer(1), r.name)
            XCTAssertEqual(try r.run("EXPIRETIME", "x"), .integer(4_000_000_000), r.name)
            XCTAssertEqual(try r.run("EXPIREAT", "x", "4000000001", "LT"), .integer(0), r.name)
            XCTAssertEqual(try r.run("EXPIREAT", "x", "4000000001", "GT"), .integer(1), r.name)
            XCTAssertEqual(try r.run("EXPIRETIME", "x"), .integer(4_000_000_001), r.name)
            XCTAssertEqual(try r.run("EXPIREAT", "x", "100"), .integer(1), "a past time removes the key: \(r.name)")
            XCTAssertEqual(try r.run("EXISTS", "x"), .integer(0), r.name)
            XCTAssertEqual(try r.run("EXPIREAT", "x", "4000000000"), .integer(0), r.name)
        }
    }

    func testTouchCountsExistingKeysAsAccesses() throws {
        try onEveryServer { r in
            XCTAssertEqual(try r.run("SET", "foo", "1"), .ok)
            XCTAssertEqual(try r.run("SET", "bar", "2"), .ok)
            XCTAssertEqual(try r.run("TOUCH", "foo", "bar", "none", "foo"), .integer(3), r.name)
            // Two touches, and HGET's own read.
            XCTAssertEqual(try r.run("HGET", "foo", "access_count"), .bulk("3"), r.name)
            XCTAssertEqual(try r.run("TOUCH"), .error("ERR wrong number of arguments for 'touch' command"))
        }
    }

    func testRenameMovesTheWholeEntry() throws {
        try onEveryServer { r in
            XCTAssertEqual(try r.run("RENAME", "nokey", "x"), .error("ERR no such key"), r.name)
            XCTAssertEqual(try r.run("RENAMENX", "nokey", "x"), .error("ERR no such key"), r.name)
            XCTAssertEqual(try r.run("RENAME", "nokey", "nokey"), .error("ERR no such key"), r.name)
            XCTAssertEqual(
                try r.run("PUT", "p", "http://10.0.0.1:3128", "username", "alice", "password", "s3cret", "source", "a"),
                .ok
            )
            XCTAssertEqual(try r.run("EXPIRE", "p", "500"), .integer(1))
            XCTAssertEqual(try r.run("HEALTH", "p", "fail", "120", "timeout"), .simpleString("unhealthy"))
            let fields = try r.fields("p")
            XCTAssertEqual(try r.run("RENAME", "p", "p"), .ok, "onto itself: nothing changes")
            XCTAssertEqual(try r.run("RENAMENX", "p", "p"), .integer(0), r.name)
            XCTAssertEqual(try r.fields("p"), fields, r.name)

            XCTAssertEqual(try r.run("RENAME", "p", "q"), .ok)
            XCTAssertEqual(try r.run("EXISTS", "p"), .integer(0), r.name)
            XCTAssertEqual(try r.fields("q"), fields, "every field moves: \(r.name)")
            XCTAssertEqual(try r.run("TTL", "q"), .integer(500), r.name)

            XCTAssertEqual(try r.run("SET", "other", "http://other:1"), .ok)
            XCTAssertEqual(try r.run("RENAMENX", "q", "other"), .integer(0), r.name)
            XCTAssertEqual(try r.run("GET", "other"), .bulk("http://other:1"), r.name)
            XCTAssertEqual(try r.run("EXISTS", "q"), .integer(1), r.name)
            XCTAssertEqual(try r.run("RENAME", "q", "other"), .ok, "RENAME replaces the destination")
            XCTAssertEqual(try r.fields("other"), fields, r.name)
            XCTAssertEqual(try r.run("TTL", "other"), .integer(500), r.name)
            XCTAssertEqual(try r.run("RENAMENX", "other", "fresh"), .integer(1), r.name)
            XCTAssertEqual(try r.run("DBSIZE"), .integer(1), r.name)
            XCTAssertEqual(try r.run("RENAME", "a"), .error("ERR wrong number of arguments for 'rename' command"))
        }
    }

    func testCopyFollowsRedisWithOneDatabase() throws {
        try onEveryServer { r in
            XCTAssertEqual(try r.run("COPY", "nokey", "x"), .integer(0), r.name)
            XCTAssertEqual(try r.run("PUT", "src", "http://10.0.0.2:80", "username", "bob", "password", "pw"), .ok)
            XCTAssertEqual(try r.run("EXPIRE", "src", "300"), .integer(1))
            XCTAssertEqual(try r.run("GET", "src"), .bulk("http://10.0.0.2:80"))
            let same = RESPValue.error("ERR source and destination objects are the same")
            XCTAssertEqual(try r.run("COPY", "src", "src"), same, r.name)
            XCTAssertEqual(try r.run("COPY", "src", "src", "DB", "0"), same, r.name)
            XCTAssertEqual(try r.run("COPY", "src", "dst", "DB", "1"), .error("ERR DB index is out of range"))
            XCTAssertEqual(try r.run("COPY", "src", "dst", "DB", "-1"), .error("ERR DB index is out of range"))
            XCTAssertEqual(try r.run("COPY", "src", "dst", "DB", "x"), .error(Self.notInteger), r.name)
            XCTAssertEqual(
                try r.run("COPY", "src", "dst", "DB", "99999999999"),
                .error("ERR value is out of range, value must between -2147483648 and 2147483647")
            )
            XCTAssertEqual(try r.run("COPY", "src", "dst", "DB"), .error("ERR syntax error"), r.name)
            XCTAssertEqual(try r.run("COPY", "src", "src", "FOO"), .error("ERR syntax error"), "options first")
            XCTAssertEqual(try r.run("EXISTS", "dst"), .integer(0), "errors copy nothing")

            XCTAssertEqual(try r.run("COPY", "src", "dst", "DB", "0"), .integer(1), r.name)
            // HGET counts as a read of its own: the source was read twice, the copy is a new value.
            XCTAssertEqual(try r.run("HGET", "src", "access_count"), .bulk("2"), r.name)
            XCTAssertEqual(try r.run("HGET", "dst", "access_count"), .bulk("1"), "a copy is a new value")
            XCTAssertEqual(try r.run("TTL", "dst"), .integer(300), r.name)
            XCTAssertEqual(try r.run("HGET", "dst", "username"), .bulk("bob"), r.name)
            XCTAssertEqual(try r.run("HGET", "dst", "password"), .bulk("pw"), r.name)
            XCTAssertEqual(try r.run("SET", "dst", "http://changed:1"), .ok)
            XCTAssertEqual(try r.run("GET", "src"), .bulk("http://10.0.0.2:80"), "the copy is independent")
            XCTAssertEqual(try r.run("COPY", "src", "dst"), .integer(0), r.name)
            XCTAssertEqual(try r.run("COPY", "src", "dst", "REPLACE"), .integer(1), r.name)
            XCTAssertEqual(try r.run("GET", "dst"), .bulk("http://10.0.0.2:80"), r.name)
        }
    }

    func testRandomKeyNeverLoopsAndSkipsExpiredKeys() throws {
        try onEveryServer { r in
            XCTAssertEqual(try r.run("RANDOMKEY"), .null, r.name)
            for index in 0..<6 {
                XCTAssertEqual(try r.run("SET", "gone\(index)", "v", "PX", "1"), .ok)
            }
            usleep(20_000)  // every key has expired: RANDOMKEY must answer nil, not spin
            XCTAssertEqual(try r.run("RANDOMKEY"), .null, r.name)
            XCTAssertEqual(try r.run("SET", "live", "v"), .ok)
            for index in 0..<6 {
                XCTAssertEqual(try r.run("SET", "gone\(index)", "v", "PX", "1"), .ok)
            }
            usleep(20_000)
            for _ in 0..<10 {
                XCTAssertEqual(try r.run("RANDOMKEY"), .bulk("live"), r.name)
            }
            var seen = Set<String>()
            for index in 0..<5 { XCTAssertEqual(try r.run("SET", "k\(index)", "v"), .ok) }
            for _ in 0..<200 {
                guard let key = try r.run("RANDOMKEY").text else { return XCTFail("nil with live keys") }
                seen.insert(key)
            }
            XCTAssertEqual(seen, ["live", "k0", "k1", "k2", "k3", "k4"], "every key can be drawn: \(r.name)")
        }
    }

    func testKeysAndScanNeverListExpiredKeys() throws {
        try onEveryServer { r in
            XCTAssertEqual(try r.run("SET", "live", "v"), .ok)
            XCTAssertEqual(try r.run("SET", "gone", "v", "PX", "1"), .ok)
            usleep(20_000)
            XCTAssertEqual(try r.run("KEYS", "*"), .array([.bulk("live")]), r.name)
            XCTAssertEqual(try r.run("SCAN", "0", "COUNT", "100").array?.last, .array([.bulk("live")]), r.name)
            // strtoul's cursor: empty and signed cursors are numbers, a leading space is not.
            XCTAssertEqual(try r.run("SCAN", "").array?.first, .bulk("0"), r.name)
            XCTAssertEqual(try r.run("SCAN", "+0").array?.first, .bulk("0"), r.name)
            XCTAssertEqual(try r.run("SCAN", " 0"), .error("ERR invalid cursor"), r.name)
            XCTAssertEqual(try r.run("SCAN", "18446744073709551616"), .error("ERR invalid cursor"), r.name)
            XCTAssertEqual(try r.run("SCAN", "0", "COUNT", "0"), .error("ERR syntax error"), r.name)
        }
    }

    func testKeysMatchTheBytesOfBinaryKeys() throws {
        try onEveryServer { r in
            XCTAssertEqual(try r.raw([[0xFF, 0x01], Array("v".utf8)], command: "SET"), .ok)
            XCTAssertEqual(try r.raw([Array("\u{FF}*".utf8)], command: "KEYS"), .array([]), "U+00FF is two bytes")
            XCTAssertEqual(
                try r.raw([[0xFF, UInt8(ascii: "*")]], command: "KEYS"),
                .array([.bulkString([0xFF, 0x01])])
            )
            XCTAssertEqual(
                try r.raw([[UInt8(ascii: "?"), 0x01]], command: "KEYS"),
                .array([.bulkString([0xFF, 0x01])])
            )
        }
    }

    func testObjectEncodingAndRefcount() throws {
        try onEveryServer { r in
            let cases: [(String, String, Int64)] = [
                ("123", "int", Int64(Int32.max)), ("9999", "int", Int64(Int32.max)), ("10000", "int", 1),
                ("-1", "int", 1), ("012", "embstr", 1), ("+1", "embstr", 1), ("9223372036854775807", "int", 1),
                ("9223372036854775808", "embstr", 1), ("", "embstr", 1),
                (String(repeating: "a", count: 44), "embstr", 1), (String(repeating: "a", count: 45), "raw", 1),
            ]
            for (value, encoding, references) in cases {
                XCTAssertEqual(try r.run("SET", "v", value), .ok)
                XCTAssertEqual(try r.run("OBJECT", "ENCODING", "v"), .bulk(encoding), "\(value) \(r.name)")
                XCTAssertEqual(try r.run("OBJECT", "REFCOUNT", "v"), .integer(references), "\(value) \(r.name)")
            }
            XCTAssertEqual(try r.run("OBJECT", "ENCODING", "none"), .null, r.name)
            XCTAssertEqual(try r.run("OBJECT", "IDLETIME", "none"), .null, r.name)
            XCTAssertEqual(try r.run("OBJECT", "IDLETIME", "v"), .integer(0), r.name)
            XCTAssertEqual(try r.run("OBJECT", "FREQ", "v"), .error(Self.lfuNotSelected), r.name)
            XCTAssertEqual(try r.run("OBJECT"), .error("ERR wrong number of arguments for 'object' command"))
            XCTAssertEqual(try r.run("OBJECT", "foo"), .error("ERR unknown subcommand 'foo'. Try OBJECT HELP."))
            XCTAssertEqual(
                try r.run("OBJECT", "ENCODING"),
                .error("ERR wrong number of arguments for 'object|encoding' command")
            )
            XCTAssertEqual(try r.run("OBJECT", "HELP").array?.first, .simpleString(Self.objectHelpHeader), r.name)
            XCTAssertEqual(try r.run("OBJECT", "HELP").array?.count, 15, r.name)
        }
    }

    func testObjectFrequencyUnderLFU() throws {
        let server = try ServerProcess(arguments: ["--tiers", "l1", "--eviction-policy", "lfu"])
        defer {
            XCTAssertEqual(server.stop(), 0)
            server.removeDirectory()
        }
        let r = Session(client: try server.client(), name: "lfu")
        XCTAssertEqual(try r.run("SET", "k", "v"), .ok)
        XCTAssertEqual(try r.run("OBJECT", "FREQ", "k"), .integer(5), "a new value starts at LFU_INIT_VAL")
        XCTAssertEqual(try r.run("GET", "k"), .bulk("v"))
        XCTAssertEqual(try r.run("OBJECT", "FREQ", "k"), .integer(6), "the first read always counts")
        for _ in 0..<11 { _ = try r.run("GET", "k") }
        XCTAssertEqual(try r.run("OBJECT", "FREQ", "k"), .integer(7), "the next step takes 11 reads on average")
        XCTAssertEqual(try r.run("OBJECT", "IDLETIME", "k"), .error(Self.lfuSelected))
    }

    func testMemoryUsage() throws {
        try onEveryServer { r in
            XCTAssertEqual(try r.run("SET", "short", "v"), .ok)
            XCTAssertEqual(try r.run("SET", "long", String(repeating: "x", count: 10_000)), .ok)
            guard let short = try r.run("MEMORY", "USAGE", "short").integerValue,
                let long = try r.run("MEMORY", "USAGE", "long").integerValue
            else { return XCTFail("MEMORY USAGE of an existing key is an integer") }
            XCTAssertGreaterThan(short, 100, r.name)
            // The 9,999 more bytes of the value count (L1 holds key and value in one block, so nothing else differs).
            XCTAssertGreaterThanOrEqual(long, short + 9_999, "the value's bytes count: \(r.name)")
            XCTAssertEqual(try r.run("MEMORY", "USAGE", "long", "SAMPLES", "0"), .integer(Int64(long)), r.name)
            XCTAssertEqual(try r.run("MEMORY", "USAGE", "none"), .null, r.name)
            XCTAssertEqual(try r.run("MEMORY", "USAGE", "none", "SAMPLES"), .error("ERR syntax error"), r.name)
            XCTAssertEqual(try r.run("MEMORY", "USAGE", "none", "SAMPLES", "-1"), .error("ERR syntax error"))
            XCTAssertEqual(try r.run("MEMORY", "USAGE", "none", "SAMPLES", "x"), .error(Self.notInteger))
            XCTAssertEqual(try r.run("MEMORY", "USAGE", "none", "FOO"), .error("ERR syntax error"), r.name)
            XCTAssertEqual(
                try r.run("MEMORY", "USAGE"),
                .error("ERR wrong number of arguments for 'memory|usage' command")
            )
            XCTAssertEqual(try r.run("MEMORY", "foo"), .error("ERR unknown subcommand 'foo'. Try MEMORY HELP."))
            XCTAssertEqual(try r.run("MEMORY", "PURGE"), .ok, r.name)
            XCTAssertEqual(try r.run("MEMORY", "HELP").array?.count, 12, r.name)
            XCTAssertEqual(try r.run("MEMORY", "STATS"), .error("ERR unknown subcommand 'STATS'. Try MEMORY HELP."))
        }
    }

    func testTimeAndLastSave() throws {
        try onEveryServer { r in
            guard let time = try r.run("TIME").array, time.count == 2,
                let seconds = time[0].text.flatMap({ Int($0) }), let microseconds = time[1].text.flatMap({ Int($0) })
            else { return XCTFail("TIME is two bulk strings of integers") }
            XCTAssertEqual(Double(seconds), Date().timeIntervalSince1970, accuracy: 60, r.name)
            XCTAssertTrue((0..<1_000_000).contains(microseconds), r.name)
            XCTAssertEqual(try r.run("TIME", "x"), .error("ERR wrong number of arguments for 'time' command"))
            guard let lastSave = try r.run("LASTSAVE").integerValue else { return XCTFail("LASTSAVE is an integer") }
            XCTAssertLessThanOrEqual(lastSave, seconds, r.name)
        }
    }

    /// LASTSAVE is the server's start until a disk tier commits, then the time of the last commit; with L1 alone
    /// it stays the start.
    func testLastSaveFollowsDiskCommits() throws {
        let disk = try ServerProcess(arguments: ["--fsync", "always"])
        let memory = try ServerProcess(arguments: ["--tiers", "l1"])
        defer {
            for server in [disk, memory] {
                XCTAssertEqual(server.stop(), 0)
                server.removeDirectory()
            }
        }
        let diskClient = Session(client: try disk.client(), name: "disk")
        let memoryClient = Session(client: try memory.client(), name: "memory")
        // A write that queues nothing, before any write was ever queued, is durable at once (it was answered IOERR).
        XCTAssertEqual(try diskClient.run("FLUSHALL"), .ok)
        let started = try diskClient.run("LASTSAVE").integerValue ?? 0
        let memoryStarted = try memoryClient.run("LASTSAVE").integerValue ?? 0
        sleep(2)  // so a commit falls in a later second than the start
        XCTAssertEqual(try diskClient.run("SET", "k", "v"), .ok)  // acknowledged once committed (--fsync always)
        XCTAssertEqual(try memoryClient.run("SET", "k", "v"), .ok)
        XCTAssertGreaterThan(try diskClient.run("LASTSAVE").integerValue ?? 0, started)
        XCTAssertEqual(try memoryClient.run("LASTSAVE").integerValue, memoryStarted)
    }

    /// What RENAME, COPY and EXPIREAT wrote is on disk: a restarted server serves it, fields and TTL included.
    func testRenameCopyAndExpiryOutliveARestart() throws {
        let first = try ServerProcess(arguments: ["--fsync", "always"])
        var r = Session(client: try first.client(), name: "first")
        XCTAssertEqual(try r.run("PUT", "p", "http://10.0.0.9:80", "username", "carol", "password", "pw9"), .ok)
        XCTAssertEqual(try r.run("EXPIREAT", "p", "4000000000"), .integer(1))
        XCTAssertEqual(try r.run("RENAME", "p", "q"), .ok)
        XCTAssertEqual(try r.run("COPY", "q", "c"), .integer(1))
        XCTAssertEqual(try r.run("PEXPIREAT", "c", "4100000000123"), .integer(1))
        XCTAssertEqual(try r.run("SET", "gone", "v"), .ok)
        XCTAssertEqual(try r.run("EXPIREAT", "gone", "1"), .integer(1))
        let fields = try r.fields("q")
        XCTAssertEqual(first.stop(), 0)

        let second = try ServerProcess(arguments: ["--fsync", "always"], directory: first.directory)
        defer {
            XCTAssertEqual(second.stop(), 0)
            second.removeDirectory()
        }
        r = Session(client: try second.client(), name: "second")
        XCTAssertEqual(try r.run("EXISTS", "p"), .integer(0))
        XCTAssertEqual(try r.run("EXISTS", "gone"), .integer(0))
        XCTAssertEqual(try r.fields("q"), fields)
        XCTAssertEqual(try r.run("EXPIRETIME", "q"), .integer(4_000_000_000))
        XCTAssertEqual(try r.run("PEXPIRETIME", "c"), .integer(4_100_000_000_123))
        XCTAssertEqual(try r.run("HGET", "c", "password"), .bulk("pw9"))
        XCTAssertEqual(try r.run("DBSIZE"), .integer(2))
    }

    private static let notInteger = "ERR value is not an integer or out of range"
    private static let gtAndLt = "ERR GT and LT options at the same time are not compatible"
    private static let objectHelpHeader = "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    private static let lfuNotSelected =
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching "
        + "between policies at runtime LRU and LFU data will take some time to adjust."
    private static let lfuSelected =
        "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between "
        + "policies at runtime LRU and LFU data will take some time to adjust."

    private static func invalidExpire(_ command: String) -> String {
        "ERR invalid expire time in '\(command)' command"
    }
}

/// A client of one server, named in assertion messages.
private struct Session {
    let client: RawClient
    let name: String

    func run(_ arguments: String...) throws -> RESPValue {
        try client.command(arguments)
    }

    /// The entry's fields by HGETALL, without the access figures that HGETALL itself changes.
    func fields(_ key: String) throws -> [String: String] {
        let values = try run("HGETALL", key).array ?? []
        var fields: [String: String] = [:]
        for index in stride(from: 0, to: values.count - 1, by: 2) {
            fields[values[index].text ?? ""] = values[index + 1].text
        }
        fields["access_count"] = nil
        fields["last_accessed"] = nil
        return fields
    }

    /// Sends `command` with arguments of any bytes.
    func raw(_ arguments: [[UInt8]], command: String) throws -> RESPValue {
        var request = Array("*\(arguments.count + 1)\r\n$\(command.utf8.count)\r\n\(command)\r\n".utf8)
        for argument in arguments {
            request += Array("$\(argument.count)\r\n".utf8) + argument + Array("\r\n".utf8)
        }
        try client.send(request)
        return try client.readReply()
    }
}

import CacheProtocol
import Foundation
import NIOCore
import XCTest

/// The string commands against the real server, with the edge cases Redis 7.0's own suite checks
/// (tests/unit/type/string.tcl and incr.tcl) and the replies redis-server 7.0.15 gave to the same commands.
///
/// Every scenario runs on a memory-only server and on one with every disk tier and a two-entry L1, so the keys are
/// mostly read back from disk (the commands then run off the event loop); a restart keeps what the commands wrote.
final class StringCommandsEndToEndTests: XCTestCase {
    /// A small `--proto-max-bulk-len`, so the size limit of SETRANGE and APPEND is reached without 512 MB values.
    private static let maxBulkLength = 4096

    private static func startServer(_ arguments: [String], directory: String? = nil) throws -> ServerProcess {
        try ServerProcess(arguments: arguments + ["--proto-max-bulk-len", String(maxBulkLength)], directory: directory)
    }

    private static let memoryOnly = ["--tiers", "l1"]
    private static let diskTiers = ["--l1-max-entries", "2"]

    /// Runs `scenario` against a memory-only server and against one with every disk tier.
    private func onBothServers(_ scenario: (Session) throws -> Void) throws {
        for arguments in [Self.memoryOnly, Self.diskTiers] {
            let server = try Self.startServer(arguments)
            defer {
                XCTAssertEqual(server.stop(), 0)
                server.removeDirectory()
            }
            try scenario(Session(client: try server.client(), name: arguments.joined(separator: " ")))
        }
    }

    // MARK: - Counters

    func testIncrDecrAndTheirErrors() throws {
        try onBothServers { s in
            try s.expect(["INCR", "novar"], .integer(1))
            try s.expect(["GET", "novar"], .bulk("1"))
            try s.expect(["INCR", "novar"], .integer(2))
            try s.expect(["TTL", "novar"], .integer(-1), "a key INCR created never expires")
            try s.expect(["SET", "novar", "100"], .ok)
            try s.expect(["INCR", "novar"], .integer(101))
            try s.expect(["SET", "novar", "17179869184"], .ok)
            try s.expect(["INCR", "novar"], .integer(17_179_869_185))
            try s.expect(["SET", "novar", "17179869184"], .ok)
            try s.expect(["INCRBY", "novar", "17179869184"], .integer(34_359_738_368))
            try s.expect(["SET", "novar", "17179869184"], .ok)
            try s.expect(["DECRBY", "novar", "17179869185"], .integer(-1))
            try s.expect(["DECR", "novar"], .integer(-2))
            for bad in ["    11", "11    ", "    11    ", "", "-0", "007", "1.5", "+1", "http://10.0.0.1:3128"] {
                try s.expect(["SET", "novar", bad], .ok)
                try s.expect(["INCR", "novar"], .error("ERR value is not an integer or out of range"), bad)
                try s.expect(["GET", "novar"], .bulk(bad), "a failed INCR changes nothing")
            }
            try s.expect(["SET", "x", "0"], .ok)
            try s.expect(["DECRBY", "x", "-9223372036854775808"], .error("ERR decrement would overflow"))
            try s.expect(["SET", "x", "9223372036854775807"], .ok)
            try s.expect(["INCR", "x"], .error("ERR increment or decrement would overflow"))
            try s.expect(["INCRBY", "x", "-1"], .integer(9_223_372_036_854_775_806))
            try s.expect(["SET", "x", "-9223372036854775808"], .ok)
            try s.expect(["DECR", "x"], .error("ERR increment or decrement would overflow"))
            try s.expect(["DECRBY", "x", "1"], .error("ERR increment or decrement would overflow"))
            try s.expect(["GET", "x"], .bulk("-9223372036854775808"))
            try s.expect(["INCRBY", "x", "9223372036854775808"], .error("ERR value is not an integer or out of range"))
            try s.expect(["INCRBY", "x", "one"], .error("ERR value is not an integer or out of range"))
            try s.expect(["INCR"], .error("ERR wrong number of arguments for 'incr' command"))
            try s.expect(["DECRBY", "x"], .error("ERR wrong number of arguments for 'decrby' command"))
        }
    }

    func testCountersKeepTheExpiryAndTheEntrysOtherFields() throws {
        try onBothServers { s in
            try s.expect(["SET", "c", "10", "EX", "1000"], .ok)
            try s.expect(["INCRBY", "c", "5"], .integer(15))
            try s.expectTTL("c", within: 990...1000)
            try s.expect(["INCRBYFLOAT", "c", "0.5"], .bulk("15.5"))
            try s.expectTTL("c", within: 990...1000)
            _ = try s.client.command(["HSET", "c", "source", "feedA"])
            try s.expect(["APPEND", "c", "0"], .integer(5))
            try s.expect(["HGET", "c", "source"], .bulk("feedA"))
            try s.expect(["GET", "c"], .bulk("15.50"))
        }
    }

    func testIncrByFloatMatchesRedisDigits() throws {
        try onBothServers { s in
            try s.expect(["INCRBYFLOAT", "novar", "1"], .bulk("1"))
            try s.expect(["INCRBYFLOAT", "novar", "0.25"], .bulk("1.25"))
            try s.expect(["GET", "novar"], .bulk("1.25"))
            try s.expect(["SET", "novar", "1.5"], .ok)
            try s.expect(["INCRBYFLOAT", "novar", "1.5"], .bulk("3"))
            try s.expect(["SET", "novar", "17179869184"], .ok)
            try s.expect(["INCRBYFLOAT", "novar", "1.5"], .bulk("17179869185.5"))
            try s.expect(["SET", "novar", "17179869184"], .ok)
            try s.expect(["INCRBYFLOAT", "novar", "17179869184"], .bulk("34359738368"))
            try s.expect(["SET", "f", "0"], .ok)
            try s.expect(["INCRBYFLOAT", "f", "0.1"], .bulk("0.1"), "long double's 17 digits round to what was typed")
            try s.expect(["SET", "g", "3.0"], .ok)
            try s.expect(["INCRBYFLOAT", "g", "1.1"], .bulk("4.1"))
            try s.expect(["INCRBYFLOAT", "g", "-1.1"], .bulk("3"))
            try s.expect(["SET", "t", "10"], .ok)
            try s.expect(["INCRBYFLOAT", "t", "1e-17"], .bulk("10.00000000000000001"), "beyond a double's precision")
            try s.expect(["INCRBYFLOAT", "q", "1e18"], .bulk("1000000000000000000"))
            try s.expect(["INCRBYFLOAT", "q", "0.5"], .bulk("1000000000000000000.5"))
            try s.expect(["INCRBYFLOAT", "h", "5.0e3"], .bulk("5000"))
            try s.expect(["INCRBYFLOAT", "h", "0x10"], .bulk("5016"), "strtold reads hexadecimal")
            try s.expect(
                ["INCRBYFLOAT", "big", "1e300"],
                .bulk(
                    "1000000000000000000008997324079559193870523944273290747938260082321265646596180935755849152083"
                        + "750497190350372508614274835903592556184672983913096260520748646287327135641843653294084255107"
                        + "606016789726652932370030551382947620994540294772781889620606179267611627097410650567187386105"
                        + "690089424915104006144"
                )
            )
            // "No negative zero" in incr.tcl: 1/41 then -1/41.
            try s.expect(["INCRBYFLOAT", "z", "0.024390243902439025"], .bulk("0.02439024390243902"))
            try s.expect(["INCRBYFLOAT", "z", "-0.024390243902439025"], .bulk("0"))
            try s.expect(["GET", "z"], .bulk("0"))
        }
    }

    func testIncrByFloatRejectsWhatRedisRejects() throws {
        try onBothServers { s in
            let notFloat = RESPValue.error("ERR value is not a valid float")
            try s.expect(["SET", "foo", "0"], .ok)
            try s.expect(["INCRBYFLOAT", "foo", "+inf"], .error("ERR increment would produce NaN or Infinity"))
            try s.expect(["INCRBYFLOAT", "foo", "-inf"], .error("ERR increment would produce NaN or Infinity"))
            try s.expect(["SET", "j", "1.7976931348623157e308"], .ok)
            try s.expect(["INCRBYFLOAT", "j", "1e308"], .bulk(Self.longDoubleSum), "long double does not overflow")
            for increment in ["nan", " 1", "1 ", "", "abc", "1e5000", "1e-5000"] {
                try s.expect(["INCRBYFLOAT", "foo", increment], notFloat, increment)
            }
            try s.expect(["INCRBYFLOAT", "foo", "1.2e-4940"], .bulk("0"), "a denormal long double is a number")
            for value in ["    11", "11    ", " 11 ", "1.5.5"] {
                try s.expect(["SET", "foo", value], .ok)
                try s.expect(["INCRBYFLOAT", "foo", "1.0"], notFloat, value)
                try s.expect(["GET", "foo"], .bulk(value))
            }
            // "string to double with null terminator".
            try s.expect(["SET", "foo", "1"], .ok)
            try s.expect(["SETRANGE", "foo", "2", "2"], .integer(3))
            try s.expect(["INCRBYFLOAT", "foo", "1"], notFloat)
            try s.expect(["INCRBYFLOAT", "foo"], .error("ERR wrong number of arguments for 'incrbyfloat' command"))
        }
    }

    private static let longDoubleSum =
        "2797693134862315700023522404413500787892999291796199340039876956176933709188303646840149442210420509"
        + "8734115571036154417168614802927650530713877726232187712988803606500220423903381255059850917413273948"
        + "0498569620043582760541189365866551522561741435317031294527744011878159793174665688773926186886103199"
        + "182225408"

    // MARK: - Byte edits

    func testSetRangeAsRedisSuiteChecksIt() throws {
        try onBothServers { s in
            try s.expect(["SETRANGE", "mykey", "0", "foo"], .integer(3))
            try s.expect(["GET", "mykey"], .bulk("foo"))
            try s.expect(["DEL", "mykey"], .integer(1))
            try s.expect(["SETRANGE", "mykey", "0", ""], .integer(0))
            try s.expect(["EXISTS", "mykey"], .integer(0), "setting nothing creates nothing")
            try s.expect(["SETRANGE", "mykey", "1", "foo"], .integer(4))
            try s.expect(["GET", "mykey"], .bulkBytes([0] + Array("foo".utf8)))
            try s.expect(["SET", "mykey", "foo"], .ok)
            try s.expect(["SETRANGE", "mykey", "0", "b"], .integer(3))
            try s.expect(["GET", "mykey"], .bulk("boo"))
            try s.expect(["SETRANGE", "mykey", "0", ""], .integer(3))
            try s.expect(["SETRANGE", "mykey", "1", "b"], .integer(3))
            try s.expect(["GET", "mykey"], .bulk("bbo"))
            try s.expect(["SETRANGE", "mykey", "4", "bar"], .integer(7))
            try s.expect(["GET", "mykey"], .bulkBytes(Array("bbo".utf8) + [0] + Array("bar".utf8)))
            try s.expect(["SET", "mykey", "1234"], .ok)
            try s.expect(["SETRANGE", "mykey", "5", "2"], .integer(6))
            try s.expect(["GET", "mykey"], .bulkBytes(Array("1234".utf8) + [0] + Array("2".utf8)))
        }
    }

    func testSetRangeAndAppendStopAtProtoMaxBulkLen() throws {
        try onBothServers { s in
            let tooBig = RESPValue.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
            let limit = Self.maxBulkLength
            try s.expect(["SETRANGE", "mykey", String(limit - 4), "world"], tooBig)
            try s.expect(["EXISTS", "mykey"], .integer(0))
            try s.expect(["SET", "mykey", "hello"], .ok)
            try s.expect(["SETRANGE", "mykey", "-1", "world"], .error("ERR offset is out of range"))
            try s.expect(["SETRANGE", "mykey", String(limit - 4), "world"], tooBig)
            try s.expect(["SETRANGE", "mykey", "9223372036854775807", "A"], tooBig)
            try s.expect(["SETRANGE", "mykey", "2147483647", "A"], tooBig)
            try s.expect(["SETRANGE", "mykey", "1e3", "A"], .error("ERR value is not an integer or out of range"))
            try s.expect(["GET", "mykey"], .bulk("hello"), "the errors changed nothing")
            try s.expect(["SETRANGE", "mykey", String(limit - 5), "world"], .integer(Int64(limit)))
            try s.expect(["STRLEN", "mykey"], .integer(Int64(limit)))
            try s.expect(["APPEND", "mykey", "!"], tooBig)
            try s.expect(["APPEND", "mykey", ""], .integer(Int64(limit)))
            try s.expect(["STRLEN", "mykey"], .integer(Int64(limit)))
            try s.expect(["GETRANGE", "mykey", "-5", "-1"], .bulk("world"))
        }
    }

    func testGetRangeAsRedisSuiteChecksIt() throws {
        try onBothServers { s in
            try s.expect(["GETRANGE", "mykey", "0", "-1"], .bulk(""), "a missing key is an empty string, not nil")
            try s.expect(["SET", "mykey", "Hello World"], .ok)
            let cases: [(String, String, String)] = [
                ("0", "3", "Hell"), ("0", "-1", "Hello World"), ("-4", "-1", "orld"), ("5", "3", ""),
                ("5", "5000", " World"), ("-5000", "10000", "Hello World"), ("-1", "-5", ""),
                ("0", "4294967297", "Hello World"), ("-9223372036854775808", "9223372036854775807", "Hello World"),
            ]
            for (start, end, expected) in cases {
                try s.expect(["GETRANGE", "mykey", start, end], .bulk(expected), "\(start) \(end)")
            }
            try s.expect(["SUBSTR", "mykey", "0", "3"], .bulk("Hell"))
            try s.expect(["SET", "mykey", "1234"], .ok)
            try s.expect(["GETRANGE", "mykey", "-3", "-1"], .bulk("234"))
            try s.expect(["GETRANGE", "mykey", "3", "5000"], .bulk("4"))
            try s.expect(["GETRANGE", "mykey", "0", "x"], .error("ERR value is not an integer or out of range"))
            try s.expect(["GETRANGE", "nokey", "x", "0"], .error("ERR value is not an integer or out of range"))
            try s.expect(["GETRANGE", "mykey", "0"], .error("ERR wrong number of arguments for 'getrange' command"))
        }
    }

    func testByteCommandsCountBytesOfBinaryValues() throws {
        try onBothServers { s in
            let value: [UInt8] = [0x00, 0xFF, 0xC3, 0xA9, 0x80, 0x0D, 0x0A]
            try s.expectBytes([Array("SET".utf8), Array("bin".utf8), value], .ok)
            try s.expect(["STRLEN", "bin"], .integer(7))
            try s.expect(["GETRANGE", "bin", "1", "2"], .bulkBytes([0xFF, 0xC3]), "half of a UTF-8 sequence")
            try s.expect(["GETRANGE", "bin", "2", "3"], .bulkBytes([0xC3, 0xA9]))
            try s.expectBytes([Array("APPEND".utf8), Array("bin".utf8), [0xA9]], .integer(8))
            try s.expectBytes([Array("SETRANGE".utf8), Array("bin".utf8), Array("3".utf8), [0xFE]], .integer(8))
            try s.expect(["GET", "bin"], .bulkBytes([0x00, 0xFF, 0xC3, 0xFE, 0x80, 0x0D, 0x0A, 0xA9]))
            // Two halves of "é" appended make the one character: the value is its bytes, not two fragments.
            try s.expectBytes([Array("APPEND".utf8), Array("e".utf8), [0xC3]], .integer(1))
            try s.expectBytes([Array("APPEND".utf8), Array("e".utf8), [0xA9]], .integer(2))
            try s.expect(["GET", "e"], .bulk("é"))
            try s.expect(["EXISTS", "e"], .integer(1))
            try s.expectBytes([Array("GETSET".utf8), [0xFF], [0xFE]], .null)
            try s.expectBytes([Array("GETSET".utf8), [0xFF], [0x00]], .bulkBytes([0xFE]))
        }
    }

    func testAppendStrlenAndEmptyValues() throws {
        try onBothServers { s in
            try s.expect(["STRLEN", "notakey"], .integer(0))
            try s.expect(["APPEND", "newkey", ""], .integer(0))
            try s.expect(["EXISTS", "newkey"], .integer(1), "APPEND of nothing creates an empty value")
            try s.expect(["GET", "newkey"], .bulk(""))
            try s.expect(["TTL", "newkey"], .integer(-1))
            try s.expect(["APPEND", "newkey", "abc"], .integer(3))
            try s.expect(["APPEND", "newkey", "def"], .integer(6))
            try s.expect(["GET", "newkey"], .bulk("abcdef"))
            try s.expect(["SET", "x", ""], .ok)
            try s.expect(["STRLEN", "x"], .integer(0))
            try s.expect(["GETRANGE", "x", "0", "-1"], .bulk(""))
            try s.expect(["GETRANGE", "x", "0", "0"], .bulk(""))
            try s.expect(["APPEND", "x", ""], .integer(0))
            try s.expect(["SETRANGE", "x", "0", ""], .integer(0))
            try s.expect(["EXISTS", "x"], .integer(1))
            try s.expect(["SET", "mystring", "foozzz0123456789 baz"], .ok)
            try s.expect(["STRLEN", "mystring"], .integer(20))
            try s.expect(["SET", "myinteger", "-555"], .ok)
            try s.expect(["STRLEN", "myinteger"], .integer(4))
            try s.expect(["APPEND", "x"], .error("ERR wrong number of arguments for 'append' command"))
        }
    }

    // MARK: - SET's variants

    func testSetNXSetEXPSetEXAndGetSet() throws {
        try onBothServers { s in
            try s.expect(["SETNX", "novar", "foobared"], .integer(1))
            try s.expect(["GET", "novar"], .bulk("foobared"))
            try s.expect(["SETNX", "novar", "blabla"], .integer(0))
            try s.expect(["GET", "novar"], .bulk("foobared"))
            try s.expect(["TTL", "novar"], .integer(-1))
            try s.expect(["SET", "x", "10"], .ok)
            try s.expect(["EXPIRE", "x", "10000"], .integer(1))
            try s.expect(["SETNX", "x", "20"], .integer(0), "a volatile key that has not expired")
            try s.expect(["GET", "x"], .bulk("10"))
            try s.expect(["SETNX", "empty", ""], .integer(1))
            try s.expect(["GET", "empty"], .bulk(""))

            try s.expect(["SETEX", "k", "100", "v"], .ok)
            try s.expectTTL("k", within: 99...100)
            try s.expect(["PSETEX", "k", "100000", "v2"], .ok)
            try s.expect(["GET", "k"], .bulk("v2"))
            try s.expectTTL("k", within: 99...100)
            for amount in ["0", "-1", "9223372036854775807"] {
                try s.expect(["SETEX", "k", amount, "v"], .error("ERR invalid expire time in 'setex' command"))
            }
            try s.expect(["PSETEX", "k", "0", "v"], .error("ERR invalid expire time in 'psetex' command"))
            try s.expect(["SETEX", "k", "ten", "v"], .error("ERR value is not an integer or out of range"))
            try s.expect(["GET", "k"], .bulk("v2"), "errors change nothing")
            try s.expect(["SETEX", "k", "10"], .error("ERR wrong number of arguments for 'setex' command"))

            try s.expect(["GETSET", "foo", "xyz"], .null)
            try s.expect(["GET", "foo"], .bulk("xyz"))
            try s.expect(["SET", "foo", "bar", "EX", "100"], .ok)
            try s.expect(["GETSET", "foo", "baz"], .bulk("bar"))
            try s.expect(["TTL", "foo"], .integer(-1), "GETSET sets a new value without the old expiry")
        }
    }

    func testGetEx() throws {
        try onBothServers { s in
            try s.expect(["GETEX", "nokey"], .null)
            try s.expect(["GETEX", "nokey", "EX", "0"], .null, "the amount of a missing key is never checked")
            try s.expect(["GETEX", "nokey", "EX", "abc"], .null)
            try s.expect(["GETEX", "nokey", "EX"], .error("ERR syntax error"))
            try s.expect(["GETEX", "nokey", "non-existent-option"], .error("ERR syntax error"))
            try s.expect(["GETEX", "nokey", "EX", "10", "PX", "10"], .error("ERR syntax error"))
            try s.expect(["GETEX", "nokey", "PERSIST", "KEEPTTL"], .error("ERR syntax error"))
            try s.expect(["GETEX", "nokey", "NX"], .error("ERR syntax error"))
            try s.expect(["GETEX"], .error("ERR wrong number of arguments for 'getex' command"))

            try s.expect(["SET", "foo", "bar"], .ok)
            try s.expect(["GETEX", "foo"], .bulk("bar"))
            try s.expect(["TTL", "foo"], .integer(-1))
            try s.expect(["GETEX", "foo", "EX", "0"], .error("ERR invalid expire time in 'getex' command"))
            try s.expect(["GETEX", "foo", "PX", "-5"], .error("ERR invalid expire time in 'getex' command"))
            try s.expect(["GETEX", "foo", "EXAT", "0"], .error("ERR invalid expire time in 'getex' command"))
            try s.expect(["GETEX", "foo", "EX", "abc"], .error("ERR value is not an integer or out of range"))
            try s.expect(["GETEX", "foo", "EX", "10"], .bulk("bar"))
            try s.expectTTL("foo", within: 9...10)
            try s.expect(["GETEX", "foo", "PX", "10000"], .bulk("bar"))
            try s.expectTTL("foo", within: 9...10)
            let now = Int(Date().timeIntervalSince1970)
            try s.expect(["GETEX", "foo", "EXAT", String(now + 100)], .bulk("bar"))
            try s.expectTTL("foo", within: 98...100)
            try s.expect(["GETEX", "foo", "PXAT", String((now + 200) * 1000)], .bulk("bar"))
            try s.expectTTL("foo", within: 198...200)
            try s.expect(["GETEX", "foo", "PERSIST"], .bulk("bar"))
            try s.expect(["TTL", "foo"], .integer(-1))
            try s.expect(["GETEX", "foo", "EX", "10", "EX", "20"], .bulk("bar"), "the last amount wins")
            try s.expectTTL("foo", within: 19...20)
            try s.expect(["GETEX", "foo", "EXAT", "1"], .bulk("bar"), "a time past replies the value...")
            try s.expect(["EXISTS", "foo"], .integer(0), "... and removes the key")
            try s.expect(["SET", "foo", "bar"], .ok)
            try s.expect(["GETEX", "foo", "PXAT", "1"], .bulk("bar"))
            try s.expect(["GET", "foo"], .null)
        }
    }

    func testSetOptionsAsRedisParsesThem() throws {
        try onBothServers { s in
            try s.expect(["SET", "foo", "bar", "GET"], .null, "GET of a missing key")
            try s.expect(["SET", "foo", "bar2", "GET"], .bulk("bar"))
            try s.expect(["SET", "foo", "baz", "NX", "GET"], .bulk("bar2"), "NX with GET, allowed since 7.0")
            try s.expect(["GET", "foo"], .bulk("bar2"))
            try s.expect(["SET", "new", "baz", "NX", "GET"], .null)
            try s.expect(["GET", "new"], .bulk("baz"))
            try s.expect(["SET", "absent", "baz", "XX", "GET"], .null)
            try s.expect(["EXISTS", "absent"], .integer(0))
            try s.expect(["SET", "foo", "bar", "EX", "10", "EX", "20"], .ok, "an option may repeat")
            try s.expectTTL("foo", within: 19...20)
            try s.expect(["SET", "foo", "bar", "KEEPTTL", "KEEPTTL"], .ok)
            try s.expectTTL("foo", within: 19...20)
            try s.expect(["SET", "foo", "bar", "NX", "NX"], .null)
            try s.expect(["SET", "foo", "bar", "GET", "GET"], .bulk("bar"))
            try s.expect(["SET", "foo", "bar", "XX", "PX", "10000"], .ok)
            try s.expectTTL("foo", within: 9...10)
            let syntax = RESPValue.error("ERR syntax error")
            try s.expect(["SET", "foo", "bar", "EX", "abc", "nonsense"], syntax, "the syntax is checked first")
            try s.expect(["SET", "foo", "bar", "EX", "10", "KEEPTTL"], syntax)
            try s.expect(["SET", "foo", "bar", "KEEPTTL", "EX", "10"], syntax)
            try s.expect(["SET", "foo", "bar", "EX", "10", "PX", "10"], syntax)
            try s.expect(["SET", "foo", "bar", "NX", "XX"], syntax)
            try s.expect(["SET", "foo", "bar", "PERSIST"], syntax)
            try s.expect(["SET", "foo", "bar", "EX"], syntax)
            try s.expect(["SET", "foo", "bar", "EX", "0"], .error("ERR invalid expire time in 'set' command"))
            try s.expect(["SET", "foo", "bar", "EXAT", "0"], .error("ERR invalid expire time in 'set' command"))
            try s.expect(["SET", "foo", "bar", "EX", "1.5"], .error("ERR value is not an integer or out of range"))
            try s.expect(["SET", "foo", "gone", "EXAT", "1", "GET"], .bulk("bar"))
            try s.expect(["GET", "foo"], .null)
            try s.expect(["MSET", "a", "1", "b"], .error("ERR wrong number of arguments for 'mset' command"))
            try s.expect(["MSET", "a", "1", "b", ""], .ok)
            try s.expect(["MGET", "a", "b", "c"], .array([.bulk("1"), .bulk(""), .null]))
        }
    }

    // MARK: - Concurrency

    /// Clients counting on one key at once lose no increment and no append: each command reads, changes and
    /// writes its key in one step.
    func testConcurrentIncrementsAndAppendsAreNotLost() throws {
        for arguments in [Self.memoryOnly, Self.diskTiers] {
            let server = try Self.startServer(arguments)
            defer {
                XCTAssertEqual(server.stop(), 0)
                server.removeDirectory()
            }
            let clients = 4
            let rounds = 300
            let failures = SharedCounter()
            let socketPath = server.socketPath
            DispatchQueue.concurrentPerform(iterations: clients) { _ in
                do {
                    let client = try RawClient(path: socketPath)
                    var pipeline = ByteBuffer()
                    for _ in 0..<rounds {
                        pipeline.writeRESPCommand(["INCR", "counter"])
                        pipeline.writeRESPCommand(["INCRBYFLOAT", "float", "0.5"])
                        pipeline.writeRESPCommand(["APPEND", "log", "x"])
                        // Other keys between them, so with a two-entry L1 the counters go to disk and back.
                        pipeline.writeRESPCommand(["SET", "other\(Int.random(in: 0..<10))", "v"])
                    }
                    try client.send(Array(pipeline.readableBytesView))
                    for _ in 0..<(rounds * 4) {
                        if try client.readReply().isError { failures.increment() }
                    }
                } catch {
                    failures.increment()
                }
            }
            XCTAssertEqual(failures.value, 0)
            let s = Session(client: try server.client(), name: arguments.joined(separator: " "))
            try s.expect(["GET", "counter"], .bulk(String(clients * rounds)))
            try s.expect(["GET", "float"], .bulk(String(clients * rounds / 2)))
            try s.expect(["STRLEN", "log"], .integer(Int64(clients * rounds)))
        }
    }

    // MARK: - Restart

    /// What the string commands wrote is on disk: a restart serves the same values and expiries, binary bytes too,
    /// through the SQLite tiers and through the JSONL L2 alone.
    func testWhatTheCommandsWroteSurvivesARestart() throws {
        for arguments in [Self.diskTiers, ["--l2-backend", "jsonl", "--tiers", "l1,l2", "--l1-max-entries", "2"]] {
            let first = try Self.startServer(arguments)
            defer { first.removeDirectory() }
            let s = Session(client: try first.client(), name: arguments.joined(separator: " "))
            try s.expect(["INCRBY", "counter", "41"], .integer(41))
            try s.expect(["INCR", "counter"], .integer(42))
            try s.expect(["INCRBYFLOAT", "float", "10.5"], .bulk("10.5"))
            try s.expect(["INCRBYFLOAT", "float", "1e-17"], .bulk("10.50000000000000001"))
            try s.expect(["SETEX", "volatile", "1000", "v"], .ok)
            try s.expect(["SET", "persisted", "p", "EX", "1000"], .ok)
            try s.expect(["GETEX", "persisted", "PERSIST"], .bulk("p"))
            try s.expect(["SETNX", "empty", ""], .integer(1))
            try s.expect(["APPEND", "appended", "abc"], .integer(3))
            try s.expectBytes([Array("APPEND".utf8), Array("appended".utf8), [0xFF, 0x00]], .integer(5))
            try s.expect(["SETRANGE", "ranged", "2", "xy"], .integer(4))
            try s.expect(["SET", "gone", "g"], .ok)
            try s.expect(["GETEX", "gone", "EXAT", "1"], .bulk("g"))
            XCTAssertEqual(first.stop(), 0, first.log)

            let second = try Self.startServer(arguments, directory: first.directory)
            defer { second.stop() }
            let again = Session(client: try second.client(), name: s.name + " after a restart")
            try again.expect(["GET", "counter"], .bulk("42"))
            try again.expect(["INCR", "counter"], .integer(43))
            try again.expect(["GET", "float"], .bulk("10.50000000000000001"))
            try again.expectTTL("volatile", within: 900...1000)
            try again.expect(["TTL", "persisted"], .integer(-1))
            try again.expect(["TTL", "counter"], .integer(-1))
            try again.expect(["GET", "empty"], .bulk(""))
            try again.expect(["GET", "appended"], .bulkBytes(Array("abc".utf8) + [0xFF, 0x00]))
            try again.expect(["GET", "ranged"], .bulkBytes([0, 0] + Array("xy".utf8)))
            try again.expect(["EXISTS", "gone"], .integer(0))
        }
    }
}

/// One client of one server, and the assertions the scenarios make with it.
private struct Session {
    let client: RawClient
    /// Which server, for failure messages.
    let name: String

    func expect(
        _ arguments: [String],
        _ expected: RESPValue,
        _ message: String = "",
        file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        let reply = try client.command(arguments)
        XCTAssertEqual(reply, expected, "\(arguments) on \(name) \(message)", file: file, line: line)
    }

    func expectBytes(
        _ arguments: [[UInt8]],
        _ expected: RESPValue,
        file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        var out = ByteBuffer()
        out.writeRESPCommand(arguments: arguments)
        try client.send(Array(out.readableBytesView))
        XCTAssertEqual(try client.readReply(), expected, "\(arguments) on \(name)", file: file, line: line)
    }

    /// The TTL is within `range` seconds (a range, as Redis's suite checks it: time passes between the commands).
    func expectTTL(
        _ key: String,
        within range: ClosedRange<Int>,
        file: StaticString = #filePath,
        line: UInt = #line
    )
        throws
    {
        let reply = try client.command(["TTL", key])
        guard case .integer(let ttl) = reply else {
            XCTFail("TTL \(key) on \(name): \(reply)", file: file, line: line)
            return
        }
        XCTAssertTrue(
            range.contains(Int(ttl)),
            "TTL \(key) on \(name): \(ttl), expected \(range)",
            file: file,
            line: line
        )
    }
}

extension RESPValue {
    fileprivate static func bulkBytes(_ bytes: [UInt8]) -> RESPValue { .bulkString(bytes) }
}

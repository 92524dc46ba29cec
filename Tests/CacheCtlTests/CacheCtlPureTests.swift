import CacheProtocol
import XCTest

@testable import cachectl

final class CSVParserTests: XCTestCase {
    func testQuotedFieldsCommasDoubledQuotesAndCRLF() throws {
        let text = "proxy_url,username,password\r\n\"http://a:1\",\"us,er\",\"p\"\"w\"\"d\"\r\nhttp://b:2,,\r\n"
        XCTAssertEqual(
            try CSVParser.parse(Array(text.utf8)),
            [["proxy_url", "username", "password"], ["http://a:1", "us,er", "p\"w\"d"], ["http://b:2", "", ""]]
        )
    }

    func testLineEndsInsideQuotesAreKept() throws {
        let text = "a,b\n\"one\r\ntwo\",\"x\ny\"\n"
        XCTAssertEqual(try CSVParser.parse(Array(text.utf8)), [["a", "b"], ["one\r\ntwo", "x\ny"]])
    }

    func testBlankLinesSkippedLoneCRAndNoFinalNewline() throws {
        let text = "a\n\n\r\nb\rc"
        XCTAssertEqual(try CSVParser.parse(Array(text.utf8)), [["a"], ["b"], ["c"]])
    }

    func testEmptyFieldsAndTrailingSeparator() throws {
        XCTAssertEqual(try CSVParser.parse(Array(",\na,\n\"\"\n".utf8)), [["", ""], ["a", ""], [""]])
    }

    func testQuoteInsideUnquotedFieldAndTextAfterClosingQuote() throws {
        XCTAssertEqual(try CSVParser.parse(Array("ab\"c,\"de\"f\n".utf8)), [["ab\"c", "def"]])
    }

    func testUnterminatedQuoteThrowsWithItsLine() {
        XCTAssertThrowsError(try CSVParser.parse(Array("a\nb\n\"open,\nmore".utf8))) { error in
            XCTAssertEqual(error as? CSVParseError, CSVParseError(message: "quoted field is never closed", line: 3))
        }
    }

    func testUTF8Survives() throws {
        XCTAssertEqual(try CSVParser.parse(Array("\"héllo, wörld\",日本\n".utf8)), [["héllo, wörld", "日本"]])
    }
}

final class JSONTests: XCTestCase {
    func testParsesEveryKindOfValue() throws {
        let value = try JSONParser.parse(
            #" {"a": [1, -2.5e3, true, false, null], "b": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"} "#
        )
        XCTAssertEqual(
            value,
            .object([
                ("a", .array([.number("1"), .number("-2.5e3"), .bool(true), .bool(false), .null])),
                ("b", .string("x\"\\/\u{8}\u{c}\n\r\té😀")),
            ])
        )
    }

    func testRejectsMalformedInput() {
        for text in [
            "", "[1,]", "{\"a\" 1}", "[01]", "[1.]", "-", "\"abc", "\"a\u{1}\"", "tru", "[1] x", "{\"a\":1,}", "'a'",
            "\"\\x\"", "\"\\u12\"", "NaN",
        ] {
            XCTAssertThrowsError(try JSONParser.parse(text), "accepted \(text.debugDescription)")
        }
    }

    func testDepthIsBounded() {
        let deep =
            String(repeating: "[", count: JSONParser.maximumDepth + 1)
            + String(repeating: "]", count: JSONParser.maximumDepth + 1)
        XCTAssertThrowsError(try JSONParser.parse(deep))
        let fine = String(repeating: "[", count: 10) + String(repeating: "]", count: 10)
        XCTAssertNoThrow(try JSONParser.parse(fine))
    }

    func testLoneSurrogateBecomesReplacementCharacter() throws {
        XCTAssertEqual(try JSONParser.parse(#""\ud800x""#), .string("\u{FFFD}x"))
        XCTAssertEqual(try JSONParser.parse(#""\udc00""#), .string("\u{FFFD}"))
    }

    func testParsesARangeWithOffsetsRelativeToIt() {
        let bytes = Array("xx{\"a\":}yy".utf8)
        XCTAssertThrowsError(try JSONParser.parse(bytes, in: 2..<8)) { error in
            XCTAssertEqual((error as? JSONParseError)?.offset, 5)
        }
    }

    func testEncodingEscapesAndRoundTrips() throws {
        let value = JSONValue.object([
            ("s", .string("q\"b\\n\n\u{1}\u{7f}é")), ("n", .number("1.5")), ("a", .array([.null, .bool(true)])),
        ])
        XCTAssertEqual(value.jsonText, #"{"s":"q\"b\\n\n\u0001\u007fé","n":1.5,"a":[null,true]}"#)
        XCTAssertEqual(try JSONParser.parse(value.jsonText), value)
    }

    func testNumberGrammar() {
        for good in ["0", "-0", "12", "1.5", "1e5", "1E+5", "-1.25e-3"] {
            XCTAssertTrue(JSONValue.isNumber(good), good)
        }
        for bad in ["", "-", "01", "1.", ".5", "1e", "+1", "inf", "nan", "1 ", "0x10", "١"] {
            XCTAssertFalse(JSONValue.isNumber(bad), bad)
        }
    }

    func testLastMemberWins() throws {
        XCTAssertEqual(try JSONParser.parse(#"{"a":1,"a":2}"#)["a"], .number("2"))
    }
}

final class WarmFileTests: XCTestCase {
    private func row(
        _ url: String,
        key: String? = nil,
        username: String? = nil,
        password: String? = nil,
        source: String? = nil
    ) -> WarmRow {
        WarmRow(key: key, proxyURL: url, username: username, password: password, source: source)!
    }

    func testFormatFromExtension() {
        XCTAssertEqual(WarmFormat(path: "a/b.JSON"), .json)
        XCTAssertEqual(WarmFormat(path: "b.jsonl"), .jsonl)
        XCTAssertEqual(WarmFormat(path: "b.ndjson"), .jsonl)
        XCTAssertEqual(WarmFormat(path: "b.csv"), .csv)
        XCTAssertNil(WarmFormat(path: "b.txt"))
        XCTAssertNil(WarmFormat(path: "dir.json/b"))
        XCTAssertNil(WarmFormat(path: "-"))
    }

    func testJSONArray() throws {
        let text =
            #"[{"proxy_url":" http://a:1 ","username":"u","password":null,"source":"s"},{"x":1},3,"#
            + #"{"proxy_url":""},{"proxy_url":"http://b:2","password":5},{"proxy_url":"http://c:3","key":"k"}]"#
        let file = try WarmFile.parse(Array(text.utf8), format: .json)
        XCTAssertEqual(file.rows, [row("http://a:1", username: "u", source: "s"), row("http://c:3", key: "k")])
        XCTAssertEqual(file.skipped, 4)
    }

    func testJSONThatIsNotAnArrayIsAnError() {
        XCTAssertThrowsError(try WarmFile.parse(Array(#"{"proxy_url":"x"}"#.utf8), format: .json))
        XCTAssertThrowsError(try WarmFile.parse(Array("[{".utf8), format: .json))
    }

    /// proxywhirl 0.3.3's `warm_from_file` on .jsonl: blank lines are ignored, a line that is not JSON is failed,
    /// JSON without a usable proxy_url (missing, empty, not a string, or not an object) is skipped.
    func testJSONLinesCountAsProxywhirlDoes() throws {
        let text =
            "\u{FEFF}{\"proxy_url\":\"http://a:1\"}\r\n\n  \n{broken\n[1]\n{\"proxy_url\":\"http://b:2\"}\n"
            + "{\"source\":\"s\"}\n{\"proxy_url\":\"\"}\n{\"proxy_url\":7}\n\t\n\"text\"\nnot json either"
        let file = try WarmFile.parse(Array(text.utf8), format: .jsonl)
        XCTAssertEqual(file.rows, [row("http://a:1"), row("http://b:2")])
        XCTAssertEqual(file.skipped, 5, "[1], no proxy_url, empty proxy_url, a number, a JSON string")
        XCTAssertEqual(file.failed, 2, "{broken and the last line")
        XCTAssertEqual(file.warnings, ["2 lines are not valid JSON (lines 4, 12): counted as failed"])
        let one = try WarmFile.parse(Array("{x\n".utf8), format: .jsonl)
        XCTAssertEqual(one.failed, 1)
        XCTAssertEqual(one.warnings, ["line 1 is not valid JSON: counted as failed"])
    }

    func testCSVWithHeader() throws {
        let text =
            "\u{FEFF} proxy_url ,source,username,password\r\nhttp://a:1,s,\"u,1\",\"p\"\"\"\r\n,s,u,p\r\nhttp://b:2\r\n"
        let file = try WarmFile.parse(Array(text.utf8), format: .csv)
        XCTAssertEqual(
            file.rows,
            [row("http://a:1", username: "u,1", password: "p\"", source: "s"), row("http://b:2")]
        )
        XCTAssertEqual(file.skipped, 1)
        XCTAssertEqual(file.warnings, [])
    }

    func testCSVWithoutProxyURLColumnSkipsEveryRow() throws {
        let file = try WarmFile.parse(Array("url\nhttp://a\nhttp://b\n".utf8), format: .csv)
        XCTAssertEqual(file.rows, [])
        XCTAssertEqual(file.skipped, 2)
        XCTAssertEqual(file.warnings.count, 1)
    }

    func testPutCommand() {
        XCTAssertEqual(
            row("http://a:1", username: "u", password: "p").putCommand(defaultSource: "warmed", ttlSeconds: 60),
            [
                "PUT", KeyDerivation.key(forProxyURL: "http://a:1"), "http://a:1", "username", "u", "password", "p",
                "source", "warmed", "ttl_seconds", "60",
            ]
        )
        XCTAssertEqual(
            row("http://a:1", key: "k", source: "mine").putCommand(defaultSource: "warmed", ttlSeconds: nil),
            ["PUT", "k", "http://a:1", "source", "mine"]
        )
    }
}

final class KeyDerivationTests: XCTestCase {
    func testMatchesProxywhirl() {
        // hashlib.sha256(b"http://1.2.3.4:8080").hexdigest()[:16]
        XCTAssertEqual(KeyDerivation.key(forProxyURL: "http://1.2.3.4:8080"), "fe229370330820fe")
        XCTAssertEqual(
            KeyDerivation.sha256Hex([]),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        )
    }
}

final class ReplyFormatterTests: XCTestCase {
    func testRedisCLIStyle() {
        XCTAssertEqual(ReplyFormatter.redisCLI(.simpleString("OK")), "OK")
        XCTAssertEqual(ReplyFormatter.redisCLI(.error("ERR x")), "(error) ERR x")
        XCTAssertEqual(ReplyFormatter.redisCLI(.integer(-3)), "(integer) -3")
        XCTAssertEqual(ReplyFormatter.redisCLI(.bulkString(nil)), "(nil)")
        XCTAssertEqual(ReplyFormatter.redisCLI(.array(nil)), "(nil)")
        XCTAssertEqual(ReplyFormatter.redisCLI(.array([])), "(empty array)")
        XCTAssertEqual(
            ReplyFormatter.redisCLI(.bulkString(Array("a\"b\\\n\u{7}\t".utf8) + [0, 0xff])),
            #""a\"b\\\n\a\t\x00\xff""#
        )
        XCTAssertEqual(
            ReplyFormatter.redisCLI(
                .array([.bulkString(Array("a".utf8)), .array([.integer(1), .array([.bulkString(nil)])])])
            ),
            "1) \"a\"\n2) 1) (integer) 1\n   2) 1) (nil)"
        )
        let ten = RESPValue.array(Array(repeating: .integer(0), count: 10))
        XCTAssertEqual(ReplyFormatter.redisCLI(ten).split(separator: "\n").first, " 1) (integer) 0")
        XCTAssertEqual(ReplyFormatter.redisCLI(ten).split(separator: "\n").last, "10) (integer) 0")
        XCTAssertEqual(
            ReplyFormatter.redisCLI(.array(Array(repeating: .array([.integer(1), .integer(2)]), count: 10))).split(
                separator: "\n"
            )[1],
            "    2) (integer) 2"
        )
    }

    func testJSON() {
        let reply = RESPValue.array([
            .simpleString("OK"), .error("ERR no"), .integer(7), .bulkString(nil), .bulkString(Array("é".utf8)),
            .array(nil),
        ])
        XCTAssertEqual(ReplyFormatter.json(reply).jsonText, #"["OK",{"error":"ERR no"},7,null,"é",null]"#)
    }
}

final class EntryFieldsTests: XCTestCase {
    func testTheKindSetsHoldEveryEntryFieldOfTheirKind() {
        // Derived from the table of entry fields: pinned, since JSON exports and the credential filter follow them.
        XCTAssertEqual(
            EntryFields.textFields,
            [
                "key", "proxy_url", "username", "password", "source", "health_status", "last_health_error", "status",
                "error", "error_message", "check_url",
            ]
        )
        XCTAssertEqual(EntryFields.flagFields, ["evicted_from_l1"])
        XCTAssertEqual(
            EntryFields.numberFields,
            [
                "fetch_time", "last_accessed", "access_count", "ttl_seconds", "expires_at", "failure_count",
                "last_health_check", "consecutive_health_failures", "consecutive_health_successes", "recovery_attempt",
                "next_check_time", "total_health_checks", "total_health_check_failures", "created_at", "updated_at",
                "check_time", "response_time_ms", "response_ms",
            ]
        )
        XCTAssertEqual(EntryFields.credentialFields, ["username", "password"])
    }

    func testTypes() {
        XCTAssertEqual(EntryFields.json(name: "password", value: "1234"), .string("1234"))
        XCTAssertEqual(EntryFields.json(name: "access_count", value: "3"), .number("3"))
        XCTAssertEqual(EntryFields.json(name: "expires_at", value: ""), .null)
        XCTAssertEqual(EntryFields.json(name: "evicted_from_l1", value: "1"), .bool(true))
        XCTAssertEqual(EntryFields.json(name: "evicted_from_l1", value: "false"), .bool(false))
        XCTAssertEqual(EntryFields.json(name: "something_new", value: "2.5"), .number("2.5"))
        XCTAssertEqual(EntryFields.json(name: "something_new", value: "abc"), .string("abc"))
    }

    func testObjectPutsKeyFirstAndDropsFields() {
        let object = EntryFields.object(
            [("proxy_url", "http://a"), ("key", "k"), ("password", "p"), ("ttl_seconds", "60")],
            leading: ("key", .string("k")),
            dropping: EntryFields.credentialFields
        )
        XCTAssertEqual(object.jsonText, #"{"key":"k","proxy_url":"http://a","ttl_seconds":60}"#)
    }
}

final class MiscTests: XCTestCase {
    func testTimestamp() {
        XCTAssertEqual(Timestamp.iso8601(0), "1970-01-01T00:00:00Z")
        XCTAssertEqual(Timestamp.iso8601(1_700_000_000.25), "2023-11-14T22:13:20.250Z")
    }

    func testHealthCommandFillsPositionalGaps() throws {
        let health = try CacheCtl.Health.parse(["k", "fail", "--check-url", "http://c"])
        XCTAssertEqual(health.command, ["HEALTH", "k", "fail", "", "", "http://c"])
        XCTAssertEqual(
            try CacheCtl.Health.parse(["k", "ok", "--response-ms", "12"]).command,
            ["HEALTH", "k", "ok", "12"]
        )
        XCTAssertEqual(
            try CacheCtl.Health.parse(["k", "ok", "--response-ms", "1.5"]).command,
            ["HEALTH", "k", "ok", "1.5"]
        )
    }

    func testPutCommandLine() throws {
        let put = try CacheCtl.Put.parse([
            "http://a:1", "--ttl", "5", "--field", "health_status=healthy", "--field", "x=a=b",
        ])
        XCTAssertEqual(
            put.command,
            ["PUT", "34e94dd08be1c901", "http://a:1", "ttl_seconds", "5", "health_status", "healthy", "x", "a=b"]
        )
        XCTAssertThrowsError(try CacheCtl.Put.parse(["http://a:1", "--field", "=x"]))
        XCTAssertThrowsError(try CacheCtl.Put.parse(["http://a:1", "--ttl", "-1"]))
    }

    func testBase64RoundTripsEveryLengthAndRejectsBadInput() {
        for length in 0..<10 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 37 + 250) }
            XCTAssertEqual(Base64.decode(Base64.encode(bytes)), bytes)
        }
        XCTAssertEqual(Base64.encode(Array("foobar".utf8)), "Zm9vYmFy")
        XCTAssertEqual(Base64.encode(Array("fo".utf8)), "Zm8=")
        XCTAssertNil(Base64.decode("Zm8"))
        XCTAssertNil(Base64.decode("Z=9v"))
        XCTAssertNil(Base64.decode("Zm9v!A=="))
    }
}

import CacheProtocol
import XCTest

/// Redis's `stringmatchlen`: the cases of the KEYS documentation and of Redis's own tests, and its quirks.
final class RedisGlobTests: XCTestCase {
    private func matches(_ pattern: String, _ string: String, nocase: Bool = false) -> Bool {
        RedisGlob.matches(Array(pattern.utf8), Array(string.utf8), caseInsensitive: nocase)
    }

    func testKeysDocumentationExamples() {
        for string in ["hello", "hallo", "hxllo"] { XCTAssertTrue(matches("h?llo", string), string) }
        for string in ["hllo", "heeeello"] { XCTAssertTrue(matches("h*llo", string), string) }
        XCTAssertTrue(matches("h[ae]llo", "hello"))
        XCTAssertTrue(matches("h[ae]llo", "hallo"))
        XCTAssertFalse(matches("h[ae]llo", "hillo"))
        XCTAssertTrue(matches("h[^e]llo", "hallo"))
        XCTAssertTrue(matches("h[^e]llo", "hbllo"))
        XCTAssertFalse(matches("h[^e]llo", "hello"))
        XCTAssertTrue(matches("h[a-b]llo", "hallo"))
        XCTAssertTrue(matches("h[a-b]llo", "hbllo"))
        XCTAssertFalse(matches("h[a-b]llo", "hcllo"))
    }

    func testStarsAndQuestionMarks() {
        XCTAssertTrue(matches("*", "anything"))
        XCTAssertTrue(matches("foo*", "foo"))
        XCTAssertTrue(matches("foo*", "foobar"))
        XCTAssertFalse(matches("foo*", "fo"))
        XCTAssertTrue(matches("*bar", "foobar"))
        XCTAssertTrue(matches("*o*a*", "foobar"))
        XCTAssertTrue(matches("a**b", "ab"))
        XCTAssertTrue(matches("a*", "a"))
        XCTAssertTrue(matches("a***", "a"))
        XCTAssertFalse(matches("?", ""))
        XCTAssertFalse(matches("??", "a"))
        XCTAssertTrue(matches("proxy:*:*", "proxy:http:1.2.3.4"))
        XCTAssertFalse(matches("proxy:*:*", "proxy:http"))
    }

    func testEmptyStrings() {
        XCTAssertTrue(matches("", ""))
        XCTAssertFalse(matches("", "a"))
        // Redis's quirk: an empty string matches no non-empty pattern, not even "*" (KEYS special-cases "*").
        XCTAssertFalse(matches("*", ""))
        XCTAssertFalse(matches("**", ""))
    }

    func testEscapes() {
        XCTAssertTrue(matches("h\\*llo", "h*llo"))
        XCTAssertFalse(matches("h\\*llo", "hello"))
        XCTAssertTrue(matches("\\?", "?"))
        XCTAssertFalse(matches("\\?", "a"))
        XCTAssertTrue(matches("a\\", "a\\"))
        XCTAssertTrue(matches("[\\]]", "]"))
        XCTAssertTrue(matches("[\\-]", "-"))
        XCTAssertTrue(matches("[a\\", "\\"))
    }

    func testBracketEdgeCases() {
        XCTAssertTrue(matches("[z-a]", "m"))
        // "[a-]" is the range 'a' to ']' (checked against redis-server 7.0.15): no '-' in it.
        XCTAssertTrue(matches("[a-]", "a"))
        XCTAssertTrue(matches("[a-]", "^"))
        XCTAssertFalse(matches("[a-]", "-"))
        XCTAssertFalse(matches("[]", "]"))
        XCTAssertTrue(matches("[^]", "x"))
        // An unclosed class runs to the end of the pattern.
        XCTAssertTrue(matches("a[b", "ab"))
        XCTAssertFalse(matches("a[b", "ac"))
        XCTAssertFalse(matches("a[", "a"))
        XCTAssertTrue(matches("[abc", "c"))
    }

    func testCaseInsensitive() {
        XCTAssertFalse(matches("HELLO", "hello"))
        XCTAssertTrue(matches("HELLO", "hello", nocase: true))
        XCTAssertTrue(matches("h[A-C]llo", "hbllo", nocase: true))
        XCTAssertTrue(matches("h[E]llo", "hello", nocase: true))
        XCTAssertTrue(matches("H\\Ello", "hello", nocase: true))
        // Redis compares an escaped byte inside brackets exactly, even without case.
        XCTAssertFalse(matches("h[\\E]llo", "hello", nocase: true))
    }

    func testBinaryBytes() {
        XCTAssertTrue(RedisGlob.matches([0, 0xFF, 0x2A], [0, 0xFF, 1, 2]))
        XCTAssertTrue(RedisGlob.matches([0x5B, 0x80, 0x2D, 0xFF, 0x5D], [0x90]))
        XCTAssertFalse(RedisGlob.matches([0x5B, 0x80, 0x2D, 0xFF, 0x5D], [0x7F]))
        XCTAssertTrue(RedisGlob.matches("k*".utf8, "key".utf8))
    }

    func testPathologicalPatternsStayFast() {
        // keyspace.tcl: "Regression for pattern matching very long nested loops".
        let string = String(repeating: "a", count: 50)
        let pattern = String(repeating: "a*", count: 50) + "b"
        XCTAssertFalse(matches(pattern, string))
        XCTAssertFalse(matches(String(repeating: "*?", count: 500) + "b", String(repeating: "a", count: 2000)))
        // Deeper than 1000 stars: Redis gives up (no match) instead of recursing further.
        XCTAssertFalse(matches(String(repeating: "a*", count: 1100), String(repeating: "a", count: 1200)))
        XCTAssertTrue(matches(String(repeating: "a*", count: 900), String(repeating: "a", count: 1000)))
    }
}

/// Every pattern of ``RedisGlobGolden`` against every key, compared with what redis-server 7.0.15's KEYS returned.
final class RedisGlobGoldenTests: XCTestCase {
    func testMatchesRedisServer() {
        let keys = RedisGlobGolden.keys.map { Array($0.utf8) }
        XCTAssertEqual(keys.count, 64)
        for (pattern, mask) in RedisGlobGolden.matches {
            var ours: UInt64 = 0
            for (index, key) in keys.enumerated() where RedisGlob.matches(Array(pattern.utf8), key) {
                ours |= 1 << UInt64(index)
            }
            XCTAssertEqual(ours, mask, "pattern \(pattern.debugDescription): differs on \(ours ^ mask)")
        }
    }
}

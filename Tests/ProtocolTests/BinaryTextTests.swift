import BinaryText
import XCTest

final class BinaryTextTests: XCTestCase {
    private func roundTrip(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        let string = BinaryText.string(from: bytes)
        XCTAssertEqual(BinaryText.bytes(of: string), bytes, file: file, line: line)
        XCTAssertEqual(BinaryText.byteCount(of: string), bytes.count, file: file, line: line)
        BinaryText.withBytes(of: string) { XCTAssertEqual(Array($0), bytes, file: file, line: line) }
        XCTAssertEqual(BinaryText.canonical(string), string, file: file, line: line)
    }

    func testEveryByteAndTheEmptyStringRoundTrip() {
        roundTrip([])
        roundTrip(Array(0...255))
        for byte in UInt8(0)...255 { roundTrip([byte]) }
        roundTrip([0x00, 0xFF])
        roundTrip(Array("plain ascii http://1.2.3.4:8080".utf8))
        roundTrip(Array("café Ünïcode".utf8))
        roundTrip(Array("日本語 \u{10FF41} e\u{301}".utf8))
        roundTrip([0xC3])  // a truncated sequence
        roundTrip([0xF4, 0x8F, 0xBC, 0x80])  // U+10FF00 itself, the first escape scalar
        roundTrip([0xED, 0xA0, 0x80])  // an encoded surrogate
        roundTrip([0xC0, 0x80])  // an overlong NUL
    }

    func testPlainTextIsKeptAsIs() {
        XCTAssertEqual(BinaryText.string(from: Array("http://u@h:1/".utf8)), "http://u@h:1/")
        XCTAssertEqual(BinaryText.string(from: Array("café".utf8)), "café")
    }

    func testDistinctBytesStayDistinctUnderStringEquality() {
        // Canonically equivalent text: Swift's == would merge these if they were kept as text.
        let composed = BinaryText.string(from: Array("\u{E9}".utf8))
        let decomposed = BinaryText.string(from: Array("e\u{301}".utf8))
        XCTAssertNotEqual(composed, decomposed)
        XCTAssertNotEqual(composed.hashValue, decomposed.hashValue)
        // Invalid bytes never collapse into one replacement character.
        XCTAssertNotEqual(BinaryText.string(from: [0xFF]), BinaryText.string(from: [0xFE]))
        XCTAssertNotEqual(BinaryText.string(from: [0xEF, 0xBF, 0xBD]), BinaryText.string(from: [0xFF]))
        // Every single byte and every pair maps to a different string.
        var seen = Set<String>()
        for first in UInt8(0)...255 {
            XCTAssertTrue(seen.insert(BinaryText.string(from: [first])).inserted)
            for second in stride(from: 0, through: 255, by: 15) {
                XCTAssertTrue(seen.insert(BinaryText.string(from: [first, UInt8(second)])).inserted)
            }
        }
    }

    func testCanonicalMapsTextFromElsewhereToTheFormOfItsBytes() {
        let stored = "日本"  // text an older version or proxywhirl wrote unescaped
        XCTAssertEqual(BinaryText.canonical(stored), BinaryText.string(from: Array(stored.utf8)))
        XCTAssertEqual(BinaryText.bytes(of: BinaryText.canonical(stored)), Array(stored.utf8))
        XCTAssertEqual(BinaryText.canonical("plain"), "plain")
    }
}

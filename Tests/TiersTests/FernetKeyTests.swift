import XCTest

@testable import Tiers

final class FernetKeyTests: XCTestCase {
    func testKeyRoundTripsThroughText() throws {
        let key = FernetKey.generate()
        XCTAssertEqual(key.base64URL.utf8.count, 44)
        XCTAssertEqual(try FernetKey(base64URL: key.base64URL), key)
        XCTAssertEqual(try FernetKey(base64URL: "  \(key.base64URL)\n"), key, "surrounding whitespace is ignored")
        XCTAssertEqual(try FernetKey(base64URL: String(key.base64URL.dropLast())), key, "padding may be omitted")
        XCTAssertNotEqual(FernetKey.generate(), key)
    }

    func testMalformedKeysAreRejectedWithAClearMessage() {
        let bad = [
            "",
            "not base64 at all!",
            "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4",  // 30 bytes
            "cw/0x689RpI+jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=",  // standard, not URL-safe, alphabet
            Base64URL.encode([UInt8](repeating: 1, count: 64)),
        ]
        for text in bad {
            XCTAssertThrowsError(try FernetKey(base64URL: text), text) { error in
                XCTAssertEqual(error as? FernetError, .malformedKey)
                XCTAssertEqual("\(error)", "encryption key must be URL-safe base64 of 32 bytes")
            }
        }
    }

    func testDescriptionNeverShowsTheKey() {
        let key = FernetKey.generate()
        XCTAssertFalse("\(key)".contains(key.base64URL))
        XCTAssertFalse(String(reflecting: key).contains(key.base64URL))
    }

    func testBase64URLMatchesKnownEncodings() {
        XCTAssertEqual(Base64URL.encode(Array("".utf8)), "")
        XCTAssertEqual(Base64URL.encode(Array("f".utf8)), "Zg==")
        XCTAssertEqual(Base64URL.encode(Array("fo".utf8)), "Zm8=")
        XCTAssertEqual(Base64URL.encode(Array("foo".utf8)), "Zm9v")
        XCTAssertEqual(Base64URL.encode([0xFB, 0xFF]), "-_8=")
        XCTAssertEqual(Base64URL.decode("-_8="), [0xFB, 0xFF])
        XCTAssertEqual(Base64URL.decode("-_8"), [0xFB, 0xFF])
        XCTAssertNil(Base64URL.decode("Zg=a"))
        XCTAssertNil(Base64URL.decode("Zg==="))
        XCTAssertNil(Base64URL.decode("Z"))
        XCTAssertNil(Base64URL.decode("Zh=="), "non-canonical trailing bits")
    }

    func testHexRoundTrips() {
        XCTAssertEqual(Hex.encode([0x00, 0xAB, 0xFF]), "00abff")
        XCTAssertEqual(Hex.decode("00abFF"), [0x00, 0xAB, 0xFF])
        XCTAssertNil(Hex.decode("abc"))
        XCTAssertNil(Hex.decode("zz"))
    }
}

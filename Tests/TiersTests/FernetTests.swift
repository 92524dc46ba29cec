import XCTest

@testable import Tiers

/// The published vectors of https://github.com/fernet/spec (generate.json, verify.json, invalid.json),
/// plus tampering, key parsing and key rotation through `CredentialCipher`.
final class FernetTests: XCTestCase {
    private let specSecret = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4="
    private let specToken =
        "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA=="
    /// 1985-10-26T01:20:00-07:00 as Unix seconds.
    private let specTime: Int64 = 499_162_800

    func testGenerateVector() throws {
        let key = try FernetKey(base64URL: specSecret)
        let token = try Fernet.encrypt(Array("hello".utf8), key: key, timestamp: UInt64(specTime), iv: Array(0..<16))
        XCTAssertEqual(token, specToken)
    }

    func testVerifyVector() throws {
        let key = try FernetKey(base64URL: specSecret)
        let plaintext = try Fernet.decrypt(specToken, key: key, ttl: 60, now: specTime + 1)
        XCTAssertEqual(String(decoding: plaintext, as: UTF8.self), "hello")
    }

    func testInvalidVectors() throws {
        let key = try FernetKey(base64URL: specSecret)
        let now = specTime + 1
        let cases: [(desc: String, token: String, now: Int64, expected: FernetError)] = [
            (
                "incorrect mac",
                "gAAAAAAdwJ6xAAECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPAl1-szkFVzXTuGb4hR8AKtwcaX1YdykQUFBQUFBQUFBQQ==",
                now, .invalidSignature
            ),
            ("too short", "gAAAAAAdwJ6xAAECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPA==", now, .malformedToken),
            (
                "invalid base64",
                "%%%%%%%%%%%%%AECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPAl1-szkFVzXTuGb4hR8AKtwcaX1YdykRtfsH-p1YsUD2Q==",
                now, .malformedToken
            ),
            (
                "payload size not multiple of block size",
                "gAAAAAAdwJ6xAAECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPOm73QeoCk9uGib28Xe5vz6oxq5nmxbx_v7mrfyudzUm",
                now, .malformedToken
            ),
            (
                "payload padding error",
                "gAAAAAAdwJ6xAAECAwQFBgcICQoLDA0ODz4LEpdELGQAad7aNEHbf-JkLPIpuiYRLQ3RtXatOYREu2FWke6CnJNYIbkuKNqOhw==",
                now, .invalidPadding
            ),
            (
                "far-future TS (unacceptable clock skew)",
                "gAAAAAAdwStRAAECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPAnja1xKYyhd-Y6mSkTOyTGJmw2Xc2a6kBd-iX9b_qXQcw==",
                now, .timestampInFuture
            ),
            (
                "expired TTL",
                "gAAAAAAdwJ6xAAECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPAl1-szkFVzXTuGb4hR8AKtwcaX1YdykRtfsH-p1YsUD2Q==",
                specTime + 91, .expired
            ),
            (
                "incorrect IV (causes padding error)",
                "gAAAAAAdwJ6xBQECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPAkLhFLHpGtDBRLRTZeUfWgHSv49TF2AUEZ1TIvcZjK1zQ==",
                now, .invalidPadding
            ),
            ("trailing characters after b64 padding", specToken + "trailingdata", now, .malformedToken),
            (
                "invalid characters in b64",
                "*gAAAAAAdwJ6wAAECAwQFBgcI!CQoLDA0ODy021?cpGVWKZ_eEwC@GM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==",
                now, .malformedToken
            ),
            (
                "invalid non-urlsafe characters in b64",
                "gAAAAAAdwJ6wAAEC/AwQFBgcICQoLDA0ODy+021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==",
                now, .malformedToken
            ),
        ]
        for testCase in cases {
            XCTAssertThrowsError(
                try Fernet.decrypt(testCase.token, key: key, ttl: 60, now: testCase.now),
                testCase.desc
            ) { error in
                XCTAssertEqual(error as? FernetError, testCase.expected, testCase.desc)
            }
        }
    }

    func testTTLIsOnlyCheckedWhenAsked() throws {
        let key = try FernetKey(base64URL: specSecret)
        // The "expired TTL" vector is a well-formed token (of an empty plaintext): without a TTL it decrypts.
        let expired =
            "gAAAAAAdwJ6xAAECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPAl1-szkFVzXTuGb4hR8AKtwcaX1YdykRtfsH-p1YsUD2Q=="
        XCTAssertEqual(try Fernet.decrypt(expired, key: key), [])
    }

    func testTamperingAnyByteIsDetected() throws {
        let key = FernetKey.generate()
        let token = Fernet.encrypt(Array("s3cret-password".utf8), key: key)
        var raw = try XCTUnwrap(Base64URL.decode(token))
        for index in raw.indices {
            raw[index] ^= 0x01
            XCTAssertThrowsError(try Fernet.decrypt(Base64URL.encode(raw), key: key), "byte \(index)")
            raw[index] ^= 0x01
        }
        XCTAssertEqual(try Fernet.decrypt(Base64URL.encode(raw), key: key), Array("s3cret-password".utf8))
    }

    func testWrongKeyFailsSignature() throws {
        let token = Fernet.encrypt(Array("x".utf8), key: .generate())
        XCTAssertThrowsError(try Fernet.decrypt(token, key: .generate())) { error in
            XCTAssertEqual(error as? FernetError, .invalidSignature)
        }
    }

    func testRoundTripsOfManyLengths() throws {
        let key = FernetKey.generate()
        for length in [0, 1, 15, 16, 17, 31, 32, 33, 100, 1000] {
            let plaintext = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let token = Fernet.encrypt(plaintext, key: key)
            XCTAssertEqual(try Fernet.decrypt(token, key: key), plaintext)
            XCTAssertTrue(token.hasPrefix("gAAAAA"))
            XCTAssertEqual(token.utf8.count % 4, 0, "padded")
        }
    }
}

import XCTest

@testable import Tiers

final class FernetCredentialCipherTests: XCTestCase {
    func testEncryptDecryptRoundTrip() throws {
        let cipher = CredentialCipher(current: .generate())
        for secret in ["", "user", "pässwörd with ünïcode ✓", String(repeating: "x", count: 500)] {
            let token = cipher.encrypt(secret)
            XCTAssertFalse(secret.count > 3 && token.contains(secret))
            XCTAssertEqual(try cipher.decrypt(token), secret)
        }
        XCTAssertNotEqual(cipher.encrypt("same"), cipher.encrypt("same"), "a random IV per token")
    }

    func testPreviousKeysStillDecrypt() throws {
        let old = FernetKey.generate()
        let older = FernetKey.generate()
        let tokenOld = CredentialCipher(current: old).encrypt("alice")
        let tokenOlder = CredentialCipher(current: older).encrypt("bob")

        let rotated = CredentialCipher(current: .generate(), previous: [old, older])
        XCTAssertEqual(try rotated.decrypt(tokenOld), "alice")
        XCTAssertEqual(try rotated.decrypt(tokenOlder), "bob")
        XCTAssertFalse(rotated.isCurrent(tokenOld))
        XCTAssertTrue(rotated.isCurrent(rotated.encrypt("carol")))
        // New tokens use the current key only: the old key alone cannot read them.
        XCTAssertThrowsError(try CredentialCipher(current: old).decrypt(rotated.encrypt("carol")))
    }

    func testFailureIsADecryptionErrorWithoutSecrets() throws {
        let token = CredentialCipher(current: .generate()).encrypt("hunter2")
        let cipher = CredentialCipher(current: .generate(), previous: [.generate()])
        XCTAssertThrowsError(try cipher.decrypt(token)) { error in
            let storeError = error as? StoreError
            XCTAssertEqual(storeError?.kind, .decryption)
            XCTAssertEqual(
                storeError?.message,
                "credential token could not be decrypted with any configured key"
            )
            XCTAssertFalse("\(error)".contains(token))
        }
        XCTAssertThrowsError(try cipher.decrypt("garbage")) { error in
            XCTAssertEqual((error as? StoreError)?.kind, .decryption)
        }
    }

    func testTextInitializer() throws {
        let key = FernetKey.generate()
        let previous = FernetKey.generate()
        let cipher = try CredentialCipher(currentKey: key.base64URL, previousKeys: [previous.base64URL])
        XCTAssertEqual(cipher.current, key)
        XCTAssertEqual(cipher.previous, [previous])
        XCTAssertThrowsError(try CredentialCipher(currentKey: "short")) { error in
            XCTAssertEqual(error as? FernetError, .malformedKey)
        }
    }
}

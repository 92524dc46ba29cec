import COpenSSL

/// A Fernet key: 32 bytes, the first 16 sign (HMAC-SHA256) and the last 16 encrypt (AES-128-CBC).
///
/// Its text form is URL-safe base64 with padding (44 characters), as Python's
/// `cryptography.fernet.Fernet.generate_key()` makes it. `description` never shows the key.
public struct FernetKey: Sendable, Equatable, CustomStringConvertible {
    /// The HMAC-SHA256 key: the first 16 bytes.
    let signingKey: [UInt8]
    /// The AES-128 key: the last 16 bytes.
    let encryptionKey: [UInt8]

    /// Makes a key from its 32 raw bytes.
    ///
    /// - Throws: `FernetError.malformedKey` when `bytes` is not exactly 32 bytes long.
    public init(bytes: [UInt8]) throws(FernetError) {
        guard bytes.count == 32 else { throw .malformedKey }
        self.signingKey = Array(bytes[0..<16])
        self.encryptionKey = Array(bytes[16..<32])
    }

    /// Parses a key from URL-safe base64 text (surrounding whitespace is ignored; padding may be omitted).
    ///
    /// - Throws: `FernetError.malformedKey` ("encryption key must be URL-safe base64 of 32 bytes").
    public init(base64URL text: String) throws(FernetError) {
        let trimmed = text.trimmingASCIIWhitespace()
        guard let bytes = Base64URL.decode(trimmed) else { throw .malformedKey }
        try self.init(bytes: bytes)
    }

    /// Makes a new random key from the operating system's CSPRNG (OpenSSL `RAND_bytes`).
    public static func generate() -> FernetKey {
        // 32 bytes always make a valid key.
        try! FernetKey(bytes: secureRandomBytes(32))
    }

    /// The key as padded URL-safe base64 (the form `init(base64URL:)` reads). This is the secret itself.
    public var base64URL: String {
        Base64URL.encode(signingKey + encryptionKey)
    }

    /// A redacted description, so that a key never reaches a log line by accident.
    public var description: String { "FernetKey(<redacted>)" }
}

/// `count` bytes from OpenSSL's CSPRNG; traps if the CSPRNG fails (there is no safe way to go on).
func secureRandomBytes(_ count: Int) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    let status = bytes.withUnsafeMutableBufferPointer { buffer in
        RAND_bytes(buffer.baseAddress, Int32(count))
    }
    precondition(status == 1, "RAND_bytes failed: the CSPRNG is unavailable")
    return bytes
}

extension StringProtocol {
    /// The text without leading and trailing ASCII spaces, tabs, CR and LF.
    func trimmingASCIIWhitespace() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        let string = Substring(self)
        guard let start = string.firstIndex(where: { !isSpace($0) }) else { return "" }
        let end = string.lastIndex(where: { !isSpace($0) })!
        return string[start...end]
    }
}

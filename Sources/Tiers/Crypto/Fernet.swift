import COpenSSL

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Fernet tokens (https://github.com/fernet/spec), made and checked with OpenSSL's libcrypto.
///
/// A token is URL-safe base64 (with padding) of
/// `0x80 | timestamp (8 bytes, big-endian) | IV (16) | AES-128-CBC ciphertext (PKCS7) | HMAC-SHA256 (32)`,
/// the HMAC covering everything before it. The HMAC is checked in constant time before anything
/// is decrypted.
public enum Fernet {
    /// The version byte of every Fernet token.
    static let version: UInt8 = 0x80
    /// How far in the future a timestamp may be when a TTL is checked (the spec's clock skew).
    static let maxClockSkew: Int64 = 60
    private static let headerLength = 1 + 8 + 16
    private static let macLength = 32
    private static let blockLength = 16

    /// Encrypts `plaintext` with `key` at the current time with a random IV.
    ///
    /// Traps only if libcrypto itself fails (out of memory), as there is no safe way to continue.
    public static func encrypt(_ plaintext: some Collection<UInt8>, key: FernetKey) -> String {
        do {
            return try encrypt(plaintext, key: key, timestamp: currentUnixTime(), iv: secureRandomBytes(16))
        } catch {
            preconditionFailure("Fernet encryption failed: \(error)")
        }
    }

    /// Encrypts `plaintext` with a given timestamp and IV: what the spec's test vectors need.
    ///
    /// - Throws: `FernetError.cryptoFailure` if libcrypto fails; a precondition checks `iv` is 16 bytes.
    public static func encrypt(
        _ plaintext: some Collection<UInt8>,
        key: FernetKey,
        timestamp: UInt64,
        iv: [UInt8]
    ) throws(FernetError) -> String {
        precondition(iv.count == blockLength, "a Fernet IV is 16 bytes")
        var token = [UInt8]()
        token.reserveCapacity(headerLength + plaintext.count + blockLength + macLength)
        token.append(version)
        for shift in stride(from: 56, through: 0, by: -8) {
            token.append(UInt8(truncatingIfNeeded: timestamp >> UInt64(shift)))
        }
        token += iv
        token += try aes128CBC(encrypt: true, key: key.encryptionKey, iv: iv, input: Array(plaintext))
        token += try hmacSHA256(key: key.signingKey, data: token[...])
        return Base64URL.encode(token)
    }

    /// Verifies and decrypts `token` with `key`.
    ///
    /// - Parameters:
    ///   - token: the URL-safe base64 token.
    ///   - key: the key that made it.
    ///   - ttl: when given, tokens older than `ttl` seconds at `now` are rejected, and so are
    ///     tokens more than 60 s in the future.
    ///   - now: Unix seconds for the TTL check (the current time when `nil`).
    /// - Returns: the plaintext bytes.
    /// - Throws: `FernetError` (malformed token, invalid signature, invalid padding, expired, future timestamp).
    public static func decrypt(
        _ token: some StringProtocol,
        key: FernetKey,
        ttl: Int? = nil,
        now: Int64? = nil
    ) throws(FernetError) -> [UInt8] {
        guard let data = Base64URL.decode(token) else { throw .malformedToken }
        let cipherLength = data.count - headerLength - macLength
        guard data.count >= headerLength + blockLength + macLength, data[0] == version,
            cipherLength % blockLength == 0
        else { throw .malformedToken }

        let signed = data[0..<(data.count - macLength)]
        let expected = try hmacSHA256(key: key.signingKey, data: signed)
        let actual = Array(data[(data.count - macLength)...])
        let equal = expected.withUnsafeBytes { lhs in
            actual.withUnsafeBytes { rhs in CRYPTO_memcmp(lhs.baseAddress, rhs.baseAddress, macLength) }
        }
        guard equal == 0 else { throw .invalidSignature }

        if let ttl {
            let timestamp = data[1..<9].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let stamp = Int64(clamping: timestamp)
            let current = now ?? Int64(clamping: currentUnixTime())
            if stamp.addingReportingOverflow(Int64(ttl)).partialValue < current { throw .expired }
            if current + maxClockSkew < stamp { throw .timestampInFuture }
        }

        let iv = Array(data[9..<headerLength])
        let ciphertext = Array(data[headerLength..<(data.count - macLength)])
        return try aes128CBC(encrypt: false, key: key.encryptionKey, iv: iv, input: ciphertext)
    }

    /// Unix time in whole seconds.
    static func currentUnixTime() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(max(0, ts.tv_sec))
    }

    /// HMAC-SHA256 of `data` with `key`.
    static func hmacSHA256(key: [UInt8], data: ArraySlice<UInt8>) throws(FernetError) -> [UInt8] {
        var mac = [UInt8](repeating: 0, count: macLength)
        var macLen: UInt32 = 0
        let result = key.withUnsafeBytes { keyBuffer in
            data.withUnsafeBytes { dataBuffer in
                mac.withUnsafeMutableBufferPointer { macBuffer in
                    HMAC(
                        EVP_sha256(),
                        keyBuffer.baseAddress,
                        Int32(keyBuffer.count),
                        dataBuffer.baseAddress?.assumingMemoryBound(to: UInt8.self),
                        dataBuffer.count,
                        macBuffer.baseAddress,
                        &macLen
                    )
                }
            }
        }
        guard result != nil, macLen == UInt32(macLength) else { throw .cryptoFailure("HMAC") }
        return mac
    }

    /// AES-128-CBC with PKCS7 padding; a bad padding on decryption throws `invalidPadding`.
    private static func aes128CBC(
        encrypt: Bool,
        key: [UInt8],
        iv: [UInt8],
        input: [UInt8]
    ) throws(FernetError) -> [UInt8] {
        guard let context = EVP_CIPHER_CTX_new() else { throw .cryptoFailure("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(context) }
        let initialised =
            encrypt
            ? EVP_EncryptInit_ex(context, EVP_aes_128_cbc(), nil, key, iv)
            : EVP_DecryptInit_ex(context, EVP_aes_128_cbc(), nil, key, iv)
        guard initialised == 1 else { throw .cryptoFailure("EVP_CipherInit_ex") }

        var output = [UInt8](repeating: 0, count: input.count + blockLength)
        var written: Int32 = 0
        var finalWritten: Int32 = 0
        let (updated, finished) = output.withUnsafeMutableBufferPointer { out -> (Int32, Int32) in
            let updated =
                encrypt
                ? EVP_EncryptUpdate(context, out.baseAddress, &written, input, Int32(input.count))
                : EVP_DecryptUpdate(context, out.baseAddress, &written, input, Int32(input.count))
            guard updated == 1 else { return (updated, 0) }
            let tail = out.baseAddress! + Int(written)
            let finished =
                encrypt
                ? EVP_EncryptFinal_ex(context, tail, &finalWritten)
                : EVP_DecryptFinal_ex(context, tail, &finalWritten)
            return (updated, finished)
        }
        guard updated == 1 else { throw .cryptoFailure("EVP_CipherUpdate") }
        guard finished == 1 else {
            ERR_clear_error()
            if encrypt { throw .cryptoFailure("EVP_CipherFinal_ex") }
            throw .invalidPadding
        }
        output.removeLast(output.count - Int(written + finalWritten))
        return output
    }
}

import COpenSSL

/// proxywhirl's cache key: the first 16 hex digits of SHA-256 over the proxy URL's UTF-8 bytes.
enum KeyDerivation {
    /// Derives the cache key for `proxyURL`.
    ///
    /// - Parameter proxyURL: The proxy URL exactly as stored (no normalisation, as proxywhirl does).
    /// - Returns: 16 lowercase hex characters.
    static func key(forProxyURL proxyURL: String) -> String {
        String(sha256Hex(Array(proxyURL.utf8)).prefix(16))
    }

    /// The SHA-256 digest of `bytes` as 64 lowercase hex characters (OpenSSL's libcrypto).
    static func sha256Hex(_ bytes: [UInt8]) -> String {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        bytes.withUnsafeBufferPointer { input in
            digest.withUnsafeMutableBufferPointer { output in
                _ = SHA256(input.baseAddress, input.count, output.baseAddress)
            }
        }
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(digest.count * 2)
        for byte in digest {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: hex, as: UTF8.self)
    }
}

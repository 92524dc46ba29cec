import COpenSSL

/// MD5 through libcrypto's EVP interface: only for proxywhirl's shard choice, never for security.
enum MD5 {
    /// The 16-byte MD5 digest of `bytes`.
    static func digest(_ bytes: some Collection<UInt8>) -> [UInt8] {
        let input = Array(bytes)
        var output = [UInt8](repeating: 0, count: 16)
        var length: UInt32 = 0
        let status = input.withUnsafeBytes { inputBuffer in
            output.withUnsafeMutableBufferPointer { outputBuffer in
                EVP_Digest(
                    inputBuffer.baseAddress,
                    inputBuffer.count,
                    outputBuffer.baseAddress,
                    &length,
                    EVP_md5(),
                    nil
                )
            }
        }
        precondition(status == 1 && length == 16, "EVP_Digest(MD5) failed")
        return output
    }
}

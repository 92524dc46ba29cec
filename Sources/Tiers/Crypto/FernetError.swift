/// Why a Fernet key or token was rejected. Descriptions never contain the key, the token or the plaintext.
public struct FernetError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: Sendable, Equatable {
        case malformedKey
        case malformedToken
        case invalidSignature
        case invalidPadding
        case expired
        case timestampInFuture
        case cryptoFailure(String)
    }

    private var code: Code

    private init(_ code: Code) {
        self.code = code
    }

    /// The key is not URL-safe base64 of exactly 32 bytes.
    public static let malformedKey = FernetError(.malformedKey)
    /// The token is not URL-safe base64, too short, has the wrong version byte or a ciphertext that
    /// is not a whole number of AES blocks.
    public static let malformedToken = FernetError(.malformedToken)
    /// The HMAC does not match: the token was tampered with or made with another key.
    public static let invalidSignature = FernetError(.invalidSignature)
    /// The HMAC matched but the decrypted plaintext has broken PKCS7 padding.
    public static let invalidPadding = FernetError(.invalidPadding)
    /// The token is older than the TTL the caller asked for.
    public static let expired = FernetError(.expired)
    /// The token's timestamp is further in the future than the allowed clock skew.
    public static let timestampInFuture = FernetError(.timestampInFuture)

    /// libcrypto failed (an allocation or an internal error); `operation` names the call.
    static func cryptoFailure(_ operation: String) -> FernetError {
        FernetError(.cryptoFailure(operation))
    }

    public var description: String {
        switch code {
        case .malformedKey: return "encryption key must be URL-safe base64 of 32 bytes"
        case .malformedToken: return "Fernet token is malformed"
        case .invalidSignature: return "Fernet token signature does not match the key"
        case .invalidPadding: return "Fernet token plaintext padding is invalid"
        case .expired: return "Fernet token has expired"
        case .timestampInFuture: return "Fernet token timestamp is too far in the future"
        case .cryptoFailure(let operation): return "libcrypto failed in \(operation)"
        }
    }
}

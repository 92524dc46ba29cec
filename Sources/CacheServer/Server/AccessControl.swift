import COpenSSL
import LocalSocket
import NIOConcurrencyHelpers
import NIOCore

/// Who may connect (`--allow-uid`, `--allow-gid`, checked against the kernel's `SO_PEERCRED`) and the password
/// clients must give with AUTH or HELLO when `--requirepass-file` is set. Both can be replaced while the server
/// runs (SIGHUP reloads them); connections already admitted keep their state.
public final class AccessControl: Sendable {
    /// The settings in force.
    public struct Settings: Sendable, Equatable {
        /// Peers whose user id is listed may connect.
        public var allowedUIDs: Set<UInt32>
        /// Peers whose primary group id is listed may connect.
        public var allowedGIDs: Set<UInt32>
        /// SHA-256 of the password clients must give, or nil when none is required. Only the digest is kept.
        public var passwordDigest: [UInt8]?

        public init(allowedUIDs: Set<UInt32>, allowedGIDs: Set<UInt32> = [], password: [UInt8]? = nil) {
            self.allowedUIDs = allowedUIDs
            self.allowedGIDs = allowedGIDs
            self.passwordDigest = password.map(AccessControl.digest)
        }
    }

    private let settings: NIOLockedValueBox<Settings>

    public init(_ settings: Settings) {
        self.settings = NIOLockedValueBox(settings)
    }

    public var current: Settings { settings.withLockedValue { $0 } }

    public func replace(with new: Settings) {
        settings.withLockedValue { $0 = new }
    }

    /// Whether a peer may connect: its uid or its gid is allowed. A peer whose credentials are unknown is refused.
    public func admits(_ peer: PeerCredentials?) -> Bool {
        guard let peer else { return false }
        return settings.withLockedValue { $0.allowedUIDs.contains(peer.uid) || $0.allowedGIDs.contains(peer.gid) }
    }

    /// Whether clients must authenticate before other commands.
    var requiresPassword: Bool { settings.withLockedValue { $0.passwordDigest != nil } }

    /// Redis's default user: `username` must be "default" and `password` the configured one, compared in constant
    /// time (digests of equal length). Without a configured password, the default user takes any password.
    func authenticates(username: ByteBuffer?, password: ByteBuffer) -> Bool {
        let expected = settings.withLockedValue { $0.passwordDigest }
        let isDefault = username.map { $0.readableBytesView.elementsEqual("default".utf8) } ?? true
        guard let expected else { return isDefault }
        let given = Self.digest(Array(password.readableBytesView))
        let equal = given.withUnsafeBytes { a in
            expected.withUnsafeBytes { b in CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0 }
        }
        return equal && isDefault
    }

    static func digest(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        bytes.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                _ = SHA256(input.baseAddress, input.count, output.baseAddress)
            }
        }
        return out
    }
}

/// Why the credential encryption key could not be loaded. Descriptions name the source that failed
/// and what was expected, never the key itself.
public struct KeyLoadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Which source failed, e.g. "environment variable CACHESRVD_ENCRYPTION_KEY" or "key file /path".
    public var source: String
    /// What is wrong with it.
    public var reason: String

    public init(source: String, reason: String) {
        self.source = source
        self.reason = reason
    }

    public var description: String { "\(source): \(reason)" }
}

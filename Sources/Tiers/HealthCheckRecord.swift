import Redaction

/// One health check of a proxy: a row of L3's `health_history`.
///
/// The error text and the check URL are diagnostics: every URL password in them is masked when they
/// are set (`http://user:***@host`), so a secret never reaches the history, a reply or a log.
public struct HealthCheckRecord: Sendable, Equatable {
    public var checkTime: Double
    public var status: HealthStatus
    public var responseTimeMs: Double?
    public var errorMessage: String? {
        didSet { errorMessage = URLPassword.maskedEverywhere(in: errorMessage) }
    }
    public var checkURL: String? {
        didSet { checkURL = Self.maskedURL(checkURL) }
    }

    public init(
        checkTime: Double,
        status: HealthStatus,
        responseTimeMs: Double? = nil,
        errorMessage: String? = nil,
        checkURL: String? = nil
    ) {
        self.checkTime = checkTime
        self.status = status
        self.responseTimeMs = responseTimeMs
        self.errorMessage = URLPassword.maskedEverywhere(in: errorMessage)
        self.checkURL = Self.maskedURL(checkURL)
    }

    /// A check URL with its password masked: the URL itself, or any URL inside other text.
    private static func maskedURL(_ url: String?) -> String? {
        guard let url else { return nil }
        return URLPassword.masked(in: url) ?? URLPassword.maskedEverywhere(in: url)
    }
}

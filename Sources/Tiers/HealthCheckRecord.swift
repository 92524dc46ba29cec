/// One health check of a proxy: a row of L3's `health_history`.
public struct HealthCheckRecord: Sendable, Equatable {
    public var checkTime: Double
    public var status: HealthStatus
    public var responseTimeMs: Double?
    public var errorMessage: String?
    public var checkURL: String?

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
        self.errorMessage = errorMessage
        self.checkURL = checkURL
    }
}

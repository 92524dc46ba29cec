/// The health of a proxy, as proxywhirl's `HealthStatus` names it.
public enum HealthStatus: String, Sendable, CaseIterable, Codable {
    case unknown
    case healthy
    case degraded
    case unhealthy
    case dead
}

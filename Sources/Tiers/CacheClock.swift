#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the cache reads the time: Unix epoch seconds. Tests pass a manual clock instead of sleeping.
public protocol CacheClock: Sendable {
    func now() -> Double
}

/// The system's real-time clock.
public struct SystemClock: CacheClock {
    public init() {}

    public func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1_000_000_000
    }
}

import NIOConcurrencyHelpers

/// A clock that only moves when told to: tests drive TTLs, probes and health times with it instead of sleeping.
public final class ManualClock: CacheClock {
    private let time: NIOLockedValueBox<Double>

    /// Creates a clock showing `start` (Unix seconds).
    public init(start: Double = 1_764_000_000) {
        self.time = NIOLockedValueBox(start)
    }

    public func now() -> Double {
        time.withLockedValue { $0 }
    }

    /// Moves the clock forward (or back, with a negative value) by `seconds`.
    public func advance(by seconds: Double) {
        time.withLockedValue { $0 += seconds }
    }

    /// Sets the clock to `time`.
    public func set(to time: Double) {
        self.time.withLockedValue { $0 = time }
    }
}

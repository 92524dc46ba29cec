import NIOConcurrencyHelpers
import NIOCore

extension EventLoopFuture where Value: Sendable {
    /// Blocks the calling thread (never an event loop) until the future completes or `seconds` pass, whichever is
    /// first: the value, or nil at the deadline, after `expired` ran on the future's loop. The wait ends at the deadline
    /// even when the future never completes (postgres-nio was seen to leave a statement sent on a connection just lost
    /// pending for good).
    ///
    /// - Parameter late: Called with the value if it comes after the deadline (to close a connection opened too late).
    func wait(
        atMost seconds: Double,
        expired: @escaping @Sendable () -> Void,
        late: @escaping @Sendable (Value) -> Void = { _ in }
    ) throws -> Value? {
        let outcome = eventLoop.makePromise(of: Value?.self)
        let settled = NIOLockedValueBox(false)
        let first: @Sendable () -> Bool = {
            settled.withLockedValue { done in
                defer { done = true }
                return !done
            }
        }
        let deadline = eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) {
            guard first() else { return }
            outcome.succeed(nil)
            expired()
        }
        whenComplete { result in
            guard first() else {
                if case .success(let value) = result { late(value) }
                return
            }
            deadline.cancel()
            outcome.completeWith(result.map { Optional($0) })
        }
        return try outcome.futureResult.wait()
    }
}

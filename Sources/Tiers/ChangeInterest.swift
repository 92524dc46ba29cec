import Synchronization

/// Whether anyone wants the tiered cache's change reports yet (WATCH turns it on; it never turns off).
///
/// A class of its own, so that the server can hold the switch without holding the cache weakly: a weak reference
/// gives an object a side table, and every retain and release of it then takes the runtime's slow path.
public final class ChangeInterest: Sendable {
    private let wanted = Atomic<Bool>(false)

    public init() {}

    /// Turns the reports on.
    public func want() {
        wanted.store(true, ordering: .sequentiallyConsistent)
    }

    /// Whether the reports are on.
    public var isWanted: Bool {
        wanted.load(ordering: .sequentiallyConsistent)
    }
}

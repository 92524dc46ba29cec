import Synchronization

/// The server's limits that may change while it runs (CONFIG SET), read on every use.
final class LiveSettings: Sendable {
    private let bulkCommandKeysSetting: Synchronization.Atomic<Int>
    private let maxPendingWritesSetting: Synchronization.Atomic<Int>

    init(_ configuration: ServerConfiguration) {
        bulkCommandKeysSetting = Synchronization.Atomic(configuration.bulkCommandKeys)
        maxPendingWritesSetting = Synchronization.Atomic(configuration.maxPendingWrites)
    }

    /// A command naming more keys than this runs on the bulk lane (`bulk-command-keys`).
    var bulkCommandKeys: Int {
        get { bulkCommandKeysSetting.load(ordering: .relaxed) }
        set { bulkCommandKeysSetting.store(newValue, ordering: .relaxed) }
    }

    /// Replies of writes wait while the disk writers lag this many writes behind (`max-pending-writes`).
    var maxPendingWrites: Int {
        get { maxPendingWritesSetting.load(ordering: .relaxed) }
        set { maxPendingWritesSetting.store(newValue, ordering: .relaxed) }
    }
}

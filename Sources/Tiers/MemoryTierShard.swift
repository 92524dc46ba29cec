import NIOConcurrencyHelpers

/// One shard of the memory tier: its storage behind its own lock.
///
/// `@unchecked Sendable`: `storage` is only touched between `lock.lock()` and `lock.unlock()` (see `locked`).
final class MemoryTierShard: @unchecked Sendable {
    private let lock = NIOLock()
    private var storage: MemoryTierStorage

    init(policy: EvictionPolicy) {
        self.storage = MemoryTierStorage(policy: policy)
    }

    /// Runs `body` on the storage with the lock held.
    @inline(__always)
    func locked<R, E: Error>(_ body: (inout MemoryTierStorage) throws(E) -> R) throws(E) -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&storage)
    }

    /// Runs `body` on the storage with the lock held; also returns how the entry count and the estimated bytes
    /// changed.
    @inline(__always)
    func lockedCountingChange<R, E: Error>(
        _ body: (inout MemoryTierStorage) throws(E) -> R
    ) -> (result: Result<R, E>, delta: MemoryTier.Usage) {
        lock.lock()
        defer { lock.unlock() }
        let before = MemoryTier.Usage(entries: storage.count, bytes: storage.usedBytes)
        let result = Result<R, E> { () throws(E) -> R in try body(&storage) }
        return (
            result, MemoryTier.Usage(entries: storage.count - before.entries, bytes: storage.usedBytes - before.bytes)
        )
    }
}

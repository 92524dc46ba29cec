#if canImport(Glibc)
import Glibc
#endif

/// Keeps EXEC isolated: every command runs holding the gate shared, an EXEC holds it alone, so nothing of another
/// client runs between a transaction's commands, as in Redis.
///
/// A pthread read-write lock that prefers writers, so a stream of commands cannot starve an EXEC. Readers never
/// take it twice on one thread (commands inside an EXEC run under the EXEC's hold), which that kind of lock
/// requires.
final class TransactionGate: @unchecked Sendable {
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    init() {
        lock = UnsafeMutablePointer.allocate(capacity: 1)
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        let result = pthread_rwlock_init(lock, &attributes)
        precondition(result == 0, "pthread_rwlock_init: \(result)")
        pthread_rwlockattr_destroy(&attributes)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// Runs `body` alongside other commands, never during an EXEC.
    func shared<R>(_ body: () throws -> R) rethrows -> R {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    /// Runs `body` (an EXEC) while no other command runs.
    func exclusive<R>(_ body: () throws -> R) rethrows -> R {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}

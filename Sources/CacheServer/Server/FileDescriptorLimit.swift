#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Fits `--max-clients` to the process's open-file limit, as redis-server does at start: raise the soft limit as far
/// as the hard limit allows, and when that is still too low, lower the client limit so that a client beyond it gets
/// the max-clients error instead of a connection the server cannot accept.
public enum FileDescriptorLimit {
    /// Descriptors kept free beyond those open at start: the event loops' own, SQLite readers opened later, the
    /// journal and log files, and an accepted connection that is being refused (Redis keeps 32).
    public static let margin = 64

    /// What `fit` decided.
    public struct Decision: Equatable, Sendable {
        /// The client limit to use.
        public var maxClients: Int
        /// The soft open-file limit in force afterwards.
        public var limit: Int
        /// The client limit asked for, when it had to be lowered.
        public var lowered: Int?
    }

    /// Descriptors each event loop thread opens (its epoll and eventfd, a timerfd), counted apart because the loops
    /// are created after the limit is fitted.
    public static let perEventLoop = 3

    /// Raises `RLIMIT_NOFILE`'s soft limit toward what `maxClients` needs and returns the client limit that fits.
    ///
    /// - Parameter eventLoops: the event loop threads still to be started.
    /// - Throws: `ServerStartupError` when not even one client fits.
    public static func fit(maxClients: Int, eventLoops: Int) throws -> Decision {
        let reserved = openDescriptors() + margin + perEventLoop * eventLoops
        let needed = UInt64(maxClients + reserved)
        var limit = rlimit()
        guard getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0 else {
            return Decision(maxClients: maxClients, limit: -1, lowered: nil)
        }
        if UInt64(limit.rlim_cur) < needed {
            var raised = limit
            raised.rlim_cur = min(limit.rlim_max, rlim_t(needed))
            if setrlimit(RLIMIT_NOFILE_VALUE, &raised) == 0 { limit = raised }
        }
        let available = Int(min(UInt64(limit.rlim_cur), UInt64(Int.max)))
        let fits = available - reserved
        guard fits >= 1 else {
            throw ServerStartupError(
                "the open-file limit is \(available) and \(reserved) descriptors are needed besides clients: "
                    + "raise it (ulimit -n, LimitNOFILE=)"
            )
        }
        if fits < maxClients {
            return Decision(maxClients: fits, limit: available, lowered: maxClients)
        }
        return Decision(maxClients: maxClients, limit: available, lowered: nil)
    }

    /// Descriptors this process has open now.
    static func openDescriptors() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return 16 }
        defer { closedir(directory) }
        var count = 0
        while readdir(directory) != nil { count += 1 }
        return max(0, count - 3)  // ".", ".." and the directory's own descriptor
    }

    #if os(Linux)
    private static let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let RLIMIT_NOFILE_VALUE = RLIMIT_NOFILE
    #endif
}

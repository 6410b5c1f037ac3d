#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's file-descriptor budget, which bounds the sockets one process can open.
enum ResourceLimits {
    /// Descriptors kept free for the event loops, pipes and files beside the sockets.
    static let reserve = 100

    /// Raises the soft `RLIMIT_NOFILE` to the hard one (best effort).
    static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(resourceKind, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(resourceKind, &limit)
    }

    /// How many sockets this process may open: the soft descriptor limit less ``reserve``.
    static func socketBudget() -> Int {
        var limit = rlimit()
        guard getrlimit(resourceKind, &limit) == 0 else { return 1_000 }
        // An unlimited soft limit reads as the largest value: clamp it.
        let soft = min(UInt64(limit.rlim_cur), 10_000_000)
        return max(0, Int(soft) - reserve)
    }

    #if canImport(Glibc)
    /// `RLIMIT_NOFILE` in the type `getrlimit` takes here.
    private static let resourceKind = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    /// `RLIMIT_NOFILE` in the type `getrlimit` takes here.
    private static let resourceKind = RLIMIT_NOFILE
    #endif
}

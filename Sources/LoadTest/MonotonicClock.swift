#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The system-wide monotonic clock (`CLOCK_MONOTONIC`), shared by every process on the machine, so a parent and
/// its workers agree on instants such as a stage's start.
enum MonotonicClock {
    /// Nanoseconds since an arbitrary fixed point (boot, on Linux).
    static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }

    /// `seconds` as nanoseconds, clamped to zero and to about 292 years.
    static func nanoseconds(_ seconds: Double) -> UInt64 {
        guard seconds > 0 else { return 0 }
        return UInt64(min(seconds, 9.0e9) * 1_000_000_000)
    }

    /// Suspends the calling task until `deadline` (monotonic nanoseconds), waking at least every `slice`
    /// nanoseconds so cancellation is noticed; returns at once for a deadline in the past.
    static func sleep(until deadline: UInt64, slice: UInt64 = 250_000_000) async {
        while !Task.isCancelled {
            let now = Self.now()
            guard now < deadline else { return }
            let wait = min(deadline - now, slice)
            try? await Task.sleep(nanoseconds: wait)
        }
    }
}

import Store
import Synchronization

/// Per-client-address token buckets for login and registration.
///
/// A small mutex-guarded dictionary (never held across an `await`); full buckets are pruned as the table grows
/// so memory stays bounded by the number of recently active addresses.
package final class AddressRateLimiter: Sendable {
    private let rate: Double
    private let burst: Int
    private let buckets = Locked<[String: TokenBucket<ContinuousClock.Instant>]>([:])
    private let pruneThreshold = 10_000

    /// Creates a limiter allowing `rate` requests a second per address with bursts of `burst`.
    package init(rate: Double, burst: Int) {
        self.rate = rate
        self.burst = burst
    }

    /// Admits one request from `address`.
    /// - Returns: `nil` when admitted, else whole seconds to wait (for `retry-after`).
    package func admit(_ address: String) -> Int? {
        let now = ContinuousClock.now
        return buckets.withLock { buckets in
            if buckets.count > pruneThreshold {
                buckets = buckets.filter { _, bucket in
                    var bucket = bucket
                    return !bucket.isFull(now: now)
                }
            }
            var bucket = buckets[address] ?? TokenBucket(rate: rate, burst: burst, now: now)
            let wait = bucket.take(now: now)
            buckets[address] = bucket
            guard let wait else { return nil }
            let seconds = Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18
            return max(1, Int(seconds.rounded(.up)))
        }
    }
}

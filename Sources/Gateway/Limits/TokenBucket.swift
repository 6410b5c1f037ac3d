/// A token bucket: `rate` tokens a second up to `burst`; pure, so tests drive it with their own instants.
package struct TokenBucket<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    /// Tokens added per second.
    package let rate: Double
    /// The most tokens held.
    package let burst: Double
    private var tokens: Double
    private var updated: Instant

    /// A full bucket.
    package init(rate: Double, burst: Int, now: Instant) {
        self.rate = rate
        self.burst = Double(max(1, burst))
        self.tokens = self.burst
        self.updated = now
    }

    /// Takes one token if there is one.
    /// - Returns: `nil` when allowed, else the seconds until a token is available.
    package mutating func take(now: Instant) -> Duration? {
        refill(now: now)
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        guard rate > 0 else { return .seconds(3600) }
        return .seconds((1 - tokens) / rate)
    }

    /// Whether the bucket is full at `now` (and so can be forgotten).
    package mutating func isFull(now: Instant) -> Bool {
        refill(now: now)
        return tokens >= burst
    }

    private mutating func refill(now: Instant) {
        let elapsed = updated.duration(to: now)
        guard elapsed > .zero else { return }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        tokens = min(burst, tokens + seconds * rate)
        updated = now
    }
}

import Store

/// When a mail that failed for now is tried again, and when it is given up on: exponential backoff with
/// equal jitter, capped, within a retry period that starts when the mail was written.
///
/// After the n-th failed attempt the mail waits `d/2 + random(0...d/2)` with `d = min(cap, base · 2^(n−1))`,
/// so attempts spread out (no thundering herd after an outage) but never come sooner than half the
/// exponential delay. A mail whose next attempt would fall after `insertedAt + retryPeriod` is given up on
/// (`failed`) instead: with the defaults (1 s doubling, capped at 10 minutes, 24 hours) that is after about
/// 150 attempts. Pure: the caller passes the times and the random source.
package struct MailRetryPolicy: Sendable, Hashable {
    /// The delay after the first failed attempt (before jitter).
    package var base: Duration
    /// The longest delay between two attempts (before jitter).
    package var cap: Duration
    /// How long after it was written a mail is still tried.
    package var retryPeriod: Duration

    /// Creates a policy; the defaults are the broker's.
    package init(base: Duration = .seconds(1), cap: Duration = .seconds(600), retryPeriod: Duration = .seconds(86_400)) {
        self.base = base
        self.cap = cap
        self.retryPeriod = retryPeriod
    }

    /// The exponential delay after `failedAttempts` failed attempts, before jitter: `min(cap, base · 2^(n−1))`.
    package func ceiling(afterFailedAttempts failedAttempts: Int) -> Duration {
        let doublings = min(max(failedAttempts - 1, 0), 40)  // 2^40 seconds outlasts any cap
        let delay = base * (1 << doublings)
        return min(delay, cap)
    }

    /// The delay after `failedAttempts` failed attempts: half the ceiling plus a random part of the other half.
    package func delay(
        afterFailedAttempts failedAttempts: Int,
        using generator: inout some RandomNumberGenerator
    ) -> Duration {
        let half = ceiling(afterFailedAttempts: failedAttempts) / 2
        return half + half * Double.random(in: 0...1, using: &generator)
    }

    /// What to record after a mail's `failedAttempts`-th failed attempt, at `now`: the time to try again, or
    /// `failed` when that time would be past its retry period.
    package func decision(
        afterFailedAttempts failedAttempts: Int,
        insertedAt: Timestamp,
        now: Timestamp,
        using generator: inout some RandomNumberGenerator
    ) -> MailDelivery {
        let next = now.advanced(by: delay(afterFailedAttempts: failedAttempts, using: &generator))
        return next > insertedAt.advanced(by: retryPeriod) ? .failed : .retry(at: next)
    }
}

/// Counts restarts in a sliding window, so that a supervisor gives up on a crash loop instead
/// of restarting forever (OTP's `intensity` and `period`).
///
/// It is a pure value: it reads no clock, and the caller passes the instant of each restart.
/// That keeps it testable with a manual clock and free of I/O. It keeps the instants of the
/// restarts that are no older than ``period``, as OTP's `add_restart/1` does, and allows at
/// most ``maxRestarts`` of them.
///
/// ```swift
/// var intensity = RestartIntensity<ContinuousClock>(maxRestarts: 1, period: .seconds(5))
/// intensity.recordRestart(at: .now)   // .restart
/// intensity.recordRestart(at: .now)   // .escalate: two restarts within five seconds
/// ```
package struct RestartIntensity<C: Clock>: Sendable {
    /// The most restarts allowed within ``period``; zero means any restart escalates.
    package let maxRestarts: Int
    /// How far back restarts count.
    package let period: C.Duration
    /// The instants of the restarts still inside the window as of the last record, oldest first.
    private var restarts: [C.Instant] = []

    /// Creates an empty window, so a new supervisor starts with no restarts counted.
    ///
    /// - Parameters:
    ///   - maxRestarts: The most restarts allowed within `period`; negative values count as zero.
    ///   - period: How far back restarts count.
    package init(maxRestarts: Int, period: C.Duration) {
        self.maxRestarts = max(0, maxRestarts)
        self.period = period
    }

    /// How many restarts were inside the window when the last one was recorded, the count a
    /// supervisor reports in its restart log.
    package var restartsInPeriod: Int {
        self.restarts.count
    }

    /// Records a restart at `now` and tells whether it stays within the intensity.
    ///
    /// Restarts older than `now - period` are forgotten first; a restart exactly `period` ago
    /// still counts, as in OTP.
    ///
    /// - Parameter now: The instant of this restart, from the clock the caller uses.
    /// - Returns: ``RestartDecision/restart`` while at most ``maxRestarts`` restarts are in the
    ///   window, ``RestartDecision/escalate`` beyond that.
    package mutating func recordRestart(at now: C.Instant) -> RestartDecision {
        let threshold = now.advanced(by: .zero - self.period)
        self.restarts.removeAll { $0 < threshold }
        self.restarts.append(now)
        // Only the count matters past the limit, so the window never grows beyond it.
        let excess = self.restarts.count - (self.maxRestarts + 1)
        if excess > 0 {
            self.restarts.removeFirst(excess)
        }
        return self.restarts.count <= self.maxRestarts ? .restart : .escalate
    }
}

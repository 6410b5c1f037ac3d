/// One sending stage as the coordinator hands it to a worker.
struct StagePlan: Codable, Sendable {
    /// 0 for the first stage.
    var index: Int
    /// This worker's share of the stage's total rate, messages per second.
    var rate: Double
    /// Monotonic instant (nanoseconds) the first send is due, the same for every worker.
    var startAt: UInt64
    /// Sending time.
    var seconds: Double
    /// Time after the last send for replies and pushes.
    var graceSeconds: Double
    /// Pipeline: this many sends from the first directed pair, written back to back at `startAt` (0: the
    /// open-loop `rate`).
    var burst: Int = 0
    /// Churn: this worker's sockets closed and reopened per second during the stage (0: none).
    var churn: Double = 0
    /// Seconds per reporting interval (0: no interval reports).
    var reportInterval: Double = 0
}

import Histogram

/// Everything a process counts, guarded by ``WorkerStats``'s lock.
struct StatsState: Sendable {
    /// Sequences issued so far; the next send gets this one.
    var issued: UInt64 = 0
    /// Sequences with an ok reply.
    var acked = SequenceBitSet()
    /// Sequences received by their recipient.
    var received = SequenceBitSet()
    /// The current stage's first sequence: lower ones belong to stages already reported.
    var stageFirst: UInt64 = 0
    /// The current stage's counters.
    var stage = StageCounters()
    /// The current stage's end-to-end latency, µs.
    var latency = LatencyBuckets.makeHistogram()
    /// The current stage's exact largest end-to-end latency, µs.
    var latencyMax: UInt64 = 0
    /// The current stage's ack latency, µs.
    var ackLatency = LatencyBuckets.makeHistogram()
    /// The current stage's exact largest ack latency, µs.
    var ackLatencyMax: UInt64 = 0
    /// The current stage's send lag (write instant − scheduled instant), µs: the client's own delay.
    var sendLag = LatencyBuckets.makeHistogram()
    /// The current stage's exact largest send lag, µs.
    var sendLagMax: UInt64 = 0
    /// The current stage's latency of replayed pushes (scheduled send to replay), µs.
    var replayLatency = LatencyBuckets.makeHistogram()
    /// Its exact maximum.
    var replayLatencyMax: UInt64 = 0
    /// The current reporting interval's counters.
    var interval = IntervalCounters()
    /// `issued` when the previous reporting interval ended: older sends had a whole interval to arrive.
    var intervalMark: UInt64 = 0
    /// Sockets dropped when the current stage began.
    var droppedAtStageStart = 0

    /// Sockets joined.
    var joined = 0
    /// Sockets that failed to open.
    var connectFailures = 0
    /// Joined sockets closed for any reason.
    var closed = 0
    /// Socket-level counts for the final report.
    var finish = FinishReport()
    /// Sends over the whole run.
    var totalSent = 0
    /// Deliveries over the whole run.
    var totalDelivered = 0
    /// Error replies over the whole run.
    var totalErrors = 0
}

/// What a process counts for the current reporting interval (reset at each interval's end).
struct IntervalCounters: Sendable {
    /// Sends written.
    var sent = 0
    /// Error replies.
    var errors = 0
    /// First receipts, live or replayed.
    var delivered = 0
    /// First receipts in a rejoin's replay.
    var replayed = 0
    /// Copies beyond the first.
    var duplicates = 0
    /// Copies on a socket of neither participant.
    var misdelivered = 0
    /// Churn rejoins.
    var reconnects = 0
    /// Churn reconnects that failed.
    var reconnectFailures = 0
    /// Rejoins with `truncated`.
    var truncatedJoins = 0
    /// Sends moved off a reconnecting socket.
    var redirected = 0
    /// Live pushes' end-to-end latency, µs.
    var latency = LatencyBuckets.makeHistogram()
    /// Its exact maximum.
    var latencyMax: UInt64 = 0
    /// Replayed pushes' latency, µs.
    var replayLatency = LatencyBuckets.makeHistogram()
    /// Its exact maximum.
    var replayLatencyMax: UInt64 = 0
}

/// What one worker (or, merged, the whole run) saw of one stage.
struct StageReport: Codable, Sendable {
    /// The stage.
    var index: Int
    /// Sending time.
    var seconds: Double
    /// Sends written.
    var sent = 0
    /// Ok replies.
    var acked = 0
    /// Error replies by reason.
    var errors: [String: Int] = [:]
    /// Sends not made by reason.
    var skipped: [String: Int] = [:]
    /// Messages received by their recipient (first copy).
    var received = 0
    /// Acked but not received by the end of the grace period.
    var lost = 0
    /// Copies beyond the first.
    var duplicates = 0
    /// Copies on a socket of neither participant.
    var misdelivered = 0
    /// Sends with no reply by the end of the grace period.
    var unanswered = 0
    /// Replies and pushes of earlier stages that arrived during this one.
    var late = 0
    /// Sockets the server closed during the stage.
    var dropped = 0
    /// Ok replies out of their socket's send order.
    var outOfOrder = 0
    /// First receipts that came in a rejoin's replay (also in `received`).
    var replayed = 0
    /// Sockets closed and joined again with `last_seen_id` (churn).
    var reconnects = 0
    /// Churn reconnects that failed, by reason.
    var reconnectFailures: [String: Int] = [:]
    /// Rejoins whose reply said `truncated`.
    var truncatedJoins = 0
    /// Messages the rejoins' replies announced (`recovered`).
    var recoveredAnnounced = 0
    /// Sends moved to the next pair because their socket was being reconnected.
    var redirected = 0
    /// Scheduled send to replayed push, µs.
    var replayLatency = LatencyBuckets()
    /// End-to-end latency (scheduled send to live push received), µs.
    var latency = LatencyBuckets()
    /// Send to ok reply, µs.
    var ackLatency = LatencyBuckets()
    /// Scheduled instant to the instant the send was handed to its socket, µs (the client's own lag).
    var sendLag = LatencyBuckets()

    /// An empty report of stage `index`.
    init(index: Int, seconds: Double) {
        self.index = index
        self.seconds = seconds
    }

    /// Adds another worker's report of the same stage.
    mutating func merge(_ other: StageReport) {
        seconds = max(seconds, other.seconds)
        sent += other.sent
        acked += other.acked
        errors.merge(other.errors, uniquingKeysWith: +)
        skipped.merge(other.skipped, uniquingKeysWith: +)
        received += other.received
        lost += other.lost
        duplicates += other.duplicates
        misdelivered += other.misdelivered
        unanswered += other.unanswered
        late += other.late
        dropped += other.dropped
        outOfOrder += other.outOfOrder
        replayed += other.replayed
        reconnects += other.reconnects
        reconnectFailures.merge(other.reconnectFailures, uniquingKeysWith: +)
        truncatedJoins += other.truncatedJoins
        recoveredAnnounced += other.recoveredAnnounced
        redirected += other.redirected
        replayLatency.merge(other.replayLatency)
        latency.merge(other.latency)
        ackLatency.merge(other.ackLatency)
        sendLag.merge(other.sendLag)
    }

    /// Total error replies.
    var errorCount: Int { errors.values.reduce(0, +) }
    /// Total skipped sends.
    var skippedCount: Int { skipped.values.reduce(0, +) }
}

/// One process's counts over one reporting interval of a stage (`--report-interval`), and, merged, the run's.
struct IntervalReport: Codable, Sendable {
    /// 1 for the interval ending `--report-interval` seconds after the stage's start.
    var index: Int
    /// Seconds from the stage's start to the interval's end.
    var seconds: Double
    /// Sends written in the interval.
    var sent = 0
    /// Error replies in the interval.
    var errors = 0
    /// Messages received by their recipient for the first time in the interval, live or replayed.
    var delivered = 0
    /// Of those, received in a rejoin's replay (`last_seen_id` recovery).
    var replayed = 0
    /// Copies beyond the first in the interval.
    var duplicates = 0
    /// Copies on a socket of neither participant.
    var misdelivered = 0
    /// Acked messages of the stage not received, among the sends written before the previous interval ended
    /// (so each had at least one interval to arrive): lost so far.
    var lostSoFar = 0
    /// Acked messages not received yet, of any age (in flight).
    var awaiting = 0
    /// Sockets joined and open at the interval's end.
    var open = 0
    /// Sockets closed and joined again with `last_seen_id` in the interval (churn).
    var reconnects = 0
    /// Churn reconnects that failed, in the interval.
    var reconnectFailures = 0
    /// Rejoins whose reply said `truncated` (more missed than one replay carries).
    var truncatedJoins = 0
    /// Sends moved to the next pair because their socket was being reconnected.
    var redirected = 0
    /// End-to-end latency of the live pushes received in the interval, µs.
    var latency = LatencyBuckets()
    /// Scheduled send to replayed push, µs (includes the time the recipient was away).
    var replayLatency = LatencyBuckets()

    /// An empty report of interval `index`.
    init(index: Int, seconds: Double) {
        self.index = index
        self.seconds = seconds
    }

    /// Adds another process's report of the same interval.
    mutating func merge(_ other: IntervalReport) {
        seconds = max(seconds, other.seconds)
        sent += other.sent
        errors += other.errors
        delivered += other.delivered
        replayed += other.replayed
        duplicates += other.duplicates
        misdelivered += other.misdelivered
        lostSoFar += other.lostSoFar
        awaiting += other.awaiting
        open += other.open
        reconnects += other.reconnects
        reconnectFailures += other.reconnectFailures
        truncatedJoins += other.truncatedJoins
        redirected += other.redirected
        latency.merge(other.latency)
        replayLatency.merge(other.replayLatency)
    }
}

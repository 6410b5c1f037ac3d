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
    /// End-to-end latency (scheduled send to push received), µs.
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
        latency.merge(other.latency)
        ackLatency.merge(other.ackLatency)
        sendLag.merge(other.sendLag)
    }

    /// Total error replies.
    var errorCount: Int { errors.values.reduce(0, +) }
    /// Total skipped sends.
    var skippedCount: Int { skipped.values.reduce(0, +) }
}

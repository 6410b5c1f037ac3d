/// One stage of the run as reported: every process's counts merged, with rates and percentiles.
struct StageSummary: Codable, Sendable {
    /// 0 for the first stage.
    var index: Int
    /// The total rate asked for, messages per second.
    var targetRate: Double
    /// Sending time.
    var seconds: Double
    /// Sends written.
    var sent: Int
    /// Sends per second achieved.
    var sendRate: Double
    /// Ok replies.
    var acked: Int
    /// Messages received by their recipient.
    var delivered: Int
    /// Deliveries per second of sending time.
    var deliveredPerSecond: Double
    /// Acked but never received within the grace period.
    var lost: Int
    /// Copies beyond the first.
    var duplicates: Int
    /// Copies on a socket of neither participant.
    var misdelivered: Int
    /// Sends without any reply within the grace period.
    var unanswered: Int
    /// Replies and pushes of earlier stages that arrived late.
    var late: Int
    /// Sockets the server closed during the stage.
    var dropped: Int
    /// Ok replies out of their socket's send order.
    var outOfOrder: Int
    /// Pipeline: ok replies per second, from the burst's start to its last reply.
    var ackedPerSecond: Double?
    /// Error replies by reason.
    var sendErrors: [String: Int]
    /// Sends not made by reason.
    var skipped: [String: Int]
    /// Scheduled send to push received, µs.
    var latencyUs: LatencySummary
    /// Scheduled send to ok reply, µs.
    var ackLatencyUs: LatencySummary
    /// Scheduled send to the send handed to its socket, µs: large values mean the load generator itself fell
    /// behind (CPU-starved), and the latencies above include that.
    var sendLagUs: LatencySummary
    /// Server CPU time used from the stage's start to the end of its grace period, µs.
    var serverCpuUs: UInt64?
    /// `serverCpuUs` per delivered message.
    var serverCpuUsPerMessage: Double?
    /// Whether the stage met every bound.
    var passed: Bool
    /// The bounds it missed.
    var failures: [String]
    /// Whether the latency bound was the only one missed (ramp retries such a stage once: a p99 is easily
    /// spoiled by a burst of unrelated load on a shared machine, a lost message is not).
    var failedOnLatencyOnly: Bool

    /// The summary of `report`, judged against `p99Bound` (µs; `nil`: no latency bound).
    init(_ report: StageReport, targetRate: Double, serverCpuUs: UInt64?, p99Bound: UInt64?) {
        index = report.index
        self.targetRate = targetRate
        seconds = report.seconds
        sent = report.sent
        sendRate = Self.rounded(report.seconds > 0 ? Double(report.sent) / report.seconds : 0)
        acked = report.acked
        delivered = report.received
        deliveredPerSecond = Self.rounded(report.seconds > 0 ? Double(report.received) / report.seconds : 0)
        lost = report.lost
        duplicates = report.duplicates
        misdelivered = report.misdelivered
        unanswered = report.unanswered
        late = report.late
        dropped = report.dropped
        outOfOrder = report.outOfOrder
        sendErrors = report.errors
        skipped = report.skipped
        latencyUs = report.latency.summary
        ackLatencyUs = report.ackLatency.summary
        sendLagUs = report.sendLag.summary
        self.serverCpuUs = serverCpuUs
        serverCpuUsPerMessage = serverCpuUs.flatMap { cpu in
            report.received > 0 ? Self.rounded(Double(cpu) / Double(report.received)) : nil
        }
        var failures: [String] = []
        if report.lost > 0 { failures.append("\(report.lost) lost") }
        if report.duplicates > 0 { failures.append("\(report.duplicates) duplicates") }
        if report.misdelivered > 0 { failures.append("\(report.misdelivered) misdelivered") }
        if report.errorCount > 0 { failures.append("\(report.errorCount) send errors") }
        if report.unanswered > 0 { failures.append("\(report.unanswered) unanswered") }
        if report.skippedCount > 0 { failures.append("\(report.skippedCount) sends skipped") }
        if report.dropped > 0 { failures.append("\(report.dropped) sockets dropped") }
        if report.outOfOrder > 0 { failures.append("\(report.outOfOrder) replies out of order") }
        if report.sent == 0 { failures.append("nothing sent") }
        let p99 = latencyUs.p99
        let overBound = p99Bound.map { p99 > $0 } ?? false
        failedOnLatencyOnly = overBound && failures.isEmpty
        if let p99Bound, overBound { failures.append("p99 \(latencyUs.p99) µs over \(p99Bound) µs") }
        self.failures = failures
        passed = failures.isEmpty
    }

    /// `value` to one decimal.
    private static func rounded(_ value: Double) -> Double { (value * 10).rounded() / 10 }
}

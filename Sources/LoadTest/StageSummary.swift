import Foundation

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
    /// First receipts that came in a rejoin's replay (`last_seen_id` recovery); also in `delivered`.
    var replayed: Int
    /// Sockets closed and joined again with `last_seen_id` (churn).
    var reconnects: Int
    /// Churn reconnects per second of sending time.
    var reconnectRate: Double
    /// Churn reconnects that failed, by reason.
    var reconnectFailures: [String: Int]
    /// Rejoins whose reply said `truncated`.
    var truncatedJoins: Int
    /// Messages the rejoins' replies announced (`recovered`).
    var recoveredAnnounced: Int
    /// Sends moved to the next pair because their socket was being reconnected.
    var redirected: Int
    /// Scheduled send to replayed push, µs (includes the time the recipient was away).
    var replayLatencyUs: LatencySummary
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
        replayed = report.replayed
        reconnects = report.reconnects
        reconnectRate = Self.rounded(report.seconds > 0 ? Double(report.reconnects) / report.seconds : 0)
        reconnectFailures = report.reconnectFailures
        truncatedJoins = report.truncatedJoins
        recoveredAnnounced = report.recoveredAnnounced
        redirected = report.redirected
        replayLatencyUs = report.replayLatency.summary
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
        let failedReconnects = report.reconnectFailures.values.reduce(0, +)
        if failedReconnects > 0 { failures.append("\(failedReconnects) reconnects failed") }
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

/// One reporting interval of the run as reported: every process's counts merged, with rates, percentiles and
/// the servers' RSS and open files at the interval's end.
struct IntervalSummary: Codable, Sendable {
    /// 1 for the first interval.
    var index: Int
    /// Seconds from the stage's start to the interval's end.
    var seconds: Double
    /// Sends written in the interval.
    var sent: Int
    /// Sends per second.
    var sendRate: Double
    /// First receipts in the interval, live or replayed.
    var delivered: Int
    /// Of those, from rejoin replays.
    var replayed: Int
    /// Copies beyond the first.
    var duplicates: Int
    /// Copies on a socket of neither participant.
    var misdelivered: Int
    /// Error replies.
    var errors: Int
    /// Acked messages at least one interval old and not received: lost so far.
    var lostSoFar: Int
    /// Acked messages not received yet, of any age.
    var awaiting: Int
    /// Sockets joined and open at the interval's end.
    var open: Int
    /// Churn rejoins in the interval.
    var reconnects: Int
    /// Churn rejoins per second.
    var reconnectRate: Double
    /// Churn reconnects that failed.
    var reconnectFailures: Int
    /// Rejoins whose reply said `truncated`.
    var truncatedJoins: Int
    /// Sends moved off a reconnecting socket.
    var redirected: Int
    /// Live pushes' end-to-end latency, µs.
    var latencyUs: LatencySummary
    /// Replayed pushes' latency (scheduled send to replay), µs.
    var replayLatencyUs: LatencySummary
    /// The servers' summed RSS at the interval's end, KiB (with `--server-pid`).
    var serverRssKib: UInt64?
    /// The servers' summed open file descriptors at the interval's end (with `--server-pid`).
    var serverOpenFiles: Int?

    /// The summary of `report`, an interval `length` seconds long, with the servers' figures.
    init(_ report: IntervalReport, length: Double, serverRssKib: UInt64?, serverOpenFiles: Int?) {
        index = report.index
        seconds = report.seconds
        sent = report.sent
        sendRate = Self.rounded(length > 0 ? Double(report.sent) / length : 0)
        delivered = report.delivered
        replayed = report.replayed
        duplicates = report.duplicates
        misdelivered = report.misdelivered
        errors = report.errors
        lostSoFar = report.lostSoFar
        awaiting = report.awaiting
        open = report.open
        reconnects = report.reconnects
        reconnectRate = Self.rounded(length > 0 ? Double(report.reconnects) / length : 0)
        reconnectFailures = report.reconnectFailures
        truncatedJoins = report.truncatedJoins
        redirected = report.redirected
        latencyUs = report.latency.summary
        replayLatencyUs = report.replayLatency.summary
        self.serverRssKib = serverRssKib
        self.serverOpenFiles = serverOpenFiles
    }

    /// The line printed when the interval ends.
    var line: String {
        func ms(_ micros: UInt64) -> String { String(format: "%.2f", Double(micros) / 1_000) }
        var text =
            "interval \(index) at \(Int(seconds.rounded())) s: sent \(sent) (\(sendRate)/s), delivered \(delivered)"
            + " (replayed \(replayed)), lost so far \(lostSoFar), in flight \(awaiting), dup \(duplicates)"
            + " | p50 \(ms(latencyUs.p50)) ms, p99 \(ms(latencyUs.p99)) ms, max \(ms(latencyUs.max)) ms"
        if replayLatencyUs.count > 0 { text += ", replayed p99 \(ms(replayLatencyUs.p99)) ms" }
        if let serverRssKib {
            text += " | server RSS \(String(format: "%.1f", Double(serverRssKib) / 1_024)) MiB"
        }
        if let serverOpenFiles { text += ", \(serverOpenFiles) fds" }
        text += " | open \(open), reconnects \(reconnects) (\(reconnectRate)/s), failed \(reconnectFailures)"
        if truncatedJoins > 0 { text += ", truncated \(truncatedJoins)" }
        if errors > 0 || misdelivered > 0 { text += " | errors \(errors), misdelivered \(misdelivered)" }
        return text
    }

    /// `value` to one decimal.
    private static func rounded(_ value: Double) -> Double { (value * 10).rounded() / 10 }
}

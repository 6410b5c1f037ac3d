import Synchronization

/// The counters of one process, updated from the event loops (replies, pushes, closes) and the stage scheduler
/// (sends), read by the reports. One lock; every update is a few field writes.
final class WorkerStats: Sendable {
    /// The state.
    private let state = Mutex(StatsState())

    /// An empty set of counters.
    init() {}

    // MARK: - Sockets

    /// A socket completed its join.
    func socketJoined() {
        state.withLock { $0.joined += 1 }
    }

    /// A socket failed to open.
    func connectFailed() {
        state.withLock { $0.connectFailures += 1 }
    }

    /// A joined socket closed; `byServer` when this tool had not asked for it.
    func socketClosed(byServer: Bool) {
        state.withLock {
            $0.closed += 1
            if byServer { $0.finish.dropped += 1 }
        }
    }

    /// The server's close frame, or a socket error, by reason.
    func closeReason(_ reason: String) {
        state.withLock { $0.finish.closeReasons.count(reason) }
    }

    /// A heartbeat was written.
    func heartbeatSent() {
        state.withLock { $0.finish.heartbeatsSent += 1 }
    }

    /// A heartbeat reply arrived.
    func heartbeatReplied(ok: Bool) {
        state.withLock {
            if ok { $0.finish.heartbeatReplies += 1 } else { $0.finish.heartbeatErrors += 1 }
        }
    }

    /// A text frame that is not a Phoenix V2 frame.
    func unparsedFrame() {
        state.withLock { $0.finish.unparsedFrames += 1 }
    }

    /// A frame of an event this tool does not use (or of a reply to nothing it sent).
    func otherEvent(_ name: String) {
        state.withLock { $0.finish.otherEvents.count(name) }
    }

    // MARK: - Messages

    /// Issues the next sequence for a send about to be written `lagNanos` after its scheduled instant.
    func issueSend(lagNanos: UInt64) -> UInt64 {
        state.withLock { state in
            let sequence = state.issued
            state.issued += 1
            state.stage.sent += 1
            state.interval.sent += 1
            state.totalSent += 1
            let micros = lagNanos / 1_000
            state.sendLag.record(min(micros, LatencyBuckets.highestTrackable))
            state.sendLagMax = max(state.sendLagMax, micros)
            return sequence
        }
    }

    /// A send the scheduler did not make.
    func skipped(_ reason: String) {
        state.withLock { $0.stage.skipped.count(reason) }
    }

    /// The reply to send `sequence`: ok (with the ack latency in nanoseconds) or an error with its reason.
    /// An ok reply that came back before the reply to an earlier send of its socket.
    func repliedOutOfOrder() {
        state.withLock { $0.stage.outOfOrder += 1 }
    }

    func replied(sequence: UInt64, error reason: String?, latencyNanos: UInt64?) {
        state.withLock { state in
            guard sequence < state.issued else {
                state.finish.unknownSequences += 1
                return
            }
            guard sequence >= state.stageFirst else {
                state.stage.late += 1
                state.finish.lateArrivals += 1
                if reason == nil { state.acked.insert(sequence) }
                return
            }
            if let reason {
                state.stage.errors.count(reason)
                state.interval.errors += 1
                state.totalErrors += 1
                return
            }
            guard state.acked.insert(sequence) else { return }
            state.stage.acked += 1
            if !state.received.contains(sequence) { state.stage.awaiting += 1 }
            if let latencyNanos {
                let micros = latencyNanos / 1_000
                state.ackLatency.record(min(micros, LatencyBuckets.highestTrackable))
                state.ackLatencyMax = max(state.ackLatencyMax, micros)
            }
        }
    }

    /// A push of this worker's message `stamp` on a socket of user `socketUser`, sent by `sender`, `latencyNanos`
    /// after it was scheduled; `replayed` when it came in the replay of a join with `last_seen_id`.
    ///
    /// A replayed message counts as delivered like a live one; a second copy of a message, live or replayed,
    /// is a duplicate (the server sent it twice: a rejoin asks only for ids above the highest the socket saw).
    /// Live and replayed latencies are kept apart: a replay's includes the time its recipient was away.
    func pushed(_ stamp: MessageStamp, socketUser: Int64, sender: Int64?, latencyNanos: UInt64, replayed: Bool = false) {
        state.withLock { state in
            guard stamp.sequence < state.issued else {
                state.finish.unknownSequences += 1
                return
            }
            if sender == socketUser {
                state.finish.senderCopies += 1
                return
            }
            guard stamp.recipient == socketUser else {
                state.stage.misdelivered += 1
                state.interval.misdelivered += 1
                return
            }
            guard state.received.insert(stamp.sequence) else {
                state.stage.duplicates += 1
                state.interval.duplicates += 1
                return
            }
            state.totalDelivered += 1
            state.interval.delivered += 1
            if replayed { state.interval.replayed += 1 }
            guard stamp.sequence >= state.stageFirst else {
                state.stage.late += 1
                state.finish.lateArrivals += 1
                return
            }
            state.stage.received += 1
            if state.acked.contains(stamp.sequence) { state.stage.awaiting -= 1 }
            let micros = min(latencyNanos / 1_000, LatencyBuckets.highestTrackable)
            if replayed {
                state.stage.replayed += 1
                state.replayLatency.record(micros)
                state.replayLatencyMax = max(state.replayLatencyMax, micros)
                state.interval.replayLatency.record(micros)
                state.interval.replayLatencyMax = max(state.interval.replayLatencyMax, micros)
            } else {
                state.latency.record(micros)
                state.latencyMax = max(state.latencyMax, micros)
                state.interval.latency.record(micros)
                state.interval.latencyMax = max(state.interval.latencyMax, micros)
            }
        }
    }

    // MARK: - Churn

    /// A socket joined again with `last_seen_id`; its reply announced `recovered` messages.
    func rejoined(recovered: Int, truncated: Bool) {
        state.withLock { state in
            state.stage.reconnects += 1
            state.stage.recoveredAnnounced += recovered
            state.interval.reconnects += 1
            if truncated {
                state.stage.truncatedJoins += 1
                state.interval.truncatedJoins += 1
            }
        }
    }

    /// A churn reconnect failed (or was not made), for `reason`.
    func reconnectFailed(_ reason: String) {
        state.withLock { state in
            state.stage.reconnectFailures.count(reason)
            state.interval.reconnectFailures += 1
        }
    }

    /// A send went to the next pair because its socket was being reconnected.
    func redirected() {
        state.withLock { state in
            state.stage.redirected += 1
            state.interval.redirected += 1
        }
    }

    // MARK: - Intervals

    /// The counts of the interval that ends now (interval `index`, `seconds` after the stage's start); the next
    /// interval starts from zero.
    func takeInterval(index: Int, seconds: Double) -> IntervalReport {
        state.withLock { state in
            var report = IntervalReport(index: index, seconds: seconds)
            let interval = state.interval
            report.sent = interval.sent
            report.errors = interval.errors
            report.delivered = interval.delivered
            report.replayed = interval.replayed
            report.duplicates = interval.duplicates
            report.misdelivered = interval.misdelivered
            report.reconnects = interval.reconnects
            report.reconnectFailures = interval.reconnectFailures
            report.truncatedJoins = interval.truncatedJoins
            report.redirected = interval.redirected
            report.latency = LatencyBuckets(interval.latency, max: interval.latencyMax)
            report.replayLatency = LatencyBuckets(interval.replayLatency, max: interval.replayLatencyMax)
            let mark = max(state.stageFirst, state.intervalMark)
            report.lostSoFar = state.acked.count(notIn: state.received, in: state.stageFirst..<mark)
            report.awaiting = state.stage.awaiting
            report.open = state.joined - state.closed
            state.intervalMark = state.issued
            state.interval = IntervalCounters()
            return report
        }
    }

    /// A push of a message sent by another worker process.
    func foreignPush() {
        state.withLock { $0.finish.foreign += 1 }
    }

    // MARK: - Stages

    /// Starts counting a new stage: later sequences are its own, earlier ones are late.
    func beginStage() {
        state.withLock { state in
            state.stageFirst = state.issued
            state.stage = StageCounters()
            state.latency.reset()
            state.ackLatency.reset()
            state.sendLag.reset()
            state.latencyMax = 0
            state.ackLatencyMax = 0
            state.sendLagMax = 0
            state.replayLatency.reset()
            state.replayLatencyMax = 0
            state.interval = IntervalCounters()
            state.intervalMark = state.issued
            state.droppedAtStageStart = state.finish.dropped
        }
    }

    /// Whether every send of the stage has its reply and every acked message has been received.
    func stageSettled() -> Bool {
        state.withLock { state in
            let answered = state.stage.acked + state.stage.errors.values.reduce(0, +)
            return answered >= state.stage.sent && state.stage.awaiting == 0
        }
    }

    /// The report of the current stage; later pushes and replies of its messages count as late.
    func endStage(index: Int, seconds: Double) -> StageReport {
        state.withLock { state in
            var report = StageReport(index: index, seconds: seconds)
            let stage = state.stage
            report.sent = stage.sent
            report.acked = stage.acked
            report.errors = stage.errors
            report.skipped = stage.skipped
            report.received = stage.received
            report.duplicates = stage.duplicates
            report.misdelivered = stage.misdelivered
            report.late = stage.late
            report.outOfOrder = stage.outOfOrder
            report.replayed = stage.replayed
            report.reconnects = stage.reconnects
            report.reconnectFailures = stage.reconnectFailures
            report.truncatedJoins = stage.truncatedJoins
            report.recoveredAnnounced = stage.recoveredAnnounced
            report.redirected = stage.redirected
            report.replayLatency = LatencyBuckets(state.replayLatency, max: state.replayLatencyMax)
            report.lost = state.acked.count(notIn: state.received, in: state.stageFirst..<state.issued)
            report.unanswered = max(0, stage.sent - stage.acked - stage.errors.values.reduce(0, +))
            report.dropped = state.finish.dropped - state.droppedAtStageStart
            report.latency = LatencyBuckets(state.latency, max: state.latencyMax)
            report.ackLatency = LatencyBuckets(state.ackLatency, max: state.ackLatencyMax)
            report.sendLag = LatencyBuckets(state.sendLag, max: state.sendLagMax)
            state.stageFirst = state.issued
            state.stage = StageCounters()
            return report
        }
    }

    // MARK: - Reports

    /// The live display's counters.
    func progress() -> ProgressSnapshot {
        state.withLock { state in
            var snapshot = ProgressSnapshot()
            snapshot.open = state.joined - state.closed
            snapshot.connectFailures = state.connectFailures
            snapshot.sent = state.totalSent
            snapshot.delivered = state.totalDelivered
            snapshot.errors = state.totalErrors
            snapshot.dropped = state.finish.dropped
            snapshot.p99 = state.latency.totalCount == 0 ? 0 : Int(state.latency.valueAtPercentile(99))
            return snapshot
        }
    }

    /// The socket-level counts of the run.
    func finishReport() -> FinishReport {
        state.withLock { $0.finish }
    }
}

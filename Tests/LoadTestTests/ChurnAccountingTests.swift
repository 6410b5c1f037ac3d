import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

@testable import LoadTest

/// Churn's accounting: replayed messages count as delivered once, a second copy (live or replayed) is a
/// duplicate, live and replayed latencies are kept apart, and the interval reports count loss only for sends
/// that had a whole interval to arrive.

@Test func replayedMessagesCountAsDeliveredAndOnlyRealCopiesAsDuplicates() {
    let stats = WorkerStats()
    stats.beginStage()
    let sequences = (0..<5).map { _ in stats.issueSend(lagNanos: 0) }
    for sequence in sequences { stats.replied(sequence: sequence, error: nil, latencyNanos: 1_000) }
    let stamp = { (sequence: UInt64) in MessageStamp(worker: 0, sequence: sequence, scheduled: 0, recipient: 2) }
    // Live before the reconnect, replayed after it (missed while the socket was away), live again.
    stats.pushed(stamp(0), socketUser: 2, sender: 1, latencyNanos: 1_000_000)
    stats.pushed(stamp(1), socketUser: 2, sender: 1, latencyNanos: 1_000_000)
    stats.rejoined(recovered: 3, truncated: false)
    stats.pushed(stamp(2), socketUser: 2, sender: 1, latencyNanos: 50_000_000, replayed: true)
    stats.pushed(stamp(3), socketUser: 2, sender: 1, latencyNanos: 50_000_000, replayed: true)
    // The server replaying a message the socket already had is a duplicate.
    stats.pushed(stamp(1), socketUser: 2, sender: 1, latencyNanos: 50_000_000, replayed: true)
    stats.pushed(stamp(4), socketUser: 2, sender: 1, latencyNanos: 1_000_000)
    #expect(stats.stageSettled())
    let report = stats.endStage(index: 0, seconds: 1)
    #expect(report.sent == 5 && report.acked == 5 && report.received == 5)
    #expect(report.replayed == 2 && report.lost == 0 && report.duplicates == 1)
    #expect(report.reconnects == 1 && report.recoveredAnnounced == 3)
    #expect(report.latency.summary.count == 3 && report.latency.summary.max == 1_000)
    #expect(report.replayLatency.summary.count == 2 && report.replayLatency.summary.max == 50_000)
    let summary = StageSummary(report, targetRate: 5, serverCpuUs: nil, p99Bound: nil)
    #expect(summary.failures == ["1 duplicates"])
}

@Test func aMessageNeitherPushedNorReplayedIsLost() {
    let stats = WorkerStats()
    stats.beginStage()
    let sequences = (0..<3).map { _ in stats.issueSend(lagNanos: 0) }
    for sequence in sequences { stats.replied(sequence: sequence, error: nil, latencyNanos: 1_000) }
    let stamp = { (sequence: UInt64) in MessageStamp(worker: 0, sequence: sequence, scheduled: 0, recipient: 2) }
    stats.pushed(stamp(0), socketUser: 2, sender: 1, latencyNanos: 1_000)
    stats.rejoined(recovered: 1, truncated: false)
    stats.pushed(stamp(2), socketUser: 2, sender: 1, latencyNanos: 1_000, replayed: true)
    stats.reconnectFailed("setup timeout")
    #expect(!stats.stageSettled())
    let report = stats.endStage(index: 0, seconds: 1)
    #expect(report.lost == 1 && report.replayed == 1 && report.duplicates == 0)
    #expect(report.reconnectFailures == ["setup timeout": 1])
    let summary = StageSummary(report, targetRate: 3, serverCpuUs: nil, p99Bound: nil)
    #expect(summary.failures == ["1 lost", "1 reconnects failed"])
}

@Test func intervalsCountLossOnlyForSendsAnIntervalOld() {
    let stats = WorkerStats()
    stats.beginStage()
    let stamp = { (sequence: UInt64) in MessageStamp(worker: 0, sequence: sequence, scheduled: 0, recipient: 2) }
    for _ in 0..<3 {
        let sequence = stats.issueSend(lagNanos: 0)
        stats.replied(sequence: sequence, error: nil, latencyNanos: 1_000)
    }
    stats.pushed(stamp(0), socketUser: 2, sender: 1, latencyNanos: 2_000)
    let first = stats.takeInterval(index: 1, seconds: 30)
    // 1 and 2 are in flight, not lost: they have not had a whole interval yet.
    #expect(first.sent == 3 && first.delivered == 1 && first.lostSoFar == 0 && first.awaiting == 2)
    #expect(first.latency.summary.count == 1)
    let sequence = stats.issueSend(lagNanos: 0)
    stats.replied(sequence: sequence, error: nil, latencyNanos: 1_000)
    stats.pushed(stamp(1), socketUser: 2, sender: 1, latencyNanos: 2_000)
    stats.rejoined(recovered: 0, truncated: true)
    stats.redirected()
    let second = stats.takeInterval(index: 2, seconds: 60)
    // 2 had a whole interval and never came; 3 is still young.
    #expect(second.sent == 1 && second.delivered == 1 && second.lostSoFar == 1 && second.awaiting == 2)
    #expect(second.reconnects == 1 && second.truncatedJoins == 1 && second.redirected == 1)
    stats.pushed(stamp(2), socketUser: 2, sender: 1, latencyNanos: 40_000, replayed: true)
    stats.pushed(stamp(3), socketUser: 2, sender: 1, latencyNanos: 2_000)
    let third = stats.takeInterval(index: 3, seconds: 90)
    #expect(third.lostSoFar == 0 && third.awaiting == 0 && third.delivered == 2 && third.replayed == 1)
    #expect(third.latency.summary.count == 1 && third.replayLatency.summary.count == 1)
    var merged = first
    merged.merge(second)
    #expect(merged.sent == 4 && merged.lostSoFar == 1 && merged.seconds == 60)
    let summary = IntervalSummary(third, length: 30, serverRssKib: 2_048, serverOpenFiles: 12)
    #expect(summary.line.hasPrefix("interval 3 at 90 s: sent 0"))
    #expect(summary.line.contains("server RSS 2.0 MiB, 12 fds"))
}

@Test func rejoinFramesAndRepliesRoundTrip() {
    let allocator = ByteBufferAllocator()
    #expect(String(buffer: FrameBuilder.join(allocator: allocator)) == #"["1","1","room:chat","phx_join",{}]"#)
    #expect(
        String(buffer: FrameBuilder.join(lastSeenID: 1234, allocator: allocator))
            == #"["1","1","room:chat","phx_join",{"last_seen_id":1234}]"#
    )
    let reply = ByteBuffer(
        string: #"["1","1","room:chat","phx_reply",{"status":"ok","response":{"recovered":3,"truncated":false}}]"#
    )
    let scanned = FrameScanner.scan(reply)
    #expect(scanned?.payload.response?.recovered == 3 && scanned?.payload.response?.truncated == false)
    let decoded = InboundFrame.decodeWithFoundation(reply)
    #expect(decoded?.payload.response?.recovered == 3 && decoded?.payload.response?.truncated == false)
    let truncated = ByteBuffer(
        string: #"["1","1","room:chat","phx_reply",{"status":"ok","response":{"truncated":true,"recovered":1000}}]"#
    )
    #expect(FrameScanner.scan(truncated)?.payload.response?.truncated == true)
}

@Test func sessionsKeepTheHighestIDSeen() {
    let session = SocketSession(index: 0, userID: 2, lastSeenID: 40)
    #expect(session.joinedAfter == 40 && session.highestSeen.load(ordering: .relaxed) == 40)
    session.saw(45)
    session.saw(41)
    #expect(session.highestSeen.load(ordering: .relaxed) == 45)
    #expect(SocketSession(index: 1, userID: 3).joinedAfter == nil)
}

/// The handler on an embedded channel: a rejoin sends `last_seen_id`, the `recovered` pushes after its reply
/// count as replayed, later ones as live, and every push raises the session's highest id.
@Test func theHandlerTellsReplayedPushesFromLiveOnes() throws {
    let channel = EmbeddedChannel()
    try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4000)).wait()
    let stats = WorkerStats()
    let session = SocketSession(index: 0, userID: 2, lastSeenID: 10)
    let joined = channel.eventLoop.makePromise(of: Void.self)
    try channel.pipeline.syncOperations.addHandler(
        LoadSocketHandler(session: session, stats: stats, workerIndex: 0, joined: joined)
    )
    let join = try #require(try channel.readOutbound(as: WebSocketFrame.self))
    #expect(String(buffer: join.data) == #"["1","1","room:chat","phx_join",{"last_seen_id":10}]"#)

    stats.beginStage()
    let sequences = (0..<3).map { _ in stats.issueSend(lagNanos: 0) }
    for sequence in sequences { stats.replied(sequence: sequence, error: nil, latencyNanos: 1_000) }
    func text(_ string: String) -> WebSocketFrame {
        WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: string))
    }
    func push(id: Int, sequence: Int) -> WebSocketFrame {
        text(
            #"["1",null,"room:chat","receive_msg",{"message":{"id":"# + String(id)
                + #","sender_id":1,"content":"lt:0:"# + String(sequence) + #":0:2"}}]"#
        )
    }
    try channel.writeInbound(
        text(#"["1","1","room:chat","phx_reply",{"status":"ok","response":{"recovered":2,"truncated":false}}]"#)
    )
    try channel.writeInbound(text(#"["1",null,"room:chat","presence_state",{}]"#))
    try channel.writeInbound(push(id: 11, sequence: 0))
    try channel.writeInbound(push(id: 12, sequence: 1))
    try channel.writeInbound(push(id: 13, sequence: 2))
    let report = stats.endStage(index: 0, seconds: 1)
    #expect(report.received == 3 && report.replayed == 2 && report.reconnects == 1 && report.recoveredAnnounced == 2)
    #expect(report.latency.summary.count == 1 && report.replayLatency.summary.count == 2)
    #expect(session.highestSeen.load(ordering: .relaxed) == 13)
    _ = try? channel.finish()
}

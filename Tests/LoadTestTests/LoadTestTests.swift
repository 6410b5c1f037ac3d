import Histogram
import NIOCore
import Testing

@testable import LoadTest

/// Frames like the server's, and some it does not send, that both decoders must read alike.
let sampleFrames: [String] = [
    #"["1","1","room:chat","phx_reply",{"status":"ok","response":{}}]"#,
    #"[null,"h5","phoenix","phx_reply",{"status":"ok","response":{}}]"#,
    #"["1","m7","room:chat","phx_reply",{"status":"ok","response":{"message":{"id":12,"conversation_id":3,"sender_id":4,"content":"lt:0:7:123456789:5","date":"2026-12-01T07:28:58.123Z","client_id":null}}}]"#,
    #"["1","m8","room:chat","phx_reply",{"status":"error","response":{"reason":"rate limited"}}]"#,
    #"["1","m9","room:chat","phx_reply",{"status":"error","response":{"reason":"invalid payload","errors":{"message":["can't be blank"]}}}]"#,
    #"["1",null,"room:chat","receive_msg",{"message":{"id":99,"conversation_id":3,"sender_id":4,"content":"lt:1:70:5:6","date":"x","client_id":"c-1"}}]"#,
    #"["1",null,"room:chat","presence_state",{"4":{"online_at":1796110035},"7":{"online_at":1,"metas":[{"a":[1,2,{"b":null}]},true,false,-1.5e3]}}]"#,
    #" [ "1" , null , "room:chat" , "receive_msg" , { "message" : { "content" : "lt:0:1:2:3" , "id" : 1 , "sender_id" : -2 } } ] "#,
    #"["1",null,"room:chat","receive_msg",{"message":{"id":1,"sender_id":2,"content":"with \"escapes\" \u00e9"}}]"#,
    #"["1",null,"room:chat","receive_msg",{"message":{"id":1.5,"sender_id":2,"content":"x"}}]"#,
    #"["1",null,"room:chat","receive_msg",{"message":null}]"#,
    #"["1","2","room:chat","phx_close",{}]"#,
    #"["1","2","room:chat"]"#,
    #"{"not":"a frame"}"#,
    #"["1","2","room:chat","phx_reply",{"status":"ok"}] trailing"#,
    #"["1","2","room:chat","phx_reply",{"status":"ok","response":{"message":{"content":"x","id":1}}},"extra"]"#,
    #"[1,"2","room:chat","phx_reply",{}]"#,
    "",
]

/// A comparable rendering of a decoded frame.
func render(_ frame: InboundFrame?) -> String {
    guard let frame else { return "nil" }
    func message(_ message: InboundMessage?) -> String {
        guard let message else { return "-" }
        return
            "\(message.id.map(String.init) ?? "-")/\(message.senderID.map(String.init) ?? "-")/\(message.content ?? "-")"
    }
    return [
        frame.joinRef ?? "null", frame.ref ?? "null", frame.topic, frame.event, frame.payload.status ?? "-",
        frame.payload.response?.reason ?? "-", message(frame.payload.response?.message), message(frame.payload.message),
    ].joined(separator: "|")
}

@Test(arguments: sampleFrames)
func scannerAgreesWithJSONDecoder(_ text: String) {
    let buffer = ByteBuffer(string: text)
    let expected = render(InboundFrame.decodeWithFoundation(buffer))
    #expect(render(InboundFrame.decode(buffer)) == expected)
    if let scanned = FrameScanner.scan(buffer) {
        #expect(render(scanned) == expected, "scanner misread \(text)")
    }
}

@Test func scannerTakesTheServersFramesItself() {
    for text in sampleFrames.prefix(8) {
        #expect(FrameScanner.scan(ByteBuffer(string: text)) != nil, "\(text)")
    }
}

@Test func stampsRoundTrip() {
    let stamp = MessageStamp(worker: 3, sequence: 123_456_789, scheduled: 98_765_432_101, recipient: 42)
    #expect(MessageStamp(content: stamp.content) == stamp)
    #expect(MessageStamp(content: "hello") == nil)
    #expect(MessageStamp(content: "lt:1:2:3") == nil)
    #expect(MessageStamp(content: "lt:1:2:3:4:5") == nil)
    #expect(MessageStamp(content: "lt:a:2:3:4") == nil)
}

@Test func sendFramesAreValidJSON() {
    let frame = FrameBuilder.send(
        sequence: 7,
        recipient: 2,
        conversation: 9,
        content: "lt:0:7:1:2",
        allocator: ByteBufferAllocator()
    )
    #expect(String(buffer: frame) == #"["1","m7","room:chat","send_msg",{"user":2,"conv":9,"message":"lt:0:7:1:2"}]"#)
    #expect(
        String(buffer: FrameBuilder.heartbeat(ref: 5, allocator: ByteBufferAllocator()))
            == #"[null,"h5","phoenix","heartbeat",{}]"#
    )
}

@Test func onlyLoopbackTargetsAndSources() throws {
    #expect(throws: LoadError.self) { try TargetEndpoint(url: "http://10.0.0.1:4000") }
    #expect(throws: LoadError.self) { try TargetEndpoint(url: "http://example.com:4000") }
    #expect(throws: LoadError.self) { try TargetEndpoint(url: "http://127.0.0.1.example.com:4000") }
    #expect(throws: LoadError.self) { try TargetEndpoint(url: "https://127.0.0.1:4000") }
    #expect(try TargetEndpoint(url: "http://127.0.0.1:4000").hostHeader == "127.0.0.1:4000")
    #expect(try TargetEndpoint(url: "http://localhost:4000").hostHeader == "localhost:4000")
    #expect(try TargetEndpoint(url: "http://[::1]:4000").isIPv6)
    #expect(try TargetEndpoint(url: "ws://127.9.8.7:81").hostHeader == "127.9.8.7:81")
    #expect(throws: LoadError.self) { try LoopbackPolicy.sourceAddresses("127.0.0.2,128.0.0.1") }
    #expect(throws: LoadError.self) { try LoopbackPolicy.sourceAddresses("127.0.0.256") }
    #expect(throws: LoadError.self) { try LoopbackPolicy.sourceAddresses("::1") }
    #expect(try LoopbackPolicy.sourceAddresses("127.0.0.2, 127.0.0.3,127.0.0.2").count == 2)
}

@Test func slicesCoverTheSeedOnce() {
    let users = (1...10).map { SeedUser(id: Int64($0), token: "t\($0)") }
    let conversations = (0..<5).map { (index: Int) -> SeedConversation in
        let a = Int64(2 * index + 1)
        return SeedConversation(id: Int64(100 + index), a: a, b: a + 1)
    }
    let seed = SeedFile(users: users, conversations: conversations)
    let slices = (0..<3).map { WorkloadSlice.make(seed: seed, mode: .pairs, socketCount: nil, workers: 3, index: $0) }
    #expect(slices.map(\.pairs.count).reduce(0, +) == 10)
    #expect(Set(slices.flatMap { $0.sockets.map(\.id) }).count == 10)
    for slice in slices {
        for pair in slice.pairs {
            #expect(slice.sockets.contains { $0.id == pair.recipient }, "recipient in the same slice")
        }
    }
    let idle = (0..<2).map { WorkloadSlice.make(seed: seed, mode: .idle, socketCount: 25, workers: 2, index: $0) }
    #expect(idle.map(\.sockets.count) == [12, 13])
    #expect(idle[1].globalSocketOffset == 12)
}

@Test func bitSetsCountLoss() {
    var acked = SequenceBitSet()
    var received = SequenceBitSet()
    for sequence in UInt64(0)..<200 { acked.insert(sequence) }
    for sequence in UInt64(0)..<200 where sequence % 50 != 0 { received.insert(sequence) }
    #expect(acked.count(notIn: received, in: 0..<200) == 4)
    #expect(acked.count(notIn: received, in: 1..<50) == 0)
    let insertedAgain = received.insert(1)
    #expect(!insertedAgain)
}

@Test func bucketsMergeIntoPercentiles() {
    var first = LatencyBuckets.makeHistogram()
    var second = LatencyBuckets.makeHistogram()
    for value in UInt64(1)...1_000 { first.record(value) }
    for value in UInt64(1_001)...2_000 { second.record(value) }
    var merged = LatencyBuckets(first, max: 1_000)
    merged.merge(LatencyBuckets(second, max: 2_000))
    let summary = merged.summary
    #expect(summary.count == 2_000)
    #expect((995...1_005).contains(summary.p50))
    #expect((1_975...1_985).contains(summary.p99))
    #expect(summary.max == 2_000)
}

@Test func statsCountLossDuplicatesAndLateness() {
    let stats = WorkerStats()
    stats.beginStage()
    let sequences = (0..<4).map { _ in stats.issueSend(lagNanos: 0) }
    for sequence in sequences { stats.replied(sequence: sequence, error: nil, latencyNanos: 1_000) }
    let stamp = { (sequence: UInt64) in MessageStamp(worker: 0, sequence: sequence, scheduled: 0, recipient: 2) }
    stats.pushed(stamp(0), socketUser: 2, sender: 1, latencyNanos: 2_000)
    stats.pushed(stamp(1), socketUser: 2, sender: 1, latencyNanos: 2_000)
    stats.pushed(stamp(1), socketUser: 2, sender: 1, latencyNanos: 2_000)
    stats.pushed(stamp(2), socketUser: 3, sender: 1, latencyNanos: 2_000)
    stats.pushed(stamp(2), socketUser: 1, sender: 1, latencyNanos: 2_000)
    #expect(!stats.stageSettled())
    let report = stats.endStage(index: 0, seconds: 1)
    #expect(report.sent == 4 && report.acked == 4 && report.received == 2)
    #expect(report.duplicates == 1 && report.misdelivered == 1 && report.lost == 2)
    stats.pushed(stamp(3), socketUser: 2, sender: 1, latencyNanos: 2_000)
    stats.pushed(stamp(77), socketUser: 2, sender: 1, latencyNanos: 2_000)
    stats.beginStage()
    #expect(stats.endStage(index: 1, seconds: 1).late == 0)
    #expect(stats.finishReport().senderCopies == 1)
    #expect(stats.finishReport().unknownSequences == 1)
    #expect(stats.finishReport().lateArrivals == 1)
}

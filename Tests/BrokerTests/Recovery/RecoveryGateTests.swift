import NIOCore
import Testing

@testable import Broker
@testable import Store

/// The no-gap, no-duplicate rule of a join with `last_seen_id`, step by step.
struct RecoveryGateTests {
    let me = UserID(1)
    let peer = UserID(2)

    func push(_ id: Int64, from sender: UserID) -> EncodedPush {
        EncodedPush(event: "receive_msg", payload: ByteBuffer(string: "\(id)"), messageID: MessageID(id), senderID: sender)
    }

    func ids(_ pushes: [EncodedPush]) -> [Int64] { pushes.compactMap { $0.messageID?.rawValue } }

    @Test func bufferedPushesGoOutAfterTheReplayMinusWhatItCarried() {
        var gate = RecoveryGate(user: me, buffering: true, bufferLimit: 10)
        #expect(gate.admit(push(11, from: peer)) == .hold)
        #expect(gate.admit(push(12, from: peer)) == .hold)
        #expect(gate.admit(push(13, from: me)) == .hold)
        // The replay (last_seen_id 10) carried 11.
        #expect(ids(gate.goLive(skipping: [MessageID(11)], lastSeen: MessageID(10))) == [12, 13])
        #expect(gate.admit(push(14, from: peer)) == .forward)
    }

    @Test func lateFeedPushesOfReplayedMessagesAreDroppedButOwnMessagesPass() {
        var gate = RecoveryGate(user: me, buffering: true, bufferLimit: 10)
        #expect(gate.goLive(skipping: [MessageID(20), MessageID(25)], lastSeen: MessageID(10)).isEmpty)
        #expect(gate.admit(push(9, from: me)) == .hold, "at or below last_seen_id: the client has it")
        #expect(gate.admit(push(22, from: peer)) == .hold, "others' messages up to the replay's top were replayed")
        #expect(gate.admit(push(23, from: me)) == .forward, "recovery never replays one's own messages")
        #expect(gate.admit(push(26, from: peer)) == .forward)
    }

    @Test func aPlainJoinHoldsEverythingUntilItsReplyIsOutThenPassesAll() {
        var gate = RecoveryGate(user: me, buffering: true, bufferLimit: 10)
        let diff = EncodedPush(event: "presence_diff", payload: ByteBuffer(string: "{}"), messageID: nil, senderID: nil)
        #expect(gate.admit(push(5, from: peer)) == .hold)
        #expect(gate.admit(diff) == .hold)
        #expect(gate.admit(push(6, from: me)) == .hold)
        let released = gate.goLive()
        #expect(released.map(\.event) == ["receive_msg", "presence_diff", "receive_msg"])
        #expect(ids(released) == [5, 6])
        #expect(gate.admit(push(1, from: peer)) == .forward, "no last_seen_id: nothing is filtered")
        #expect(gate.goLive().isEmpty)
    }

    @Test func aFullBufferOverflowsAndALeftJoinTakesNothing() {
        var gate = RecoveryGate(user: me, buffering: true, bufferLimit: 2)
        #expect(gate.admit(push(1, from: peer)) == .hold)
        #expect(gate.admit(push(2, from: peer)) == .hold)
        #expect(gate.admit(push(3, from: peer)) == .overflow)
        gate.leave()
        #expect(gate.admit(push(4, from: peer)) == .hold)
        #expect(gate.goLive(skipping: [], lastSeen: MessageID(0)).isEmpty)

        var live = RecoveryGate(user: me, buffering: false, bufferLimit: 2)
        #expect(live.admit(push(1, from: peer)) == .forward)
        live.leave()
        #expect(live.admit(push(2, from: peer)) == .hold, "nothing after leaving")
    }
}

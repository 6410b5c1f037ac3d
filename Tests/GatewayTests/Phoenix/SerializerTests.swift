import NIOCore
import Testing

@testable import Gateway
@testable import Store

/// Golden frames for both Phoenix serializers, written by hand from the protocol.
struct SerializerTests {
    @Test func v2DecodesArraysWithStringOrNumberOrNullRefs() throws {
        let frame = try PhoenixSerializer.v2.decode(ByteBuffer(string: #"["1",2,"room:chat","phx_join",{"last_seen_id":5}]"#))
        #expect(frame == PhoenixMessage(joinRef: "1", ref: "2", topic: "room:chat", event: "phx_join", payload: .object(["last_seen_id": .integer(5)])))
        let heartbeat = try PhoenixSerializer.v2.decode(ByteBuffer(string: #"[null,"9","phoenix","heartbeat",{}]"#))
        #expect(heartbeat.joinRef == nil && heartbeat.ref == "9")
    }

    @Test func v1DecodesObjects() throws {
        let frame = try PhoenixSerializer.v1.decode(
            ByteBuffer(string: #"{"topic":"room:chat","event":"phx_join","payload":{},"ref":"3","join_ref":"3"}"#)
        )
        #expect(frame == PhoenixMessage(joinRef: "3", ref: "3", topic: "room:chat", event: "phx_join", payload: .object([:])))
    }

    @Test(arguments: [
        "", "[]", "{}", "[1,2,3,4]", #"["1","2",3,"e",{}]"#, #"[{},"2","t","e",{}]"#, "nope", #"{"topic":"t"}"#,
    ])
    func malformedFramesAreRejected(text: String) {
        #expect(throws: PhoenixSerializer.DecodeError.malformed) { try PhoenixSerializer.v2.decode(ByteBuffer(string: text)) }
    }

    @Test func v1RejectsArraysAndV2RejectsObjects() {
        #expect(throws: PhoenixSerializer.DecodeError.malformed) {
            try PhoenixSerializer.v1.decode(ByteBuffer(string: #"["1","2","t","e",{}]"#))
        }
        #expect(throws: PhoenixSerializer.DecodeError.malformed) {
            try PhoenixSerializer.v2.decode(ByteBuffer(string: #"{"topic":"t","event":"e","payload":{},"ref":null,"join_ref":null}"#))
        }
    }

    @Test func repliesAndPushesEncodeToTheGoldenFrames() throws {
        let heartbeat = try PhoenixSerializer.v2.decode(ByteBuffer(string: #"[null,"5","phoenix","heartbeat",{}]"#))
        let reply = PhoenixSerializer.v2.reply(to: heartbeat, status: "ok", response: ByteBuffer(string: "{}"))
        #expect(String(buffer: reply) == #"[null,"5","phoenix","phx_reply",{"status":"ok","response":{}}]"#)
        let v1 = PhoenixSerializer.v1.reply(to: heartbeat, status: "ok", response: ByteBuffer(string: "{}"))
        #expect(
            String(buffer: v1) == #"{"join_ref":null,"ref":"5","topic":"phoenix","event":"phx_reply","payload":{"status":"ok","response":{}}}"#
        )
        let message = Message(
            id: MessageID(9), conversationID: ConversationID(3), senderID: UserID(1), content: "say \"hi\"\n\u{1}",
            insertedAt: Timestamp(microseconds: 1_795_000_000_123_456), clientID: nil
        )
        let push = PhoenixSerializer.v2.encode(
            joinRef: "7", ref: nil, topic: "room:chat", event: "receive_msg", payload: FrameEncoder.messagePayload(message)
        )
        #expect(
            String(buffer: push)
                == #"["7",null,"room:chat","receive_msg",{"message":{"id":9,"conversation_id":3,"sender_id":1,"content":"say \"hi\"\n\u0001","date":"2026-11-18T11:06:40.123456Z","client_id":null}}]"#
        )
    }

    @Test func errorRepliesCarryReasonAndFieldErrors() throws {
        let send = try PhoenixSerializer.v2.decode(ByteBuffer(string: #"["1","8","room:chat","send_msg",{}]"#))
        let reply = PhoenixSerializer.v2.reply(
            to: send, status: "error",
            response: .object(["reason": .string("invalid payload"), "errors": .object(["message": .array([.string("can't be blank")])])])
        )
        #expect(
            String(buffer: reply)
                == #"["1","8","room:chat","phx_reply",{"status":"error","response":{"errors":{"message":["can't be blank"]},"reason":"invalid payload"}}]"#
        )
    }
}

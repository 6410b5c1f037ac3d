/// One decoded Phoenix Channels frame: `[join_ref, ref, topic, event, payload]` (V2) or the object form (V1).
package struct PhoenixMessage: Sendable, Hashable {
    /// The join this frame belongs to.
    package var joinRef: String?
    /// The client's reference, echoed in the reply.
    package var ref: String?
    /// The topic, e.g. `room:chat` or `phoenix`.
    package var topic: String
    /// The event, e.g. `phx_join`.
    package var event: String
    /// The payload.
    package var payload: JSONValue

    /// Creates a message.
    package init(joinRef: String?, ref: String?, topic: String, event: String, payload: JSONValue) {
        self.joinRef = joinRef
        self.ref = ref
        self.topic = topic
        self.event = event
        self.payload = payload
    }
}

/// The wire words of the Phoenix protocol and of this broker's channels, in one place.
package enum PhoenixEvent {
    static let join = "phx_join"
    static let leave = "phx_leave"
    static let reply = "phx_reply"
    static let close = "phx_close"
    static let error = "phx_error"
    static let heartbeat = "heartbeat"
    static let sendMessage = "send_msg"
    static let receiveMessage = "receive_msg"
    static let presenceState = "presence_state"
    static let presenceDiff = "presence_diff"
    static let typing = "typing"
    static let read = "read"
    static let conversationTopicPrefix = "conversation:"
    static let phoenixTopic = "phoenix"
    static let roomTopic = "room:chat"
}

/// The reasons of error replies (contract §3).
package enum ReplyReason {
    static let unmatchedTopic = "unmatched topic"
    static let unmatchedEvent = "unmatched event"
    static let invalidPayload = "invalid payload"
    static let notParticipant = "not a participant"
    static let rateLimited = "rate limited"
    static let unavailable = "unavailable"
}

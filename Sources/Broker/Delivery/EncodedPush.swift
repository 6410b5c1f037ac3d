import NIOCore
import Store

/// A push's payload bytes, encoded once per message and shared by every recipient socket, which only adds
/// its own short envelope (its `join_ref`, the topic and the event).
package struct EncodedPush: Sendable {
    /// The event name, e.g. `receive_msg`.
    package var event: String
    /// The encoded payload.
    package var payload: ByteBuffer
    /// The stored message this push carries, if any: recovery on join drops live pushes it already replayed.
    package var messageID: MessageID?
    /// Who sent that message.
    package var senderID: UserID?

    /// Wraps encoded bytes.
    package init(event: String, payload: ByteBuffer, messageID: MessageID? = nil, senderID: UserID? = nil) {
        self.event = event
        self.payload = payload
        self.messageID = messageID
        self.senderID = senderID
    }
}

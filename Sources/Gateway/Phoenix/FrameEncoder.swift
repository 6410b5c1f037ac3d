import Broker
import NIOCore
import Store

/// The broker's ``PushEncoder``: payloads encoded once and shared by every recipient socket (both serializers
/// carry the same payload bytes; only the envelope differs).
package struct FrameEncoder: PushEncoder {
    /// Creates the encoder.
    package init() {}

    package func encodeReceive(_ message: Message) -> EncodedPush {
        EncodedPush(event: PhoenixEvent.receiveMessage, payload: Self.messagePayload(message), messageID: message.id, senderID: message.senderID)
    }

    package func encodePresenceDiff(joins: [(UserID, Timestamp)], leaves: [(UserID, Timestamp)]) -> EncodedPush {
        var buffer = ByteBuffer()
        buffer.writeStaticString("{\"joins\":")
        Self.writePresences(joins, into: &buffer)
        buffer.writeStaticString(",\"leaves\":")
        Self.writePresences(leaves, into: &buffer)
        buffer.writeInteger(UInt8(ascii: "}"))
        return EncodedPush(event: PhoenixEvent.presenceDiff, payload: buffer)
    }

    /// `presence_state`: the partners online now.
    static func presenceState(_ presences: [(UserID, Timestamp)]) -> ByteBuffer {
        var buffer = ByteBuffer()
        writePresences(presences, into: &buffer)
        return buffer
    }

    /// `{"<user_id>": {"online_at": "...", "metas": [{"online_at": "...", "phx_ref": "<user_id>"}]}}`: the
    /// contract's `online_at`, plus Phoenix's `metas` list so phoenix.js `Presence` can track the state too.
    static func writePresences(_ presences: [(UserID, Timestamp)], into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "{"))
        for (index, (user, since)) in presences.enumerated() {
            if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            let id = String(user.rawValue)
            let time = since.rfc3339
            buffer.writeString("\"\(id)\":{\"online_at\":\"\(time)\",\"metas\":[{\"online_at\":\"\(time)\",\"phx_ref\":\"\(id)\"}]}")
        }
        buffer.writeInteger(UInt8(ascii: "}"))
    }

    /// `{"message": {...}}`.
    package static func messagePayload(_ message: Message) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: message.content.utf8.count + 160)
        buffer.writeStaticString("{\"message\":")
        JSONWriter.writeMessage(message, into: &buffer)
        buffer.writeInteger(UInt8(ascii: "}"))
        return buffer
    }
}

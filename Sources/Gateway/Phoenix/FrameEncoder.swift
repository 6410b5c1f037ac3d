import Broker
import NIOCore
import Store

/// The broker's ``PushEncoder``: a stored message's `receive_msg` payload `{"message": {...}}`, encoded once
/// and shared by every recipient socket (both serializers carry the same payload bytes).
package struct FrameEncoder: PushEncoder {
    /// Creates the encoder.
    package init() {}

    package func encodeReceive(_ message: Message) -> EncodedPush {
        EncodedPush(event: PhoenixEvent.receiveMessage, payload: Self.messagePayload(message))
    }

    /// `{"message": {...}}`.
    static func messagePayload(_ message: Message) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: message.content.utf8.count + 160)
        buffer.writeStaticString("{\"message\":")
        JSONWriter.writeMessage(message, into: &buffer)
        buffer.writeInteger(UInt8(ascii: "}"))
        return buffer
    }
}

import Foundation
import NIOCore

/// The two Phoenix serializers: `vsn=2.0.0` frames are arrays `[join_ref, ref, topic, event, payload]`,
/// `vsn=1.0.0` (and no `vsn`) frames are objects `{"join_ref", "ref", "topic", "event", "payload"}`.
package enum PhoenixSerializer: Sendable, Hashable {
    /// The object form.
    case v1
    /// The array form.
    case v2

    /// The serializer a `vsn` query value selects.
    /// - Returns: `nil` for an unknown version.
    package init?(vsn: String?) {
        switch vsn {
        case nil, "1.0.0": self = .v1
        case "2.0.0": self = .v2
        default: return nil
        }
    }

    /// Why a frame could not be decoded.
    package enum DecodeError: Error, Sendable, Hashable {
        /// Not JSON, or not the serializer's shape.
        case malformed
    }

    /// Decodes a text frame.
    package func decode(_ text: ByteBuffer) throws(DecodeError) -> PhoenixMessage {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(text.readableBytesView)) else {
            throw .malformed
        }
        switch (self, value) {
        case (.v2, .array(let items)) where items.count == 5:
            guard let joinRef = Self.reference(items[0]), let ref = Self.reference(items[1]),
                case .string(let topic) = items[2], case .string(let event) = items[3]
            else { throw .malformed }
            return PhoenixMessage(joinRef: joinRef.value, ref: ref.value, topic: topic, event: event, payload: items[4])
        case (.v1, .object(let members)):
            guard let joinRef = Self.reference(members["join_ref"] ?? .null),
                let ref = Self.reference(members["ref"] ?? .null),
                case .string(let topic) = members["topic"], case .string(let event) = members["event"]
            else { throw .malformed }
            return PhoenixMessage(
                joinRef: joinRef.value, ref: ref.value, topic: topic, event: event, payload: members["payload"] ?? .object([:])
            )
        default:
            throw .malformed
        }
    }

    /// A ref is a string, a number (some clients send integers) or null; anything else is malformed.
    private static func reference(_ value: JSONValue) -> (value: String?, Void)? {
        switch value {
        case .null: return (nil, ())
        case .string(let string): return (string, ())
        case .integer(let number): return (String(number), ())
        default: return nil
        }
    }

    /// Encodes a frame whose payload is already JSON bytes.
    package func encode(joinRef: String?, ref: String?, topic: String, event: String, payload: ByteBuffer) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: payload.readableBytes + topic.utf8.count + event.utf8.count + 64)
        switch self {
        case .v2:
            buffer.writeInteger(UInt8(ascii: "["))
            JSONWriter.writeOptionalString(joinRef, into: &buffer)
            buffer.writeInteger(UInt8(ascii: ","))
            JSONWriter.writeOptionalString(ref, into: &buffer)
            buffer.writeInteger(UInt8(ascii: ","))
            JSONWriter.writeString(topic, into: &buffer)
            buffer.writeInteger(UInt8(ascii: ","))
            JSONWriter.writeString(event, into: &buffer)
            buffer.writeInteger(UInt8(ascii: ","))
            buffer.writeImmutableBuffer(payload)
            buffer.writeInteger(UInt8(ascii: "]"))
        case .v1:
            buffer.writeStaticString("{\"join_ref\":")
            JSONWriter.writeOptionalString(joinRef, into: &buffer)
            buffer.writeStaticString(",\"ref\":")
            JSONWriter.writeOptionalString(ref, into: &buffer)
            buffer.writeStaticString(",\"topic\":")
            JSONWriter.writeString(topic, into: &buffer)
            buffer.writeStaticString(",\"event\":")
            JSONWriter.writeString(event, into: &buffer)
            buffer.writeStaticString(",\"payload\":")
            buffer.writeImmutableBuffer(payload)
            buffer.writeInteger(UInt8(ascii: "}"))
        }
        return buffer
    }

    /// Encodes a `phx_reply` to `message` with `{"status": status, "response": response}`.
    package func reply(to message: PhoenixMessage, status: String, response: ByteBuffer) -> ByteBuffer {
        var payload = ByteBufferAllocator().buffer(capacity: response.readableBytes + 32)
        payload.writeStaticString("{\"status\":")
        JSONWriter.writeString(status, into: &payload)
        payload.writeStaticString(",\"response\":")
        payload.writeImmutableBuffer(response)
        payload.writeInteger(UInt8(ascii: "}"))
        return encode(joinRef: message.joinRef, ref: message.ref, topic: message.topic, event: PhoenixEvent.reply, payload: payload)
    }

    /// Encodes a `phx_reply` with a JSON value as its response.
    package func reply(to message: PhoenixMessage, status: String, response: JSONValue) -> ByteBuffer {
        var buffer = ByteBuffer()
        JSONWriter.write(response, into: &buffer)
        return reply(to: message, status: status, response: buffer)
    }
}

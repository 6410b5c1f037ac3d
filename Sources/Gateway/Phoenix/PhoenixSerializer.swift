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

    /// Decodes a text frame with ``JSONScanner``: the envelope's fields are read in place and only the payload
    /// becomes a ``JSONValue``.
    /// - Throws: ``DecodeError/malformed`` for text that is not strict JSON or not this serializer's shape.
    package func decode(_ text: ByteBuffer) throws(DecodeError) -> PhoenixMessage {
        do {
            return try JSONScanner.withScanner(over: text) { scanner throws(JSONScanner.Failure) in
                switch self {
                case .v2: return try Self.readArrayFrame(&scanner)
                case .v1: return try Self.readObjectFrame(&scanner)
                }
            }
        } catch {
            throw .malformed
        }
    }

    /// Reads `[join_ref, ref, topic, event, payload]` and nothing after it.
    private static func readArrayFrame(_ scanner: inout JSONScanner) throws(JSONScanner.Failure) -> PhoenixMessage {
        try scanner.openContainer(UInt8(ascii: "["))
        let joinRef = try scanner.readReference()
        try scanner.read(UInt8(ascii: ","))
        let ref = try scanner.readReference()
        try scanner.read(UInt8(ascii: ","))
        let topic = try scanner.readString()
        try scanner.read(UInt8(ascii: ","))
        let event = try scanner.readString()
        try scanner.read(UInt8(ascii: ","))
        let payload = try scanner.readValue()
        try scanner.read(UInt8(ascii: "]"))
        try scanner.readEnd()
        return PhoenixMessage(joinRef: joinRef, ref: ref, topic: topic, event: event, payload: payload)
    }

    /// Reads `{"join_ref", "ref", "topic", "event", "payload"}` in any order and nothing after it. Other members
    /// are read and ignored; of a repeated member the first counts (as with `JSONDecoder`, whose dictionary this
    /// replaces), and later ones need only be valid JSON. A missing ref is `null` and a missing payload `{}`.
    private static func readObjectFrame(_ scanner: inout JSONScanner) throws(JSONScanner.Failure) -> PhoenixMessage {
        try scanner.openContainer(UInt8(ascii: "{"))
        var joinRef: String?? = nil
        var ref: String?? = nil
        var topic: String?
        var event: String?
        var payload: JSONValue?
        if !scanner.readIfPresent(UInt8(ascii: "}")) {
            repeat {
                let key = try scanner.readString()
                try scanner.read(UInt8(ascii: ":"))
                switch key {
                case "join_ref" where joinRef == nil: joinRef = .some(try scanner.readReference())
                case "ref" where ref == nil: ref = .some(try scanner.readReference())
                case "topic" where topic == nil: topic = try scanner.readString()
                case "event" where event == nil: event = try scanner.readString()
                case "payload" where payload == nil: payload = try scanner.readValue()
                default: _ = try scanner.readValue()
                }
            } while scanner.readIfPresent(UInt8(ascii: ","))
            try scanner.read(UInt8(ascii: "}"))
        }
        try scanner.readEnd()
        guard let topic, let event else { throw .malformed }
        return PhoenixMessage(
            joinRef: joinRef ?? nil,
            ref: ref ?? nil,
            topic: topic,
            event: event,
            payload: payload ?? .object([:])
        )
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

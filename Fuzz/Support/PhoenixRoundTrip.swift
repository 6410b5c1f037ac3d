import Gateway
import NIOCore

/// Decodes `frame` with `serializer`; a frame that decodes must come back equal from `serializer` and from
/// `other` once encoded again (the payload written back with `JSONWriter`, compared with ``sameJSON(_:_:)``), and
/// decoding must be repeatable.
package func checkPhoenixRoundTrip(_ frame: ByteBuffer, serializer: PhoenixSerializer, other: PhoenixSerializer) {
    guard let message = try? serializer.decode(frame) else { return }
    fuzzCheck((try? serializer.decode(frame)) == message, "decoding is not repeatable")
    var payload = ByteBuffer()
    JSONWriter.write(message.payload, into: &payload)
    for target in [serializer, other] {
        let encoded = target.encode(
            joinRef: message.joinRef,
            ref: message.ref,
            topic: message.topic,
            event: message.event,
            payload: payload
        )
        let again = try? target.decode(encoded)
        fuzzCheck(
            again.map { again in
                again.joinRef == message.joinRef && again.ref == message.ref && again.topic == message.topic
                    && again.event == message.event && sameJSON(again.payload, message.payload)
            } ?? false,
            "\(target) round trip changed \(message) into \(String(describing: again)) via \(String(buffer: encoded))"
        )
    }
}

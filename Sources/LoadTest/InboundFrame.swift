import Foundation
import NIOCore

/// A Phoenix V2 frame from the server, `[join_ref, ref, topic, event, payload]`, reduced to what this tool reads.
struct InboundFrame: Decodable, Sendable {
    /// The join it belongs to (`null` for heartbeat replies).
    let joinRef: String?
    /// The ref of the request a reply answers (`null` for pushes).
    let ref: String?
    /// `room:chat`, `phoenix`, …
    let topic: String
    /// `phx_reply`, `receive_msg`, …
    let event: String
    /// The payload.
    let payload: InboundPayload

    /// A frame from its parts.
    init(joinRef: String?, ref: String?, topic: String, event: String, payload: InboundPayload) {
        self.joinRef = joinRef
        self.ref = ref
        self.topic = topic
        self.event = event
        self.payload = payload
    }

    /// Decodes the five-element array.
    init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        joinRef = try container.decodeIfPresent(String.self)
        ref = try container.decodeIfPresent(String.self)
        topic = try container.decode(String.self)
        event = try container.decode(String.self)
        payload = try container.decode(InboundPayload.self)
    }

    /// One decoder for every socket (decoding does not mutate it).
    private static let decoder = JSONDecoder()

    /// Decodes a text frame's bytes; `nil` when they are not a Phoenix V2 frame. ``FrameScanner`` reads the
    /// usual frames; what it leaves (escaped strings, unusual numbers) goes to `JSONDecoder`.
    static func decode(_ buffer: ByteBuffer) -> InboundFrame? {
        if let frame = FrameScanner.scan(buffer) { return frame }
        return decodeWithFoundation(buffer)
    }

    /// Decodes a text frame's bytes with `JSONDecoder`.
    static func decodeWithFoundation(_ buffer: ByteBuffer) -> InboundFrame? {
        let data = buffer.withUnsafeReadableBytes { Data($0) }
        return try? decoder.decode(InboundFrame.self, from: data)
    }
}

import NIOCore

/// The Phoenix V2 frames this tool sends, written straight into buffers (`[join_ref, ref, topic, event, payload]`).
///
/// Refs tell replies apart without per-socket tables: the join is ref `"1"`, heartbeats are `"h<n>"` and sends
/// are `"m<sequence>"`.
enum FrameBuilder {
    /// The join_ref of every socket's `room:chat` join.
    static let joinRef = "1"
    /// The ref of the join itself.
    static let joinReplyRef = "1"

    /// `["1","1","room:chat","phx_join",{}]`, or with `{"last_seen_id":N}` to recover what was missed after N.
    static func join(lastSeenID: Int64? = nil, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 72)
        guard let lastSeenID else {
            buffer.writeStaticString(#"["1","1","room:chat","phx_join",{}]"#)
            return buffer
        }
        buffer.writeStaticString(#"["1","1","room:chat","phx_join",{"last_seen_id":"#)
        buffer.writeString(String(lastSeenID))
        buffer.writeStaticString("}]")
        return buffer
    }

    /// `[null,"h<ref>","phoenix","heartbeat",{}]`
    static func heartbeat(ref: UInt64, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 64)
        buffer.writeStaticString(#"[null,"h"#)
        buffer.writeString(String(ref))
        buffer.writeStaticString(#"","phoenix","heartbeat",{}]"#)
        return buffer
    }

    /// `["1","m<sequence>","room:chat","send_msg",{"user":R,"conv":C,"message":"<content>"}]`.
    ///
    /// `content` is a ``MessageStamp`` rendering: digits, letters and colons only, so it needs no JSON escaping.
    static func send(
        sequence: UInt64,
        recipient: Int64,
        conversation: Int64,
        content: String,
        allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 128 + content.utf8.count)
        buffer.writeStaticString(#"["1","m"#)
        buffer.writeString(String(sequence))
        buffer.writeStaticString(#"","room:chat","send_msg",{"user":"#)
        buffer.writeString(String(recipient))
        buffer.writeStaticString(#","conv":"#)
        buffer.writeString(String(conversation))
        buffer.writeStaticString(#","message":""#)
        buffer.writeString(content)
        buffer.writeStaticString(#""}]"#)
        return buffer
    }
}

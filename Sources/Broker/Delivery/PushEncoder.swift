import Store

/// Encodes what the broker pushes; implemented by the Gateway so the broker never sees a wire format.
package protocol PushEncoder: Sendable {
    /// The `receive_msg` push of a stored message.
    func encodeReceive(_ message: Message) -> EncodedPush
    /// A `presence_diff` push: users who came online (with since when) and who went offline.
    func encodePresenceDiff(joins: [(UserID, Timestamp)], leaves: [(UserID, Timestamp)]) -> EncodedPush
}

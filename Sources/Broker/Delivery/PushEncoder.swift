import Store

/// Encodes what the broker pushes; implemented by the Gateway so the broker never sees a wire format.
package protocol PushEncoder: Sendable {
    /// The `receive_msg` push of a stored message.
    func encodeReceive(_ message: Message) -> EncodedPush
}

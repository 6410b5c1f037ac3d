/// The payload of a frame from the server: a reply's status and response, or a push's message.
struct InboundPayload: Decodable, Sendable {
    /// `"ok"` or `"error"`, in replies.
    let status: String?
    /// A reply's response.
    let response: InboundResponse?
    /// A `receive_msg` push's message.
    let message: InboundMessage?
}

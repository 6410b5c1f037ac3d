/// The `response` object of a `phx_reply`.
struct InboundResponse: Decodable, Sendable {
    /// Why an error reply failed (`"rate limited"`, `"invalid payload"`, …).
    let reason: String?
    /// The stored message, in the ok reply of a `send_msg`.
    let message: InboundMessage?
}

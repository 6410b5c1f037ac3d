/// The `response` object of a `phx_reply`.
struct InboundResponse: Decodable, Sendable {
    /// Why an error reply failed (`"rate limited"`, `"invalid payload"`, …).
    let reason: String?
    /// The stored message, in the ok reply of a `send_msg`.
    let message: InboundMessage?
    /// A join with `last_seen_id`: how many missed messages follow the reply (its replay).
    var recovered: Int64? = nil
    /// A join with `last_seen_id`: whether more were missed than the replay carries.
    var truncated: Bool? = nil
}

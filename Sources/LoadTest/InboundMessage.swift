/// The parts of a pushed or acknowledged message object this tool reads (others are skipped).
struct InboundMessage: Decodable, Sendable {
    /// The stored message's id.
    let id: Int64?
    /// Who sent it.
    let senderID: Int64?
    /// Its text (a ``MessageStamp`` for this tool's own messages).
    let content: String?

    /// The wire names.
    enum CodingKeys: String, CodingKey {
        case id
        case senderID = "sender_id"
        case content
    }
}

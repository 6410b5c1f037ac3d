/// A stored chat message.
package struct Message: Hashable, Sendable {
    /// The message's id, assigned in commit order.
    package var id: MessageID
    /// The conversation it belongs to.
    package var conversationID: ConversationID
    /// Who sent it.
    package var senderID: UserID
    /// The text.
    package var content: String
    /// When it was stored.
    package var insertedAt: Timestamp
    /// The sender's idempotency key, if given.
    package var clientID: String?

    /// Creates a stored message value.
    package init(
        id: MessageID,
        conversationID: ConversationID,
        senderID: UserID,
        content: String,
        insertedAt: Timestamp,
        clientID: String?
    ) {
        self.id = id
        self.conversationID = conversationID
        self.senderID = senderID
        self.content = content
        self.insertedAt = insertedAt
        self.clientID = clientID
    }
}

/// A message to store.
package struct NewMessage: Sendable {
    /// The conversation it goes to.
    package var conversationID: ConversationID
    /// Who sends it.
    package var senderID: UserID
    /// The text, already validated.
    package var content: String
    /// The sender's idempotency key, if given.
    package var clientID: String?
    /// The sending socket, opaque to the store: it travels with the message feed (``FeedMessage/originSocket``)
    /// so the sending node can leave that socket out of the fan-out; 0 for none.
    package var origin: UInt64

    /// Creates a draft.
    package init(conversationID: ConversationID, senderID: UserID, content: String, clientID: String?, origin: UInt64 = 0) {
        self.conversationID = conversationID
        self.senderID = senderID
        self.content = content
        self.clientID = clientID
        self.origin = origin
    }
}

/// The outcome of storing a message: new, or the earlier one with the same `client_id`.
package enum StoredMessage: Sendable, Hashable {
    /// Stored now.
    case created(Message)
    /// A resend: the message stored earlier under the same sender and `client_id`.
    case existing(Message)

    /// The stored message either way.
    package var message: Message {
        switch self {
        case .created(let message), .existing(let message): message
        }
    }
}

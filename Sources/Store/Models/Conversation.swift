/// A conversation between two users, unique per unordered pair.
package struct Conversation: Hashable, Sendable {
    /// The conversation's id.
    package var id: ConversationID
    /// The user who created it.
    package var senderID: UserID
    /// The other participant.
    package var recipientID: UserID
    /// Free-form status; `"active"` on creation.
    package var status: String
    /// When it was created.
    package var insertedAt: Timestamp
    /// The newest message's id, if any.
    package var lastMessageID: MessageID?
    /// The sender's read position.
    package var senderLastReadID: MessageID?
    /// The recipient's read position.
    package var recipientLastReadID: MessageID?

    /// Creates a stored conversation value.
    package init(
        id: ConversationID,
        senderID: UserID,
        recipientID: UserID,
        status: String,
        insertedAt: Timestamp,
        lastMessageID: MessageID?,
        senderLastReadID: MessageID?,
        recipientLastReadID: MessageID?
    ) {
        self.id = id
        self.senderID = senderID
        self.recipientID = recipientID
        self.status = status
        self.insertedAt = insertedAt
        self.lastMessageID = lastMessageID
        self.senderLastReadID = senderLastReadID
        self.recipientLastReadID = recipientLastReadID
    }

    /// Whether the user takes part in this conversation.
    package func isParticipant(_ user: UserID) -> Bool { user == senderID || user == recipientID }

    /// The participant that is not `user`.
    package func peer(of user: UserID) -> UserID { user == senderID ? recipientID : senderID }

    /// The read position of `user`.
    package func lastReadID(of user: UserID) -> MessageID? {
        user == senderID ? senderLastReadID : recipientLastReadID
    }
}

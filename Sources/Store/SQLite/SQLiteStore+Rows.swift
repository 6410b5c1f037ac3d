import GRDB

/// Decoding of stored rows into the store's values; column lists kept next to their decoders.
extension SQLiteStore {
    static let userColumns = "id, name, subname, email, job, password_hash, inserted_at"
    static let conversationColumns =
        "id, sender_id, recipient_id, status, inserted_at, last_message_id, sender_last_read_id, recipient_last_read_id"
    static let messageColumns = "id, conversation_id, sender_id, content, inserted_at, client_id"
    static let mailColumns = "id, recipient, sender, subject, text_body, html_body, status, attempts, inserted_at, next_attempt_at"

    static func decodeUser(_ row: Row) -> User {
        User(
            id: UserID(row["id"]),
            name: row["name"],
            subname: row["subname"],
            email: row["email"],
            job: row["job"],
            passwordHash: row["password_hash"],
            insertedAt: Timestamp(microseconds: row["inserted_at"])
        )
    }

    static func decodeConversation(_ row: Row) -> Conversation {
        Conversation(
            id: ConversationID(row["id"]),
            senderID: UserID(row["sender_id"]),
            recipientID: UserID(row["recipient_id"]),
            status: row["status"],
            insertedAt: Timestamp(microseconds: row["inserted_at"]),
            lastMessageID: (row["last_message_id"] as Int64?).map(MessageID.init),
            senderLastReadID: (row["sender_last_read_id"] as Int64?).map(MessageID.init),
            recipientLastReadID: (row["recipient_last_read_id"] as Int64?).map(MessageID.init)
        )
    }

    static func decodeMessage(_ row: Row) -> Message {
        Message(
            id: MessageID(row["id"]),
            conversationID: ConversationID(row["conversation_id"]),
            senderID: UserID(row["sender_id"]),
            content: row["content"],
            insertedAt: Timestamp(microseconds: row["inserted_at"]),
            clientID: row["client_id"]
        )
    }

    static func decodeMail(_ row: Row) -> Mail {
        Mail(
            id: row["id"],
            to: row["recipient"],
            from: row["sender"],
            subject: row["subject"],
            textBody: row["text_body"],
            htmlBody: row["html_body"],
            status: Mail.Status(rawValue: row["status"]) ?? .pending,
            attempts: row["attempts"],
            insertedAt: Timestamp(microseconds: row["inserted_at"]),
            nextAttemptAt: Timestamp(microseconds: row["next_attempt_at"])
        )
    }
}

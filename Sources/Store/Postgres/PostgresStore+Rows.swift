import PostgresNIO

/// Decoding of stored rows into the store's values; column lists kept next to their decoders, and the same
/// as SQLite's so both backends read alike.
extension PostgresStore {
    /// The columns ``decodeUser(_:)`` reads, in order.
    static let userColumns = "id, name, subname, email, job, password_hash, inserted_at"
    /// The columns ``decodeConversation(_:)`` reads, in order.
    static let conversationColumns =
        "id, sender_id, recipient_id, status, inserted_at, last_message_id, sender_last_read_id, recipient_last_read_id"
    /// The columns ``decodeMessage(_:)`` reads, in order.
    static let messageColumns = "id, conversation_id, sender_id, content, inserted_at, client_id"
    /// The columns ``decodeMail(_:)`` reads, in order.
    static let mailColumns = "id, recipient, sender, subject, text_body, html_body, status, attempts, inserted_at, next_attempt_at"

    /// A user row of ``userColumns``.
    static func decodeUser(_ row: PostgresRow) throws -> User {
        let (id, name, subname, email, job, passwordHash, insertedAt) = try row.decode(
            (Int64, String, String, String, String, String, Int64).self
        )
        return User(
            id: UserID(id),
            name: name,
            subname: subname,
            email: email,
            job: job,
            passwordHash: passwordHash,
            insertedAt: Timestamp(microseconds: insertedAt)
        )
    }

    /// A conversation row of ``conversationColumns``.
    static func decodeConversation(_ row: PostgresRow) throws -> Conversation {
        let (id, sender, recipient, status, insertedAt, lastMessage, senderRead, recipientRead) = try row.decode(
            (Int64, Int64, Int64, String, Int64, Int64?, Int64?, Int64?).self
        )
        return Conversation(
            id: ConversationID(id),
            senderID: UserID(sender),
            recipientID: UserID(recipient),
            status: status,
            insertedAt: Timestamp(microseconds: insertedAt),
            lastMessageID: lastMessage.map(MessageID.init),
            senderLastReadID: senderRead.map(MessageID.init),
            recipientLastReadID: recipientRead.map(MessageID.init)
        )
    }

    /// A message row of ``messageColumns``.
    static func decodeMessage(_ row: PostgresRow) throws -> Message {
        let (id, conversation, sender, content, insertedAt, clientID) = try row.decode(
            (Int64, Int64, Int64, String, Int64, String?).self
        )
        return Message(
            id: MessageID(id),
            conversationID: ConversationID(conversation),
            senderID: UserID(sender),
            content: content,
            insertedAt: Timestamp(microseconds: insertedAt),
            clientID: clientID
        )
    }

    /// A mail row of ``mailColumns``.
    static func decodeMail(_ row: PostgresRow) throws -> Mail {
        let (id, to, from, subject, textBody, htmlBody, status, attempts, insertedAt, nextAttemptAt) = try row.decode(
            (Int64, String, String, String, String, String, String, Int, Int64, Int64).self
        )
        return Mail(
            id: id,
            to: to,
            from: from,
            subject: subject,
            textBody: textBody,
            htmlBody: htmlBody,
            status: Mail.Status(rawValue: status) ?? .pending,
            attempts: attempts,
            insertedAt: Timestamp(microseconds: insertedAt),
            nextAttemptAt: Timestamp(microseconds: nextAttemptAt)
        )
    }
}

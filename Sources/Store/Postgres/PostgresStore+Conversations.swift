import PostgresNIO

/// Conversations, read positions and message reads; message writes are in `PostgresStore+Messages.swift`.
extension PostgresStore {
    /// The pair's conversation, created with `sender` as its sender when the pair has none yet.
    ///
    /// `ON CONFLICT DO NOTHING` on the pair key makes two concurrent creations (on any nodes) agree: one
    /// inserts, the other waits for it and then reads its row.
    func conversation(between sender: UserID, and recipient: UserID) async throws -> (Conversation, created: Bool) {
        let low = min(sender, recipient).rawValue
        let high = max(sender, recipient).rawValue
        let now = Timestamp.now()
        let inserted = try await fetch(
            "conversation(between:and:)",
            """
            INSERT INTO conversations (sender_id, recipient_id, user_low, user_high, inserted_at)
            VALUES (\(sender.rawValue), \(recipient.rawValue), \(low), \(high), \(now.microseconds))
            ON CONFLICT (user_low, user_high) DO NOTHING
            RETURNING \(unescaped: Self.conversationColumns)
            """,
            Self.decodeConversation
        )
        if let created = inserted.first { return (created, created: true) }
        let existing = try await fetch(
            "conversation(between:and:)",
            """
            SELECT \(unescaped: Self.conversationColumns) FROM conversations
            WHERE user_low = \(low) AND user_high = \(high)
            """,
            Self.decodeConversation
        )
        guard let found = existing.first else { throw StoreError.unavailable }  // only if deleted meanwhile
        return (found, created: false)
    }

    /// The conversation with this id.
    func conversation(id: ConversationID) async throws -> Conversation? {
        try await fetch(
            "conversation(id:)",
            "SELECT \(unescaped: Self.conversationColumns) FROM conversations WHERE id = \(id.rawValue)",
            Self.decodeConversation
        ).first
    }

    /// The user's conversations by last message id descending, those without messages last by id descending.
    func conversations(of user: UserID) async throws -> [Conversation] {
        try await fetch(
            "conversations(of:)",
            """
            SELECT \(unescaped: Self.conversationColumns) FROM conversations
            WHERE user_low = \(user.rawValue) OR user_high = \(user.rawValue)
            ORDER BY last_message_id DESC NULLS LAST, id DESC
            """,
            Self.decodeConversation
        )
    }

    /// Moves the user's read position forward (never backwards), in one statement that returns the row.
    /// - Throws: ``StoreError/notFound`` when the conversation does not exist or the user is not in it.
    func markRead(_ conversation: ConversationID, by user: UserID, upTo message: MessageID) async throws -> Conversation {
        let rows = try await fetch(
            "markRead",
            """
            UPDATE conversations SET
                sender_last_read_id = CASE WHEN sender_id = \(user.rawValue)
                    THEN GREATEST(COALESCE(sender_last_read_id, 0), \(message.rawValue)) ELSE sender_last_read_id END,
                recipient_last_read_id = CASE WHEN recipient_id = \(user.rawValue)
                    THEN GREATEST(COALESCE(recipient_last_read_id, 0), \(message.rawValue)) ELSE recipient_last_read_id END
            WHERE id = \(conversation.rawValue) AND (sender_id = \(user.rawValue) OR recipient_id = \(user.rawValue))
            RETURNING \(unescaped: Self.conversationColumns)
            """,
            Self.decodeConversation
        )
        guard let updated = rows.first else { throw StoreError.notFound }
        return updated
    }

    /// One page of a conversation's history, ascending, and whether more exist beyond it.
    func messages(in conversation: ConversationID, page: HistoryPage) async throws -> (messages: [Message], hasMore: Bool) {
        let id = conversation.rawValue
        let limit: Int
        let query: PostgresQuery
        switch page {
        case .newest(let pageLimit):
            limit = pageLimit
            query = """
                SELECT \(unescaped: Self.messageColumns) FROM messages WHERE conversation_id = \(id)
                ORDER BY id DESC LIMIT \(Int64(limit + 1))
                """
        case .before(let before, let pageLimit):
            limit = pageLimit
            query = """
                SELECT \(unescaped: Self.messageColumns) FROM messages
                WHERE conversation_id = \(id) AND id < \(before.rawValue)
                ORDER BY id DESC LIMIT \(Int64(limit + 1))
                """
        case .after(let after, let pageLimit):
            limit = pageLimit
            query = """
                SELECT \(unescaped: Self.messageColumns) FROM messages
                WHERE conversation_id = \(id) AND id > \(after.rawValue)
                ORDER BY id LIMIT \(Int64(limit + 1))
                """
        }
        var messages = try await fetch("messages(in:page:)", query, Self.decodeMessage)
        let hasMore = messages.count > limit
        if hasMore { messages.removeLast() }
        if case .after = page {} else { messages.reverse() }
        return (messages, hasMore)
    }

    /// Messages others sent in the user's conversations with ids above `afterID`, ascending, at most `limit`.
    ///
    /// Recovery by `last_seen_id` is complete because message ids follow commit order service-wide (see
    /// ``commitMessages(_:origin:in:)``): no message with a smaller id can commit after one the client has seen.
    func missedMessages(for user: UserID, after afterID: MessageID, limit: Int) async throws -> [Message] {
        try await fetch(
            "missedMessages",
            """
            SELECT m.id, m.conversation_id, m.sender_id, m.content, m.inserted_at, m.client_id
            FROM messages m JOIN conversations c ON c.id = m.conversation_id
            WHERE m.id > \(afterID.rawValue) AND (c.user_low = \(user.rawValue) OR c.user_high = \(user.rawValue))
                AND m.sender_id <> \(user.rawValue)
            ORDER BY m.id LIMIT \(Int64(limit))
            """,
            Self.decodeMessage
        )
    }

    /// The message a sender already stored with this `clientID`.
    func message(from sender: UserID, clientID: String) async throws -> Message? {
        try await fetch(
            "message(from:clientID:)",
            """
            SELECT \(unescaped: Self.messageColumns) FROM messages
            WHERE sender_id = \(sender.rawValue) AND client_id = \(clientID)
            """,
            Self.decodeMessage
        ).first
    }
}

import GRDB
import NIOCore

/// Conversations, read positions and messages.
extension SQLiteStore {
    func conversation(between sender: UserID, and recipient: UserID) async throws -> (Conversation, created: Bool) {
        let low = min(sender, recipient).rawValue
        let high = max(sender, recipient).rawValue
        return try await write { db in
            let existing = try Row.fetchOne(
                db,
                sql: "SELECT \(Self.conversationColumns) FROM conversations WHERE user_low = ? AND user_high = ?",
                arguments: [low, high]
            )
            if let existing { return (Self.decodeConversation(existing), created: false) }
            let now = Timestamp.now()
            try db.cachedStatement(
                sql: """
                    INSERT INTO conversations (sender_id, recipient_id, user_low, user_high, inserted_at)
                    VALUES (?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [sender.rawValue, recipient.rawValue, low, high, now.microseconds])
            let conversation = Conversation(
                id: ConversationID(db.lastInsertedRowID),
                senderID: sender,
                recipientID: recipient,
                status: "active",
                insertedAt: now,
                lastMessageID: nil,
                senderLastReadID: nil,
                recipientLastReadID: nil
            )
            return (conversation, created: true)
        }
    }

    func conversation(id: ConversationID) async throws -> Conversation? {
        try await readOne("conversation(id:)") { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT \(Self.conversationColumns) FROM conversations WHERE id = ?"),
                arguments: [id.rawValue]
            ).map(Self.decodeConversation)
        }
    }

    func conversations(of user: UserID) async throws -> [Conversation] {
        try await readOne("conversations(of:)") { db in
            try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT \(Self.conversationColumns) FROM conversations WHERE user_low = ?1 OR user_high = ?1
                        ORDER BY last_message_id IS NULL, last_message_id DESC, id DESC
                        """
                ),
                arguments: [user.rawValue]
            ).map(Self.decodeConversation)
        }
    }

    func markRead(_ conversation: ConversationID, by user: UserID, upTo message: MessageID) async throws -> Conversation {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE conversations SET
                        sender_last_read_id = CASE WHEN sender_id = ?1
                            THEN max(coalesce(sender_last_read_id, 0), ?2) ELSE sender_last_read_id END,
                        recipient_last_read_id = CASE WHEN recipient_id = ?1
                            THEN max(coalesce(recipient_last_read_id, 0), ?2) ELSE recipient_last_read_id END
                    WHERE id = ?3 AND (sender_id = ?1 OR recipient_id = ?1)
                    """,
                arguments: [user.rawValue, message.rawValue, conversation.rawValue]
            )
            guard db.changesCount == 1,
                let row = try Row.fetchOne(
                    db,
                    sql: "SELECT \(Self.conversationColumns) FROM conversations WHERE id = ?",
                    arguments: [conversation.rawValue]
                )
            else { throw StoreError.notFound }
            return Self.decodeConversation(row)
        }
    }

    func insertMessages(_ drafts: [NewMessage]) async throws -> [Result<StoredMessage, StoreError>] {
        try await write { db in try Self.insert(drafts, in: db) }
    }

    func submitMessages(
        _ drafts: [NewMessage],
        on loop: any EventLoop,
        completion: @escaping @Sendable (Result<[Result<StoredMessage, StoreError>], StoreError>) -> Void
    ) {
        write(on: loop, { db in try Self.insert(drafts, in: db) }, completion: completion)
    }

    /// Inserts the drafts in order inside the writer's transaction; a resend of a stored `client_id` yields
    /// the stored message, a draft naming a missing conversation or sender fails alone.
    private static func insert(_ drafts: [NewMessage], in db: Database) throws -> [Result<StoredMessage, StoreError>] {
        // Each conversation's last_message_id moves once per call, to its highest new id.
        var latest: [(conversation: Int64, id: Int64)] = []
        let results = try drafts.map { draft -> Result<StoredMessage, StoreError> in
            if let clientID = draft.clientID,
                let row = try Row.fetchOne(
                    db.cachedStatement(
                        sql: "SELECT \(Self.messageColumns) FROM messages WHERE sender_id = ? AND client_id = ?"
                    ),
                    arguments: [draft.senderID.rawValue, clientID]
                )
            {
                return .success(.existing(Self.decodeMessage(row)))
            }
            let now = Timestamp.now()
            do {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO messages (conversation_id, sender_id, content, client_id, inserted_at)
                        VALUES (?, ?, ?, ?, ?)
                        """
                ).execute(arguments: [
                    draft.conversationID.rawValue, draft.senderID.rawValue, draft.content, draft.clientID,
                    now.microseconds,
                ])
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_FOREIGNKEY {
                return .failure(.notFound)
            }
            let id = db.lastInsertedRowID
            if let index = latest.firstIndex(where: { $0.conversation == draft.conversationID.rawValue }) {
                latest[index].id = id
            } else {
                latest.append((draft.conversationID.rawValue, id))
            }
            return .success(
                .created(
                    Message(
                        id: MessageID(id),
                        conversationID: draft.conversationID,
                        senderID: draft.senderID,
                        content: draft.content,
                        insertedAt: now,
                        clientID: draft.clientID
                    )
                )
            )
        }
        for (conversation, id) in latest {
            try db.cachedStatement(sql: "UPDATE conversations SET last_message_id = ? WHERE id = ?")
                .execute(arguments: [id, conversation])
        }
        return results
    }

    func messages(in conversation: ConversationID, page: HistoryPage) async throws -> (messages: [Message], hasMore: Bool) {
        try await read("messages(in:page:)") { db in
            let columns = Self.messageColumns
            let id = conversation.rawValue
            var rows: [Row]
            let limit: Int
            switch page {
            case .newest(let pageLimit):
                limit = pageLimit
                rows = try Row.fetchAll(
                    db,
                    sql: "SELECT \(columns) FROM messages WHERE conversation_id = ? ORDER BY id DESC LIMIT ?",
                    arguments: [id, limit + 1]
                )
            case .before(let before, let pageLimit):
                limit = pageLimit
                rows = try Row.fetchAll(
                    db,
                    sql: "SELECT \(columns) FROM messages WHERE conversation_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
                    arguments: [id, before.rawValue, limit + 1]
                )
            case .after(let after, let pageLimit):
                limit = pageLimit
                rows = try Row.fetchAll(
                    db,
                    sql: "SELECT \(columns) FROM messages WHERE conversation_id = ? AND id > ? ORDER BY id LIMIT ?",
                    arguments: [id, after.rawValue, limit + 1]
                )
            }
            let hasMore = rows.count > limit
            if hasMore { rows.removeLast() }
            var messages = rows.map(Self.decodeMessage)
            if case .after = page {} else { messages.reverse() }
            return (messages, hasMore)
        }
    }

    func missedMessages(for user: UserID, after afterID: MessageID, limit: Int) async throws -> [Message] {
        try await readOne("missedMessages") { db in
            try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT m.id, m.conversation_id, m.sender_id, m.content, m.inserted_at, m.client_id
                        FROM messages m JOIN conversations c ON c.id = m.conversation_id
                        WHERE m.id > ?2 AND (c.user_low = ?1 OR c.user_high = ?1) AND m.sender_id <> ?1
                        ORDER BY m.id LIMIT ?3
                        """
                ),
                arguments: [user.rawValue, afterID.rawValue, limit]
            ).map(Self.decodeMessage)
        }
    }

    func messages(ids: [MessageID]) async throws -> [Message] {
        guard !ids.isEmpty else { return [] }
        let list = "[" + ids.map(\.description).joined(separator: ",") + "]"
        return try await read("messages(ids:)") { db in
            try Row.fetchAll(
                db,
                sql: "SELECT \(Self.messageColumns) FROM messages WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
                arguments: [list]
            ).map(Self.decodeMessage)
        }
    }

    func message(from sender: UserID, clientID: String) async throws -> Message? {
        try await readOne("message(from:clientID:)") { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT \(Self.messageColumns) FROM messages WHERE sender_id = ? AND client_id = ?"),
                arguments: [sender.rawValue, clientID]
            ).map(Self.decodeMessage)
        }
    }
}

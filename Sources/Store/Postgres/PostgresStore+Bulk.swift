import PostgresNIO

/// Bulk writes for load-test seeding and id lookups: one statement each, arrays bound as parameters.
extension PostgresStore {
    /// Stores many users in one statement (no mails), in the order given.
    func createUsersInBulk(_ users: [NewUser]) async throws -> [User] {
        guard !users.isEmpty else { return [] }
        let now = Timestamp.now()
        let names = users.map(\.name)
        let subnames = users.map(\.subname)
        let emails = users.map(\.email)
        let keys = users.map(\.emailKey)
        let jobs = users.map(\.job)
        let hashes = users.map(\.passwordHash)
        let ids = try await insertReturningIDs(
            "createUsersInBulk",
            """
            INSERT INTO users (name, subname, email, email_key, job, password_hash, inserted_at)
            SELECT n, s, e, k, j, h, \(now.microseconds)
            FROM unnest(\(names)::text[], \(subnames)::text[], \(emails)::text[], \(keys)::text[], \(jobs)::text[],
                        \(hashes)::text[]) WITH ORDINALITY AS t(n, s, e, k, j, h, o)
            ORDER BY o
            RETURNING id
            """
        )
        guard ids.count == users.count else {
            throw StoreError.failed(operation: "createUsersInBulk", message: "row count mismatch")
        }
        return zip(ids.sorted(), users).map { id, user in
            User(
                id: UserID(id),
                name: user.name,
                subname: user.subname,
                email: user.email,
                job: user.job,
                passwordHash: user.passwordHash,
                insertedAt: now
            )
        }
    }

    /// Creates the conversations of many pairs in one statement, in the order given.
    func createConversationsInBulk(_ pairs: [(sender: UserID, recipient: UserID)]) async throws -> [Conversation] {
        guard !pairs.isEmpty else { return [] }
        let now = Timestamp.now()
        let senders = pairs.map(\.sender.rawValue)
        let recipients = pairs.map(\.recipient.rawValue)
        let ids = try await insertReturningIDs(
            "createConversationsInBulk",
            """
            INSERT INTO conversations (sender_id, recipient_id, user_low, user_high, inserted_at)
            SELECT s, r, least(s, r), greatest(s, r), \(now.microseconds)
            FROM unnest(\(senders)::bigint[], \(recipients)::bigint[]) WITH ORDINALITY AS t(s, r, o)
            ORDER BY o
            RETURNING id
            """
        )
        guard ids.count == pairs.count else {
            throw StoreError.failed(operation: "createConversationsInBulk", message: "row count mismatch")
        }
        return zip(ids.sorted(), pairs).map { id, pair in
            Conversation(
                id: ConversationID(id),
                senderID: pair.sender,
                recipientID: pair.recipient,
                status: "active",
                insertedAt: now,
                lastMessageID: nil,
                senderLastReadID: nil,
                recipientLastReadID: nil
            )
        }
    }

    /// Runs one `INSERT … RETURNING id` in a transaction and returns the ids in the order returned.
    private func insertReturningIDs(_ operation: String, _ query: PostgresQuery) async throws -> [Int64] {
        let logger = pool.logger
        return try await withTransaction(operation) { connection in
            var ids: [Int64] = []
            for try await id in try await connection.query(query, logger: logger).decode(Int64.self) { ids.append(id) }
            return ids
        }
    }

    /// The stored messages with these ids, ascending.
    func messages(ids: [MessageID]) async throws -> [Message] {
        guard !ids.isEmpty else { return [] }
        let raw = ids.map(\.rawValue)
        return try await fetch(
            "messages(ids:)",
            "SELECT \(unescaped: Self.messageColumns) FROM messages WHERE id = ANY(\(raw)::bigint[]) ORDER BY id",
            Self.decodeMessage
        )
    }
}

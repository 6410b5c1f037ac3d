import GRDB

/// Bulk writes for load-test seeding: one transaction, cached statements, no mails.
extension SQLiteStore {
    func createUsersInBulk(_ users: [NewUser]) async throws -> [User] {
        try await write { db in
            let now = Timestamp.now()
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO users (name, subname, email, email_key, job, password_hash, inserted_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """
            )
            return try users.map { user in
                do {
                    try statement.execute(arguments: [
                        user.name, user.subname, user.email, user.emailKey, user.job, user.passwordHash, now.microseconds,
                    ])
                } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
                    throw StoreError.uniqueViolation(.email)
                }
                return User(
                    id: UserID(db.lastInsertedRowID),
                    name: user.name,
                    subname: user.subname,
                    email: user.email,
                    job: user.job,
                    passwordHash: user.passwordHash,
                    insertedAt: now
                )
            }
        }
    }

    func createConversationsInBulk(_ pairs: [(sender: UserID, recipient: UserID)]) async throws -> [Conversation] {
        try await write { db in
            let now = Timestamp.now()
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO conversations (sender_id, recipient_id, user_low, user_high, inserted_at)
                    VALUES (?, ?, ?, ?, ?)
                    """
            )
            return try pairs.map { pair in
                try statement.execute(arguments: [
                    pair.sender.rawValue, pair.recipient.rawValue, min(pair.sender, pair.recipient).rawValue,
                    max(pair.sender, pair.recipient).rawValue, now.microseconds,
                ])
                return Conversation(
                    id: ConversationID(db.lastInsertedRowID),
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
    }
}

import GRDB

/// Users and revoked tokens (the welcome mail is written with its user; the outbox is in `+Mails`).
extension SQLiteStore {
    func createUser(_ user: NewUser, welcomeMail: NewMail) async throws -> User {
        try await write { db in
            let now = Timestamp.now()
            do {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO users (name, subname, email, email_key, job, password_hash, inserted_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """
                ).execute(arguments: [
                    user.name, user.subname, user.email, user.emailKey, user.job, user.passwordHash,
                    now.microseconds,
                ])
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
                throw StoreError.uniqueViolation(.email)
            }
            let id = UserID(db.lastInsertedRowID)
            try db.cachedStatement(
                sql: """
                    INSERT INTO mails (
                        user_id, recipient, sender, subject, text_body, html_body, redacted_text_body,
                        redacted_html_body, inserted_at, next_attempt_at
                    )
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                id.rawValue, welcomeMail.to, welcomeMail.from, welcomeMail.subject, welcomeMail.textBody,
                welcomeMail.htmlBody, welcomeMail.redactedTextBody, welcomeMail.redactedHTMLBody, now.microseconds,
                now.microseconds,
            ])
            return User(
                id: id,
                name: user.name,
                subname: user.subname,
                email: user.email,
                job: user.job,
                passwordHash: user.passwordHash,
                insertedAt: now
            )
        }
    }

    func user(id: UserID) async throws -> User? {
        try await readOne("user(id:)") { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Self.userColumns) FROM users WHERE id = ?"), arguments: [id.rawValue])
                .map(Self.decodeUser)
        }
    }

    func user(email: String) async throws -> User? {
        let key = NewUser.emailKey(email)
        return try await read("user(email:)") { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.userColumns) FROM users WHERE email_key = ?", arguments: [key])
                .map(Self.decodeUser)
        }
    }

    func users(after afterID: UserID?, limit: Int) async throws -> [User] {
        try await read("users(after:limit:)") { db in
            try Row.fetchAll(
                db,
                sql: "SELECT \(Self.userColumns) FROM users WHERE id > ? ORDER BY id LIMIT ?",
                arguments: [afterID?.rawValue ?? 0, limit]
            ).map(Self.decodeUser)
        }
    }

    func usersExist(_ ids: [UserID]) async throws -> Set<UserID> {
        guard !ids.isEmpty else { return [] }
        return try await read("usersExist") { db in
            let found = try Int64.fetchAll(
                db,
                sql: "SELECT id FROM users WHERE id IN (SELECT value FROM json_each(?))",
                arguments: ["[" + ids.map(\.description).joined(separator: ",") + "]"]
            )
            return Set(found.map(UserID.init))
        }
    }

    func revokeToken(id: String, userID: UserID, expiresAt: Timestamp) async throws {
        try await write { db in
            try db.cachedStatement(sql: "DELETE FROM revoked_tokens WHERE expires_at < ?")
                .execute(arguments: [Timestamp.now().microseconds])
            try db.cachedStatement(
                sql: "INSERT OR IGNORE INTO revoked_tokens (jti, user_id, expires_at) VALUES (?, ?, ?)"
            ).execute(arguments: [id, userID.rawValue, expiresAt.microseconds])
        }
    }

    func isTokenRevoked(id: String) async throws -> Bool {
        try await readOne("isTokenRevoked") { db in
            try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ?)"),
                arguments: [id]
            ) ?? false
        }
    }
}

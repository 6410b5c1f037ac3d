import PostgresNIO

/// Users and revoked tokens (the welcome mail is written with its user; the outbox is in `+Mails`): one
/// statement or one short transaction each, through the pool.
extension PostgresStore {
    /// Stores the user and its welcome mail in one transaction.
    func createUser(_ user: NewUser, welcomeMail: NewMail) async throws -> User {
        let logger = pool.logger
        return try await withTransaction("createUser") { connection in
            let now = Timestamp.now()
            let rows = try await connection.query(
                """
                INSERT INTO users (name, subname, email, email_key, job, password_hash, inserted_at)
                VALUES (\(user.name), \(user.subname), \(user.email), \(user.emailKey), \(user.job),
                        \(user.passwordHash), \(now.microseconds))
                RETURNING id
                """,
                logger: logger
            )
            var inserted: Int64?
            for try await id in rows.decode(Int64.self) { inserted = id }
            guard let inserted else { throw StoreError.failed(operation: "createUser", message: "no id returned") }
            try await connection.query(
                """
                INSERT INTO mails (
                    user_id, recipient, sender, subject, text_body, html_body, redacted_text_body, redacted_html_body,
                    inserted_at, next_attempt_at
                )
                VALUES (\(inserted), \(welcomeMail.to), \(welcomeMail.from), \(welcomeMail.subject),
                        \(welcomeMail.textBody), \(welcomeMail.htmlBody), \(welcomeMail.redactedTextBody),
                        \(welcomeMail.redactedHTMLBody), \(now.microseconds), \(now.microseconds))
                """,
                logger: logger
            )
            return User(
                id: UserID(inserted),
                name: user.name,
                subname: user.subname,
                email: user.email,
                job: user.job,
                passwordHash: user.passwordHash,
                insertedAt: now
            )
        }
    }

    /// The user with this id.
    func user(id: UserID) async throws -> User? {
        try await fetch(
            "user(id:)",
            "SELECT \(unescaped: Self.userColumns) FROM users WHERE id = \(id.rawValue)",
            Self.decodeUser
        ).first
    }

    /// The user with this address, compared through its lower-cased key.
    func user(email: String) async throws -> User? {
        try await fetch(
            "user(email:)",
            "SELECT \(unescaped: Self.userColumns) FROM users WHERE email_key = \(NewUser.emailKey(email))",
            Self.decodeUser
        ).first
    }

    /// Users ordered by id, after `afterID`.
    func users(after afterID: UserID?, limit: Int) async throws -> [User] {
        try await fetch(
            "users(after:limit:)",
            """
            SELECT \(unescaped: Self.userColumns) FROM users WHERE id > \(afterID?.rawValue ?? 0)
            ORDER BY id LIMIT \(Int64(limit))
            """,
            Self.decodeUser
        )
    }

    /// Which of these ids are users, in one query.
    func usersExist(_ ids: [UserID]) async throws -> Set<UserID> {
        guard !ids.isEmpty else { return [] }
        let found = try await fetch(
            "usersExist",
            "SELECT id FROM users WHERE id = ANY(\(ids.map(\.rawValue))::bigint[])",
            { try UserID($0.decode(Int64.self)) }
        )
        return Set(found)
    }

    /// Records a revoked token (idempotently) and forgets those that expired, in one statement.
    func revokeToken(id: String, userID: UserID, expiresAt: Timestamp) async throws {
        try await execute(
            "revokeToken",
            """
            WITH expired AS (DELETE FROM revoked_tokens WHERE expires_at < \(Timestamp.now().microseconds))
            INSERT INTO revoked_tokens (jti, user_id, expires_at)
            VALUES (\(id), \(userID.rawValue), \(expiresAt.microseconds))
            ON CONFLICT (jti) DO NOTHING
            """
        )
    }

    /// Whether the token id was revoked.
    func isTokenRevoked(id: String) async throws -> Bool {
        try await fetch(
            "isTokenRevoked",
            "SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = \(id))",
            { try $0.decode(Bool.self) }
        ).first ?? false
    }
}

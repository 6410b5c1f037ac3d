import Logging
import PostgresNIO

/// The PostgreSQL schema as an ordered list of versioned migrations, recorded in `schema_migrations`.
///
/// The schema means the same as ``SQLiteMigrations``: ids from sequences (`BIGSERIAL`), times as `BIGINT`
/// microseconds since 1970 (so ``Timestamp`` and the models are shared), email uniqueness on the lower-cased
/// `email_key`, one conversation per unordered pair through `user_low`/`user_high`, and `(sender_id,
/// client_id)` unique where `client_id` is set.
///
/// All pending migrations run in one transaction that first takes a transaction-scoped advisory lock, so
/// brokers starting together against one database apply each migration exactly once: the second waits for
/// the first to commit, then finds nothing left to do. Never edit a migration that has shipped; add one.
enum PostgresMigrations {
    /// One schema version: its name (recorded in `schema_migrations.version`) and its statements, run in order.
    /// Each statement is a constant: the extended query protocol runs one statement per query, and none of
    /// them takes user data.
    struct Migration: Sendable {
        /// The version recorded once applied.
        var name: String
        /// The DDL statements, each run as one query.
        var statements: [String]
    }

    /// The advisory lock key that serializes migrations across brokers (an arbitrary constant, distinct from
    /// ``PostgresStore/messageOrderLockKey``).
    static let lockKey: Int64 = 0x6272_6F6B_6572_0001  // "broker" + 1

    /// Every migration, oldest first.
    static let all: [Migration] = [
        Migration(
            name: "001_initial_schema",
            statements: [
                """
                CREATE TABLE users (
                    id BIGSERIAL PRIMARY KEY,
                    name TEXT NOT NULL,
                    subname TEXT NOT NULL,
                    email TEXT NOT NULL,
                    email_key TEXT NOT NULL CONSTRAINT users_email_key UNIQUE,
                    job TEXT NOT NULL,
                    password_hash TEXT NOT NULL,
                    inserted_at BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE revoked_tokens (
                    jti TEXT PRIMARY KEY,
                    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    expires_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX revoked_tokens_expires_at ON revoked_tokens(expires_at)",
                """
                CREATE TABLE conversations (
                    id BIGSERIAL PRIMARY KEY,
                    sender_id BIGINT NOT NULL REFERENCES users(id),
                    recipient_id BIGINT NOT NULL REFERENCES users(id),
                    user_low BIGINT NOT NULL,
                    user_high BIGINT NOT NULL,
                    status TEXT NOT NULL DEFAULT 'active',
                    inserted_at BIGINT NOT NULL,
                    last_message_id BIGINT,
                    sender_last_read_id BIGINT,
                    recipient_last_read_id BIGINT,
                    CHECK (user_low < user_high),
                    CONSTRAINT conversations_pair_key UNIQUE (user_low, user_high)
                )
                """,
                "CREATE INDEX conversations_user_high ON conversations(user_high)",
                // The message id sequence keeps the default CACHE 1: with a per-session cache, ids taken by
                // different connections would stop following the order of the message lock.
                """
                CREATE TABLE messages (
                    id BIGSERIAL PRIMARY KEY,
                    conversation_id BIGINT NOT NULL REFERENCES conversations(id),
                    sender_id BIGINT NOT NULL REFERENCES users(id),
                    content TEXT NOT NULL,
                    client_id TEXT,
                    inserted_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX messages_conversation_id ON messages(conversation_id, id)",
                """
                CREATE UNIQUE INDEX messages_sender_client_id ON messages(sender_id, client_id)
                    WHERE client_id IS NOT NULL
                """,
                """
                CREATE TABLE mails (
                    id BIGSERIAL PRIMARY KEY,
                    user_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
                    recipient TEXT NOT NULL,
                    sender TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    text_body TEXT NOT NULL,
                    html_body TEXT NOT NULL,
                    status TEXT NOT NULL DEFAULT 'pending',
                    attempts INTEGER NOT NULL DEFAULT 0,
                    inserted_at BIGINT NOT NULL,
                    sent_at BIGINT
                )
                """,
                "CREATE INDEX mails_status ON mails(status, id)",
            ]
        )
    ]

    /// Applies every migration not yet recorded, all in one transaction under ``lockKey``.
    /// - Returns: the names of the migrations applied now (empty when the schema was up to date).
    /// - Throws: ``StoreError``; ``StoreError/unavailable`` when the server cannot be reached.
    static func apply(in pool: PostgresPool) async throws -> [String] {
        let logger = pool.logger
        let appliedNow = try await pool.withTransaction("migrate") { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version TEXT PRIMARY KEY,
                    applied_at BIGINT NOT NULL
                )
                """,
                logger: logger
            )
            var applied = Set<String>()
            let rows = try await connection.query("SELECT version FROM schema_migrations", logger: logger)
            for try await version in rows.decode(String.self) {
                applied.insert(version)
            }
            var appliedNow: [String] = []
            for migration in all where !applied.contains(migration.name) {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    """
                    INSERT INTO schema_migrations (version, applied_at)
                    VALUES (\(migration.name), \(Timestamp.now().microseconds))
                    """,
                    logger: logger
                )
                appliedNow.append(migration.name)
            }
            return appliedNow
        }
        if !appliedNow.isEmpty {
            logger.debug("applied migrations", metadata: ["migrations": "\(appliedNow.joined(separator: ", "))"])
        }
        return appliedNow
    }
}

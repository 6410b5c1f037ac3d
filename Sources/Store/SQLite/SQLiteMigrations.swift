import GRDB

/// The SQLite schema as an ordered list of versioned migrations, applied by GRDB's `DatabaseMigrator`
/// (which records each applied name in `grdb_migrations` and refuses nothing but runs only what is new).
///
/// Never edit a migration that has shipped; add a new one.
enum SQLiteMigrations {
    /// The migrator with every migration in order.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("001_initial_schema") { db in
            try db.execute(
                sql: """
                    CREATE TABLE users (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        name TEXT NOT NULL,
                        subname TEXT NOT NULL,
                        email TEXT NOT NULL,
                        email_key TEXT NOT NULL UNIQUE,
                        job TEXT NOT NULL,
                        password_hash TEXT NOT NULL,
                        inserted_at INTEGER NOT NULL
                    );
                    CREATE TABLE revoked_tokens (
                        jti TEXT PRIMARY KEY,
                        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                        expires_at INTEGER NOT NULL
                    );
                    CREATE INDEX revoked_tokens_expires_at ON revoked_tokens(expires_at);
                    CREATE TABLE conversations (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        sender_id INTEGER NOT NULL REFERENCES users(id),
                        recipient_id INTEGER NOT NULL REFERENCES users(id),
                        user_low INTEGER NOT NULL,
                        user_high INTEGER NOT NULL,
                        status TEXT NOT NULL DEFAULT 'active',
                        inserted_at INTEGER NOT NULL,
                        last_message_id INTEGER,
                        sender_last_read_id INTEGER,
                        recipient_last_read_id INTEGER,
                        CHECK (user_low < user_high),
                        UNIQUE (user_low, user_high)
                    );
                    CREATE INDEX conversations_user_high ON conversations(user_high);
                    CREATE TABLE messages (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
                        sender_id INTEGER NOT NULL REFERENCES users(id),
                        content TEXT NOT NULL,
                        client_id TEXT,
                        inserted_at INTEGER NOT NULL
                    );
                    CREATE INDEX messages_conversation_id ON messages(conversation_id, id);
                    CREATE UNIQUE INDEX messages_sender_client_id ON messages(sender_id, client_id)
                        WHERE client_id IS NOT NULL;
                    CREATE TABLE mails (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
                        recipient TEXT NOT NULL,
                        sender TEXT NOT NULL,
                        subject TEXT NOT NULL,
                        text_body TEXT NOT NULL,
                        html_body TEXT NOT NULL,
                        status TEXT NOT NULL DEFAULT 'pending',
                        attempts INTEGER NOT NULL DEFAULT 0,
                        inserted_at INTEGER NOT NULL,
                        sent_at INTEGER
                    );
                    CREATE INDEX mails_status ON mails(status, id);
                    """
            )
        }
        // Retries on a schedule that survives restarts (`next_attempt_at`, microseconds; due when not in the
        // future), and the copies of the bodies to keep once a mail left the outbox (NULL: keep the body).
        migrator.registerMigration("002_mail_schedule_and_redaction") { db in
            try db.execute(
                sql: """
                    ALTER TABLE mails ADD COLUMN next_attempt_at INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE mails ADD COLUMN redacted_text_body TEXT;
                    ALTER TABLE mails ADD COLUMN redacted_html_body TEXT;
                    UPDATE mails SET next_attempt_at = inserted_at;
                    CREATE INDEX mails_due ON mails(next_attempt_at) WHERE status = 'pending';
                    """
            )
        }
        return migrator
    }
}

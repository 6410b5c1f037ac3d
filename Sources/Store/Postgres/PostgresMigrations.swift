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
        ),
        // One message batch in one statement, so in one round trip (see PostgresStore.commitMessages): it
        // checks the drafts' rows, takes the id lock, resolves idempotency keys, assigns ids in draft order,
        // inserts, moves last_message_id, sends the feed packed as FeedCodec.encodeFeed packs it, and returns
        // one row per draft in draft order: outcome 'created', 'repeat' (of an earlier draft of the batch,
        // whose id it carries), 'existing' (with the stored row) or 'notfound'. The lock key, channel and
        // payload limit are arguments so that the Swift constants stay their only definition.
        Migration(
            name: "002_insert_messages_function",
            statements: [
                """
                CREATE FUNCTION broker_insert_messages(
                    conversation_ids bigint[], sender_ids bigint[], contents text[], client_ids text[], has_client_ids boolean[],
                    sockets bigint[], origin text, inserted_at_us bigint, lock_key bigint, channel text, max_payload_bytes integer
                ) RETURNS TABLE (
                    outcome text, message_id bigint, message_conversation_id bigint, message_sender_id bigint,
                    message_content text, message_inserted_at bigint, message_client_id text
                )
                LANGUAGE plpgsql VOLATILE AS $function$
                DECLARE
                    draft_count integer := coalesce(cardinality(conversation_ids), 0);
                    recipients bigint[];
                    earlier bigint[];
                    first_of_key integer[];
                    row_of integer[] := array_fill(NULL::integer, ARRAY[coalesce(cardinality(conversation_ids), 0)]);
                    insert_count integer := 0;
                    ids bigint[];
                    head text := 'F{"o":' || to_json(origin)::text || ',"m":[';
                    payload text;
                    payload_bytes integer := 0;
                    payload_items integer := 0;
                    numbers text;
                    rest text;
                    item text;
                    draft integer;
                BEGIN
                    -- Each draft's recipient, NULL when its conversation or sender does not exist. Read before the lock:
                    -- rows are never deleted, so the answer holds until commit.
                    SELECT array_agg(
                               CASE WHEN u.id IS NULL OR c.id IS NULL THEN NULL
                                    WHEN c.sender_id = d.sender_id THEN c.recipient_id
                                    ELSE c.sender_id END
                               ORDER BY d.n)
                    INTO recipients
                    FROM unnest(conversation_ids, sender_ids) WITH ORDINALITY AS d(conversation_id, sender_id, n)
                    LEFT JOIN conversations c ON c.id = d.conversation_id
                    LEFT JOIN users u ON u.id = d.sender_id;

                    -- From here until the commit, no other message batch on this database assigns ids.
                    PERFORM pg_advisory_xact_lock(lock_key);

                    -- A statement of its own after the lock, so with a snapshot that sees every batch that committed while
                    -- this one waited: the message stored earlier under each draft's key, and, for a keyed draft that can
                    -- be stored, the first draft of this batch with the same key.
                    SELECT array_agg(k.earlier_id ORDER BY k.n), array_agg(k.first_n ORDER BY k.n)
                    INTO earlier, first_of_key
                    FROM (
                        SELECT d.n, m.id AS earlier_id,
                               CASE WHEN d.has_key AND recipients[d.n] IS NOT NULL THEN
                                   min(d.n) FILTER (WHERE recipients[d.n] IS NOT NULL)
                                       OVER (PARTITION BY d.sender_id, d.has_key, d.client_id)
                               END::integer AS first_n
                        FROM unnest(sender_ids, client_ids, has_client_ids) WITH ORDINALITY AS d(sender_id, client_id, has_key, n)
                        LEFT JOIN messages m ON d.has_key AND m.sender_id = d.sender_id AND m.client_id = d.client_id
                    ) AS k;

                    -- The drafts stored now: known, not stored before, and the first of the batch with their key.
                    FOR draft IN 1 .. draft_count LOOP
                        IF recipients[draft] IS NOT NULL AND earlier[draft] IS NULL
                            AND (first_of_key[draft] IS NULL OR first_of_key[draft] = draft) THEN
                            insert_count := insert_count + 1;
                            row_of[draft] := insert_count;
                        END IF;
                    END LOOP;

                    IF insert_count > 0 THEN
                        -- The ids, sorted so that the rows get them in draft order.
                        SELECT array_agg(s.id ORDER BY s.id) INTO ids
                        FROM (SELECT nextval('messages_id_seq') FROM generate_series(1, insert_count)) AS s(id);

                        WITH inserted AS (
                            INSERT INTO messages (id, conversation_id, sender_id, content, client_id, inserted_at)
                            SELECT ids[row_of[d.n]], d.conversation_id, d.sender_id, d.content,
                                   CASE WHEN d.has_key THEN d.client_id END, inserted_at_us
                            FROM unnest(conversation_ids, sender_ids, contents, client_ids, has_client_ids)
                                WITH ORDINALITY AS d(conversation_id, sender_id, content, client_id, has_key, n)
                            WHERE row_of[d.n] IS NOT NULL
                            RETURNING messages.id, messages.conversation_id
                        )
                        UPDATE conversations AS c
                        SET last_message_id = GREATEST(COALESCE(c.last_message_id, 0), latest.id)
                        FROM (SELECT i.conversation_id, max(i.id) AS id FROM inserted AS i GROUP BY i.conversation_id) AS latest
                        WHERE c.id = latest.conversation_id;

                        -- The feed, in id order, packed like FeedCodec.encodeFeed (byte for byte); PostgreSQL delivers the
                        -- notifications when, and only if, this transaction commits.
                        FOR numbers, rest IN
                            SELECT '[' || ids[row_of[d.n]] || ',' || d.conversation_id || ',' || d.sender_id || ','
                                       || recipients[d.n] || ','
                                       || CASE WHEN d.socket < 0 THEN (d.socket::numeric + 18446744073709551616)::text
                                               ELSE d.socket::text END,
                                   ',' || inserted_at_us || ',' || to_json(d.content)::text || ','
                                       || CASE WHEN d.has_key THEN to_json(d.client_id)::text ELSE 'null' END || ']'
                            FROM unnest(contents, client_ids, has_client_ids, sockets, conversation_ids, sender_ids)
                                WITH ORDINALITY AS d(content, client_id, has_key, socket, conversation_id, sender_id, n)
                            WHERE row_of[d.n] IS NOT NULL
                            ORDER BY d.n
                        LOOP
                            item := numbers || rest;
                            IF octet_length(head) + octet_length(item) + 2 > max_payload_bytes THEN
                                item := numbers || ']';  -- too large for any notification: it travels as its id
                            END IF;
                            IF payload_items > 0 AND payload_bytes + 1 + octet_length(item) + 2 > max_payload_bytes THEN
                                PERFORM pg_notify(channel, payload || ']}');
                                payload_items := 0;
                            END IF;
                            IF payload_items = 0 THEN
                                payload := head || item;
                            ELSE
                                payload := payload || ',' || item;
                            END IF;
                            payload_bytes := octet_length(payload);
                            payload_items := payload_items + 1;
                        END LOOP;
                        IF payload_items > 0 THEN
                            PERFORM pg_notify(channel, payload || ']}');
                        END IF;
                    END IF;

                    RETURN QUERY
                    SELECT CASE WHEN recipients[d.n] IS NULL THEN 'notfound'
                                WHEN earlier[d.n] IS NOT NULL THEN 'existing'
                                WHEN row_of[d.n] IS NOT NULL THEN 'created'
                                ELSE 'repeat' END,
                           CASE WHEN recipients[d.n] IS NULL THEN NULL
                                WHEN earlier[d.n] IS NOT NULL THEN earlier[d.n]
                                ELSE ids[row_of[coalesce(first_of_key[d.n], d.n::integer)]] END,
                           m.conversation_id, m.sender_id, m.content, m.inserted_at, m.client_id
                    FROM generate_series(1, draft_count) AS d(n)
                    LEFT JOIN messages AS m ON m.id = earlier[d.n] AND recipients[d.n] IS NOT NULL
                    ORDER BY d.n;
                END
                $function$
                """
            ]
        ),
        // Retries on a schedule that survives restarts (`next_attempt_at`, microseconds; due when not in the
        // future), and the copies of the bodies to keep once a mail left the outbox (NULL: keep the body).
        Migration(
            name: "003_mail_schedule_and_redaction",
            statements: [
                "ALTER TABLE mails ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0",
                "ALTER TABLE mails ADD COLUMN redacted_text_body TEXT",
                "ALTER TABLE mails ADD COLUMN redacted_html_body TEXT",
                "UPDATE mails SET next_attempt_at = inserted_at",
                "CREATE INDEX mails_due ON mails(next_attempt_at) WHERE status = 'pending'",
            ]
        ),
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

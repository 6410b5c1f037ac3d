import NIOCore
import PostgresNIO

/// Message writes: every `insertMessages` call goes through the store's ``GroupCommitWriter``, which commits
/// the calls that arrived together as one batch in one transaction.
extension PostgresStore {
    /// Stores the drafts in the writer's next batch; answers after that batch committed.
    func insertMessages(_ drafts: [NewMessage]) async throws -> [Result<StoredMessage, StoreError>] {
        guard !drafts.isEmpty else { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            let call = PostgresCommitter.Call(drafts: drafts, loop: nil) { continuation.resume(with: $0) }
            do {
                try writer.submit(call)
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    /// Stores the drafts in the writer's next batch without suspending; `completion` runs on `loop` after
    /// that batch committed.
    func submitMessages(
        _ drafts: [NewMessage], on loop: any EventLoop,
        completion: @escaping @Sendable (Result<[Result<StoredMessage, StoreError>], StoreError>) -> Void
    ) {
        guard !drafts.isEmpty else { return loop.execute { completion(.success([])) } }
        do {
            try writer.submit(PostgresCommitter.Call(drafts: drafts, loop: loop, answer: completion))
        } catch {
            loop.execute { completion(.failure(error)) }
        }
    }

    /// A sender's idempotency key.
    private struct ClientKey: Hashable {
        /// Who sent the draft.
        var sender: Int64
        /// The sender's `client_id`.
        var clientID: String
    }

    /// What one draft of a batch turns into.
    private enum Plan {
        /// A resend of a message stored before this batch.
        case existing(Message)
        /// Its conversation or sender does not exist.
        case failed(StoreError)
        /// Inserted now, as the n-th row of the insert.
        case insert(Int)
        /// A resend of a draft inserted earlier in this same batch, as the n-th row of the insert.
        case duplicate(ofInsert: Int)
    }

    /// Commits one batch of drafts in one transaction and returns one outcome per draft, in order.
    ///
    /// The transaction runs, after `BEGIN`:
    /// 1. one query for which referenced conversations and senders exist (a draft naming a missing one
    ///    fails alone with ``StoreError/notFound``, as it would in SQLite, instead of failing the whole
    ///    multi-row insert on its foreign key; rows are never deleted, so the answer holds until commit);
    /// 2. `pg_advisory_xact_lock(messageOrderLockKey)`, held until the transaction ends;
    /// 3. the messages already stored under the drafts' `(sender_id, client_id)` keys, read *after* the lock
    ///    in a statement of its own (read committed takes a new snapshot per statement, so it sees every
    ///    batch that committed while this one waited): such a draft yields `.existing(that message)`, and a
    ///    key repeated inside the batch yields `.existing` of its first draft;
    /// 4. the new ids, `nextval` once per row;
    /// 5. one `INSERT … SELECT FROM unnest(…)` for every new row, which in the same statement moves each
    ///    conversation's `last_message_id` and queues the feed's `pg_notify` calls (``FeedCodec``), which
    ///    PostgreSQL delivers to every listening node when, and only if, the transaction commits;
    /// 6. `COMMIT`, after which the writer answers the callers.
    ///
    /// **Why ids follow commit order across every broker on the database.** A batch takes its ids only
    /// while it holds the advisory lock, and keeps the lock until its commit is complete (PostgreSQL
    /// releases transaction-level locks after the commit is recorded and visible). So if batch A got
    /// smaller ids than batch B, A held the lock first, and B could take its ids only after A had committed
    /// (or rolled back, leaving a gap that nothing ever fills). Hence, once any reader sees a message with
    /// id N, every message with a smaller id that will ever exist is already visible: a client that
    /// recovers with `last_seen_id = N` (see ``missedMessages(for:after:limit:)``) can never miss a
    /// message that commits late with a smaller id, because there is none. Without the lock, two
    /// transactions could take ids 10 and 11 and commit 11 first; a client reading 11 in that window would
    /// then skip 10 forever. This needs the sequence's `CACHE 1` (the default) and every message insert to
    /// go through here; the lock serializes only message batches, and group commit keeps those few.
    static func commitMessages(
        _ drafts: [NewMessage], origin: String, in pool: PostgresPool
    ) async throws -> [Result<StoredMessage, StoreError>] {
        let logger = pool.logger
        return try await pool.withTransaction("insertMessages") { connection in
            // 1. Which referenced rows exist.
            let conversationIDs = Array(Set(drafts.map(\.conversationID.rawValue)))
            let senderIDs = Array(Set(drafts.map(\.senderID.rawValue)))
            var knownConversations: [Int64: (Int64, Int64)] = [:]  // id → its two participants
            var knownSenders = Set<Int64>()
            let known = try await connection.query(
                """
                SELECT true, id, sender_id, recipient_id FROM conversations WHERE id = ANY(\(conversationIDs)::bigint[])
                UNION ALL
                SELECT false, id, 0, 0 FROM users WHERE id = ANY(\(senderIDs)::bigint[])
                """,
                logger: logger
            )
            for try await (isConversation, id, first, second) in known.decode((Bool, Int64, Int64, Int64).self) {
                if isConversation { knownConversations[id] = (first, second) } else { knownSenders.insert(id) }
            }

            // 2. From here until COMMIT, no other message batch on this database assigns ids.
            try await connection.query("SELECT pg_advisory_xact_lock(\(messageOrderLockKey))", logger: logger)

            // 3. Earlier messages under the drafts' idempotency keys.
            let keyed = drafts.compactMap { draft in draft.clientID.map { (draft.senderID.rawValue, $0) } }
            var stored: [ClientKey: Message] = [:]
            if !keyed.isEmpty {
                let rows = try await connection.query(
                    """
                    SELECT m.id, m.conversation_id, m.sender_id, m.content, m.inserted_at, m.client_id
                    FROM messages m
                    JOIN unnest(\(keyed.map(\.0))::bigint[], \(keyed.map(\.1))::text[]) AS k(sender_id, client_id)
                        ON m.sender_id = k.sender_id AND m.client_id = k.client_id
                    """,
                    logger: logger
                )
                for try await row in rows {
                    let message = try decodeMessage(row)
                    if let clientID = message.clientID {
                        stored[ClientKey(sender: message.senderID.rawValue, clientID: clientID)] = message
                    }
                }
            }

            // Decide each draft's fate, in order.
            var plans: [Plan] = []
            plans.reserveCapacity(drafts.count)
            var inserts: [NewMessage] = []
            var insertedKeys: [ClientKey: Int] = [:]
            for draft in drafts {
                guard knownConversations[draft.conversationID.rawValue] != nil,
                    knownSenders.contains(draft.senderID.rawValue)
                else {
                    plans.append(.failed(.notFound))
                    continue
                }
                if let clientID = draft.clientID {
                    let key = ClientKey(sender: draft.senderID.rawValue, clientID: clientID)
                    if let message = stored[key] {
                        plans.append(.existing(message))
                        continue
                    }
                    if let row = insertedKeys[key] {
                        plans.append(.duplicate(ofInsert: row))
                        continue
                    }
                    insertedKeys[key] = inserts.count
                }
                plans.append(.insert(inserts.count))
                inserts.append(draft)
            }

            var created: [Message] = []
            if !inserts.isEmpty {
                // 4. Ids, taken under the lock; sorted, so the batch's rows get them in draft order.
                var ids: [Int64] = []
                ids.reserveCapacity(inserts.count)
                let sequence = try await connection.query(
                    "SELECT nextval('messages_id_seq') FROM generate_series(1, \(Int64(inserts.count)))",
                    logger: logger
                )
                for try await id in sequence.decode(Int64.self) { ids.append(id) }
                guard ids.count == inserts.count else {
                    throw StoreError.failed(operation: "insertMessages", message: "sequence returned too few ids")
                }
                ids.sort()
                let now = Timestamp.now()
                created = zip(ids, inserts).map { id, draft in
                    Message(
                        id: MessageID(id), conversationID: draft.conversationID, senderID: draft.senderID,
                        content: draft.content, insertedAt: now, clientID: draft.clientID
                    )
                }

                // 5. One statement for every row, every conversation's last_message_id, and the feed
                //    notifications (delivered by PostgreSQL at COMMIT, in commit order: see ClusterBus).
                let feed = FeedCodec.encodeFeed(
                    origin: origin,
                    zip(created, inserts).map { message, draft in
                        let (first, second) = knownConversations[draft.conversationID.rawValue] ?? (0, 0)
                        return (message, UserID(first == draft.senderID.rawValue ? second : first), draft.origin)
                    }
                )
                try await connection.query(
                    """
                    WITH inserted AS (
                        INSERT INTO messages (id, conversation_id, sender_id, content, client_id, inserted_at)
                        SELECT id, conversation_id, sender_id, content,
                               CASE WHEN has_client_id THEN client_id END, \(now.microseconds)
                        FROM unnest(
                            \(ids)::bigint[], \(inserts.map(\.conversationID.rawValue))::bigint[],
                            \(inserts.map(\.senderID.rawValue))::bigint[], \(inserts.map(\.content))::text[],
                            \(inserts.map { $0.clientID ?? "" })::text[], \(inserts.map { $0.clientID != nil })::boolean[]
                        ) AS d(id, conversation_id, sender_id, content, client_id, has_client_id)
                        RETURNING id, conversation_id
                    ), moved AS (
                        UPDATE conversations AS c
                        SET last_message_id = GREATEST(COALESCE(c.last_message_id, 0), latest.id)
                        FROM (SELECT conversation_id, max(id) AS id FROM inserted GROUP BY conversation_id) AS latest
                        WHERE c.id = latest.conversation_id
                        RETURNING c.id
                    )
                    SELECT count(pg_notify(\(PostgresClusterBus.channel), payload)) + (SELECT count(*) FROM moved)
                    FROM (SELECT payload FROM unnest(\(feed)::text[]) WITH ORDINALITY AS f(payload, n) ORDER BY n) AS ordered
                    """,
                    logger: logger
                )
            }

            return plans.map { plan -> Result<StoredMessage, StoreError> in
                switch plan {
                case .existing(let message): .success(.existing(message))
                case .failed(let error): .failure(error)
                case .insert(let row): .success(.created(created[row]))
                case .duplicate(let row): .success(.existing(created[row]))
                }
            }
        }
    }
}

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
        _ drafts: [NewMessage],
        on loop: any EventLoop,
        completion: @escaping @Sendable (Result<[Result<StoredMessage, StoreError>], StoreError>) -> Void
    ) {
        guard !drafts.isEmpty else { return loop.execute { completion(.success([])) } }
        do {
            try writer.submit(PostgresCommitter.Call(drafts: drafts, loop: loop, answer: completion))
        } catch {
            loop.execute { completion(.failure(error)) }
        }
    }

    /// Commits one batch of drafts in one transaction and returns one outcome per draft, in order.
    ///
    /// The batch is one statement, a call of the `broker_insert_messages` function (migration
    /// `002_insert_messages_function` in ``PostgresMigrations``), sent in autocommit mode: a single statement is
    /// its own transaction, so the batch costs one round trip instead of a `BEGIN`, five statements and a
    /// `COMMIT`. Inside, in this order, the function
    /// 1. finds which referenced conversations and senders exist (a draft naming a missing one fails alone
    ///    with ``StoreError/notFound``, as it would in SQLite, instead of failing the whole multi-row insert
    ///    on its foreign key; rows are never deleted, so the answer holds until commit);
    /// 2. takes `pg_advisory_xact_lock(messageOrderLockKey)`, held until the statement's transaction ends;
    /// 3. reads the messages already stored under the drafts' `(sender_id, client_id)` keys *after* the lock,
    ///    in a statement of its own (a volatile PL/pgSQL function takes a new snapshot per statement in read
    ///    committed, so it sees every batch that committed while this one waited): such a draft yields
    ///    `.existing(that message)`, and a key repeated inside the batch yields `.existing` of its first draft;
    /// 4. takes the new ids, `nextval` once per row, sorted so the rows get them in draft order;
    /// 5. inserts every new row and moves each conversation's `last_message_id` in one statement;
    /// 6. sends the feed's `pg_notify` calls, packed exactly as ``FeedCodec/encodeFeed(origin:_:)`` packs
    ///    them, which PostgreSQL delivers to every listening node when, and only if, the transaction commits;
    /// and answers one row per draft, in draft order, once the implicit transaction has committed.
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
    ///
    /// - Throws: ``StoreError`` as ``PostgresPool/fetch(_:_:_:)`` maps it; a lost connection or a commit
    ///   whose outcome is unknown is ``StoreError/unavailable``, and the caller's retry with the same
    ///   `client_id` is safe.
    static func commitMessages(
        _ drafts: [NewMessage],
        origin: String,
        in pool: PostgresPool
    ) async throws -> [Result<StoredMessage, StoreError>] {
        guard !drafts.isEmpty else { return [] }
        let now = Timestamp.now()
        let rows = try await pool.fetch(
            "insertMessages",
            """
            SELECT outcome, message_id, message_conversation_id, message_sender_id, message_content,
                   message_inserted_at, message_client_id
            FROM broker_insert_messages(
                \(drafts.map(\.conversationID.rawValue))::bigint[], \(drafts.map(\.senderID.rawValue))::bigint[],
                \(drafts.map(\.content))::text[], \(drafts.map { $0.clientID ?? "" })::text[],
                \(drafts.map { $0.clientID != nil })::boolean[],
                \(drafts.map { Int64(bitPattern: $0.origin) })::bigint[], \(origin)::text,
                \(now.microseconds)::bigint, \(messageOrderLockKey)::bigint, \(PostgresClusterBus.channel)::text,
                \(Int32(FeedCodec.maxPayloadBytes))::integer
            )
            """
        ) { row in
            try row.decode((String, Int64?, Int64?, Int64?, String?, Int64?, String?).self)
        }
        guard rows.count == drafts.count else {
            throw StoreError.failed(operation: "insertMessages", message: "expected one row per draft")
        }
        // A repeated key answers with the message its first draft created, earlier in this same batch.
        var created: [Int64: Message] = [:]
        return try zip(drafts, rows).map { draft, row -> Result<StoredMessage, StoreError> in
            let (outcome, id, conversation, sender, content, insertedAt, clientID) = row
            switch (outcome, id) {
            case ("notfound", _):
                return .failure(.notFound)
            case ("created", let id?):
                let message = Message(
                    id: MessageID(id),
                    conversationID: draft.conversationID,
                    senderID: draft.senderID,
                    content: draft.content,
                    insertedAt: now,
                    clientID: draft.clientID
                )
                created[id] = message
                return .success(.created(message))
            case ("repeat", let id?):
                guard let message = created[id] else { break }
                return .success(.existing(message))
            case ("existing", let id?):
                guard let conversation, let sender, let content, let insertedAt else { break }
                return .success(
                    .existing(
                        Message(
                            id: MessageID(id),
                            conversationID: ConversationID(conversation),
                            senderID: UserID(sender),
                            content: content,
                            insertedAt: Timestamp(microseconds: insertedAt),
                            clientID: clientID
                        )
                    )
                )
            default:
                break
            }
            throw StoreError.failed(operation: "insertMessages", message: "unexpected outcome \(outcome)")
        }
    }
}

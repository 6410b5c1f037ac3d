import NIOCore
import ServiceLifecycle

/// The whole persistence surface of the broker; everything above `Store` depends on this protocol only.
///
/// A store is a `Service`: its `run()` drives the batching writer and must be running for writes to complete.
/// Writes are acknowledged only after their transaction committed (and, with ``SyncMode/full``, reached the disk).
/// Reads never wait for writes.
package protocol Store: Service {
    // MARK: Users

    /// Stores a new user and, in the same transaction, its welcome mail in the outbox.
    /// - Throws: ``StoreError/uniqueViolation(_:)`` with `.email` when the address is taken in any case.
    func createUser(_ user: NewUser, welcomeMail: NewMail) async throws -> User
    /// The user with this id.
    func user(id: UserID) async throws -> User?
    /// The user with this address, compared case-insensitively.
    func user(email: String) async throws -> User?
    /// Users ordered by id, starting after `afterID`.
    func users(after afterID: UserID?, limit: Int) async throws -> [User]
    /// Which of these token ids were revoked, in one query per few hundred ids (a node back on the cluster
    /// channel checks its open sockets' tokens against logouts it may have missed).
    func revokedTokenIDs(among ids: [String]) async throws -> Set<String>
    /// Several users at once, in one query, for seeding and fan-out lookups.
    func usersExist(_ ids: [UserID]) async throws -> Set<UserID>
    /// Stores many users at once in one transaction, without welcome mails (load-test seeding).
    func createUsersInBulk(_ users: [NewUser]) async throws -> [User]
    /// Creates the conversations of many pairs at once in one transaction (load-test seeding).
    func createConversationsInBulk(_ pairs: [(sender: UserID, recipient: UserID)]) async throws -> [Conversation]

    // MARK: Tokens

    /// Records a token id as revoked until it would have expired anyway.
    func revokeToken(id: String, userID: UserID, expiresAt: Timestamp) async throws
    /// Whether the token id was revoked.
    func isTokenRevoked(id: String) async throws -> Bool

    // MARK: Mail outbox

    /// Outbox entries still to deliver, due or not, oldest first.
    func pendingMails(limit: Int) async throws -> [Mail]
    /// Takes the pending mails due at `now` (oldest first) for one sender: each is pushed `lease` into the
    /// future before it is returned, so that another broker on the same database (or this one after a crash
    /// in mid-send) tries it again only once the lease ran out. ``recordDelivery(ofMail:_:redacting:)`` ends
    /// the claim.
    func claimDueMails(at now: Timestamp, lease: Duration, limit: Int) async throws -> [Mail]
    /// The earliest next attempt of any pending mail; `nil` when none is pending.
    func nextMailAttempt() async throws -> Timestamp?
    /// Records what became of a delivery attempt. With `redacting`, a mail that reaches `sent` or `failed`
    /// has its bodies replaced by the redacted copies it was stored with (if any), so that no secret they held
    /// stays at rest once the mail is out of the outbox.
    func recordDelivery(ofMail id: Int64, _ delivery: MailDelivery, redacting: Bool) async throws
    /// Every mail, newest first (the local mailer's mailbox).
    func mails(limit: Int) async throws -> [Mail]

    // MARK: Conversations

    /// The pair's conversation, created with `sender` as its sender if the pair has none yet.
    /// - Returns: the conversation and whether it was created now.
    func conversation(between sender: UserID, and recipient: UserID) async throws -> (Conversation, created: Bool)
    /// The conversation with this id.
    func conversation(id: ConversationID) async throws -> Conversation?
    /// The conversations the user takes part in, by last message id descending, those without messages last.
    func conversations(of user: UserID) async throws -> [Conversation]
    /// Moves the user's read position forward (never backwards) and returns the conversation after the change.
    func markRead(_ conversation: ConversationID, by user: UserID, upTo message: MessageID) async throws -> Conversation

    // MARK: Messages

    /// Stores a batch of messages in one transaction, in order; a draft whose sender already stored its
    /// `clientID` yields the earlier message. Each element answers its draft, or fails it alone.
    func insertMessages(_ drafts: [NewMessage]) async throws -> [Result<StoredMessage, StoreError>]
    /// Stores a batch like ``insertMessages(_:)`` without suspending the caller: the batch joins the writer's
    /// next group commit and `completion` runs on `loop` once it committed (or failed), answered together
    /// with every other call of that commit for the same loop. The send path's entry: a conversation actor
    /// on an event loop hands over its batch and goes on.
    func submitMessages(
        _ drafts: [NewMessage],
        on loop: any EventLoop,
        completion: @escaping @Sendable (Result<[Result<StoredMessage, StoreError>], StoreError>) -> Void
    )
    /// History of a conversation: see ``HistoryPage``.
    func messages(in conversation: ConversationID, page: HistoryPage) async throws -> (messages: [Message], hasMore: Bool)
    /// Messages with ids above `afterID` in the user's conversations that others sent, ascending, at most `limit`.
    func missedMessages(for user: UserID, after afterID: MessageID, limit: Int) async throws -> [Message]
    /// The stored messages with these ids, ascending (what other nodes' notifications name).
    func messages(ids: [MessageID]) async throws -> [Message]
    /// The stored message a sender already sent with this `clientID`.
    func message(from sender: UserID, clientID: String) async throws -> Message?

    // MARK: Cluster

    /// The notification channel shared with the other brokers on this database, if the backend has one
    /// (PostgreSQL); `nil` for a store of one node (SQLite).
    var clusterBus: (any ClusterBus)? { get }

    // MARK: Health

    /// Checks that the database answers.
    func ping() async throws

    // MARK: Operations

    /// Mails still pending in the outbox (the `broker_mail_outbox_depth` gauge).
    func outboxDepth() async throws -> Int
    /// PostgreSQL's `pg_notification_queue_usage()`, the fraction of the shared notification queue in use
    /// (a listener that stops reading pins it); `nil` on a backend without one (SQLite).
    func notificationQueueUsage() async throws -> Double?
}

/// Which page of a conversation's history to read.
package enum HistoryPage: Sendable, Hashable {
    /// The newest `limit` messages.
    case newest(limit: Int)
    /// The newest `limit` messages older than the id.
    case before(MessageID, limit: Int)
    /// The oldest `limit` messages newer than the id.
    case after(MessageID, limit: Int)
}

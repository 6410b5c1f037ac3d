import NIOCore
import Store

/// A store for fuzz targets that must not touch a database: every read and write fails with
/// ``StoreError/unavailable``, except that no token is revoked. Whatever a fuzzed frame or token asks of the
/// store therefore ends quickly, the same way each time.
package struct StubStore: Store {
    package init() {}

    package func run() async throws {}

    package func createUser(_ user: NewUser, welcomeMail: NewMail) async throws -> User { throw StoreError.unavailable }
    package func user(id: UserID) async throws -> User? { throw StoreError.unavailable }
    package func user(email: String) async throws -> User? { throw StoreError.unavailable }
    package func users(after afterID: UserID?, limit: Int) async throws -> [User] { throw StoreError.unavailable }
    package func revokedTokenIDs(among ids: [String]) async throws -> Set<String> { [] }
    package func usersExist(_ ids: [UserID]) async throws -> Set<UserID> { throw StoreError.unavailable }
    package func createUsersInBulk(_ users: [NewUser]) async throws -> [User] { throw StoreError.unavailable }
    package func createConversationsInBulk(
        _ pairs: [(sender: UserID, recipient: UserID)]
    ) async throws -> [Conversation] { throw StoreError.unavailable }

    package func revokeToken(id: String, userID: UserID, expiresAt: Timestamp) async throws {
        throw StoreError.unavailable
    }
    package func isTokenRevoked(id: String) async throws -> Bool { false }

    package func pendingMails(limit: Int) async throws -> [Mail] { throw StoreError.unavailable }
    package func claimDueMails(at now: Timestamp, lease: Duration, limit: Int) async throws -> [Mail] {
        throw StoreError.unavailable
    }
    package func nextMailAttempt() async throws -> Timestamp? { throw StoreError.unavailable }
    package func recordDelivery(ofMail id: Int64, _ delivery: MailDelivery, redacting: Bool) async throws {
        throw StoreError.unavailable
    }
    package func mails(limit: Int) async throws -> [Mail] { throw StoreError.unavailable }

    package func conversation(
        between sender: UserID,
        and recipient: UserID
    ) async throws -> (Conversation, created: Bool) { throw StoreError.unavailable }
    package func conversation(id: ConversationID) async throws -> Conversation? { throw StoreError.unavailable }
    package func conversations(of user: UserID) async throws -> [Conversation] { throw StoreError.unavailable }
    package func markRead(
        _ conversation: ConversationID,
        by user: UserID,
        upTo message: MessageID
    ) async throws -> Conversation { throw StoreError.unavailable }

    package func insertMessages(_ drafts: [NewMessage]) async throws -> [Result<StoredMessage, StoreError>] {
        throw StoreError.unavailable
    }
    package func submitMessages(
        _ drafts: [NewMessage],
        on loop: any EventLoop,
        completion: @escaping @Sendable (Result<[Result<StoredMessage, StoreError>], StoreError>) -> Void
    ) {
        loop.execute { completion(.failure(.unavailable)) }
    }
    package func messages(
        in conversation: ConversationID,
        page: HistoryPage
    ) async throws -> (messages: [Message], hasMore: Bool) { throw StoreError.unavailable }
    package func missedMessages(for user: UserID, after afterID: MessageID, limit: Int) async throws -> [Message] {
        throw StoreError.unavailable
    }
    package func messages(ids: [MessageID]) async throws -> [Message] { throw StoreError.unavailable }
    package func message(from sender: UserID, clientID: String) async throws -> Message? { throw StoreError.unavailable }

    package var clusterBus: (any ClusterBus)? { nil }

    package func ping() async throws { throw StoreError.unavailable }
    package func outboxDepth() async throws -> Int { throw StoreError.unavailable }
    package func notificationQueueUsage() async throws -> Double? { throw StoreError.unavailable }
}

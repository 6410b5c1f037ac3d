import Foundation

/// This broker process as the other nodes of the service know it.
package struct ClusterNode: Sendable, Hashable, CustomStringConvertible {
    /// The operator's name for it (`BROKER_NODE_NAME`, the host name by default); shown in logs.
    package var name: String
    /// Random per process start: tells two processes apart even when an operator gave them one name, and a
    /// restarted node apart from its previous life.
    package var instance: String

    /// A node called `name` with a fresh instance id.
    package init(name: String, instance: String = ClusterNode.randomInstance()) {
        self.name = name
        self.instance = instance
    }

    /// Sixteen random hex digits.
    package static func randomInstance() -> String {
        let value = UInt64.random(in: 0...UInt64.max)
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    package var description: String { "\(name)/\(instance.prefix(6))" }
}

/// One stored message as the message feed carries it to every node: the message (or only its id when its
/// content did not fit in a notification), both participants, and the socket that sent it, so its node can
/// leave that socket out.
package struct FeedMessage: Sendable, Hashable {
    /// The message's id.
    package var id: MessageID
    /// Its conversation.
    package var conversationID: ConversationID
    /// Who sent it.
    package var senderID: UserID
    /// The conversation's other participant.
    package var recipientID: UserID
    /// The whole message; `nil` when only the id travelled (read it with ``Store/messages(ids:)``).
    package var message: Message?
    /// The sending socket on the origin node (``NewMessage/origin``), 0 for none.
    package var originSocket: UInt64

    /// Creates an entry.
    package init(
        id: MessageID,
        conversationID: ConversationID,
        senderID: UserID,
        recipientID: UserID,
        message: Message?,
        originSocket: UInt64
    ) {
        self.id = id
        self.conversationID = conversationID
        self.senderID = senderID
        self.recipientID = recipientID
        self.message = message
        self.originSocket = originSocket
    }
}

/// What arrives on the cluster channel.
package enum ClusterNotification: Sendable {
    /// Messages committed by one transaction of the node `origin` (an instance id), in id order. Feed
    /// notifications arrive in commit order, which is id order service-wide.
    case feed(origin: String, [FeedMessage])
    /// An event a node published with ``ClusterBus/publish(_:)``, as it was published.
    case control(String)
}

/// What the cluster bridge needs from a database shared by several brokers: one notification channel that
/// carries the message feed (published by the store inside each message transaction, so it is delivered in
/// commit order) and the nodes' own control events, plus reads to catch up after the channel was lost.
///
/// PostgreSQL implements it with `LISTEN`/`NOTIFY`; an embedded SQLite store has none (one node).
package protocol ClusterBus: Sendable {
    /// This process.
    var node: ClusterNode { get }
    /// Publishes a control event to every listening node, this one included.
    /// - Throws: ``StoreError/unavailable`` when the database cannot be reached, or ``StoreError/failed(operation:message:)``
    ///   for an event over the size limit (``maxControlBytes``).
    func publish(_ event: String) async throws
    /// The largest control event in UTF-8 bytes.
    var maxControlBytes: Int { get }
    /// Listens on a connection of its own until it fails or the task is cancelled: calls `ready` once the
    /// database confirmed the subscription (every notification committed after that is received), then
    /// `receive` for each notification, in order, one at a time.
    /// - Throws: when the connection could not be opened or broke (``StoreError/unavailable``).
    func listen(
        ready: @Sendable () async throws -> Void,
        receive: @Sendable (ClusterNotification) async throws -> Void
    ) async throws
    /// Stored messages with ids above `afterID`, ascending, at most `limit`, each with its participants
    /// (`originSocket` 0): what the feed carried while this node was not listening.
    func feed(after afterID: MessageID, limit: Int) async throws -> [FeedMessage]
    /// The highest message id stored so far (0 when none).
    func latestMessageID() async throws -> MessageID
    /// How full the database's notification queue is, from 0 to 1 (PostgreSQL's
    /// `pg_notification_queue_usage()`): notifications stay queued until the slowest listener read them, so a
    /// lagging listener fills it for every node.
    func notificationQueueUsage() async throws -> Double
}

extension Store {
    /// No cluster: the default for stores of one node.
    package var clusterBus: (any ClusterBus)? { nil }
}

import Logging
import NIOCore
import NIOPosix
import PostgresNIO

#if canImport(Glibc)
import Glibc
#endif

/// The cluster channel on PostgreSQL: one `LISTEN`/`NOTIFY` channel for the message feed and the nodes'
/// control events.
///
/// **Order.** The message feed is notified inside each message transaction (``PostgresStore/commitMessages(_:origin:in:)``).
/// PostgreSQL delivers a transaction's notifications when it commits, and notifications of different
/// transactions in commit order; message ids follow commit order (the advisory lock), so every node receives
/// the feed in id order. A node that delivers its own sockets from the feed therefore pushes a socket's
/// messages in id order whichever node stored them, and a client's highest seen id is a safe `last_seen_id`.
///
/// **Loss.** Notifications are kept only for live listeners: whatever commits while a node's listener is
/// down is read back with ``feed(after:limit:)`` when it listens again (the bridge does this).
///
/// The listener is a connection of its own (not pooled: a pooled connection would be handed to others
/// while it listens), with the store's TLS settings and the `application_name` ``listenerApplicationName``;
/// it is opened by each ``listen(ready:receive:)`` and closed when that ends, with TCP keepalive on
/// (``KeepAlive``).
struct PostgresClusterBus: ClusterBus {
    /// The one channel.
    static let channel = "broker_cluster"
    /// The listener's `application_name`, which tells it apart from the pool's connections (`broker`) in
    /// the server's views.
    static let listenerApplicationName = "broker-listener"

    let node: ClusterNode
    /// Where the listener connects.
    let location: PostgresLocation
    /// How the listener's connection uses TLS (as the pool's do).
    let tls: PostgresTLS
    /// For publishing and catch-up reads.
    let pool: PostgresPool
    /// Where the listener logs.
    let logger: Logger
    /// Holds reads back until the migrations ran.
    let schema: SchemaGate

    var maxControlBytes: Int { FeedCodec.maxPayloadBytes - 1 }

    func publish(_ event: String) async throws {
        let payload = FeedCodec.encodeControl(event)
        guard payload.utf8.count <= FeedCodec.maxPayloadBytes else {
            throw StoreError.failed(operation: "publish", message: "event of \(payload.utf8.count) bytes is over the limit")
        }
        let logger = self.logger
        try await pool.withConnection("publish") { connection in
            try await connection.query("SELECT pg_notify(\(Self.channel), \(payload))", logger: logger)
            return ()
        }
    }

    func listen(
        ready: @Sendable () async throws -> Void,
        receive: @Sendable (ClusterNotification) async throws -> Void
    ) async throws {
        let channel: any Channel
        do {
            channel = try await Self.openKeepAliveChannel(to: location)
        } catch {
            throw PostgresPool.map(error, operation: "listen", connected: false)
        }
        var configuration = PostgresConnection.Configuration(
            establishedChannel: channel,
            tls: tls.connectionTLS,
            username: location.username,
            password: location.password,
            database: location.database
        )
        // As PostgresNIO does for a host it connects to itself: the host's name for TLS, unless it is an address
        // (not valid in SNI).
        if (try? SocketAddress(ipAddress: location.host, port: 0)) == nil { configuration.options.tlsServerName = location.host }
        configuration.options.additionalStartupParameters =
            [("application_name", Self.listenerApplicationName)]
            + Self.serverKeepAlive
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(
                on: channel.eventLoop,
                configuration: configuration,
                id: 0,
                logger: logger
            )
        } catch {
            channel.close(mode: .all, promise: nil)
            throw PostgresPool.map(error, operation: "listen", connected: false)
        }
        let logger = self.logger
        do {
            try await withTaskCancellationHandler {
                try await connection.listen(on: Self.channel) { notifications in
                    try await ready()
                    for try await notification in notifications {
                        guard let decoded = FeedCodec.decode(notification.payload) else {
                            logger.warning("skipped a cluster notification this version cannot read")
                            continue
                        }
                        try await receive(decoded)
                    }
                }
            } onCancel: {
                channel.close(mode: .all, promise: nil)  // ends the notification sequence; no task needed
            }
        } catch {
            try? await connection.close()
            if error is CancellationError { throw error }
            throw PostgresPool.map(error, operation: "listen", connected: true)
        }
        try? await connection.close()
        throw StoreError.unavailable  // the notification sequence ended: the connection is gone
    }

    func feed(after afterID: MessageID, limit: Int) async throws -> [FeedMessage] {
        try await schema.wait()
        return try await pool.fetch(
            "feed(after:)",
            """
            SELECT m.id, m.conversation_id, m.sender_id, m.content, m.inserted_at, m.client_id, c.sender_id, c.recipient_id
            FROM messages m JOIN conversations c ON c.id = m.conversation_id
            WHERE m.id > \(afterID.rawValue) ORDER BY m.id LIMIT \(Int64(limit))
            """
        ) { row in
            let (id, conversation, sender, content, insertedAt, clientID, first, second) = try row.decode(
                (Int64, Int64, Int64, String, Int64, String?, Int64, Int64).self
            )
            let message = Message(
                id: MessageID(id),
                conversationID: ConversationID(conversation),
                senderID: UserID(sender),
                content: content,
                insertedAt: Timestamp(microseconds: insertedAt),
                clientID: clientID
            )
            return FeedMessage(
                id: message.id,
                conversationID: message.conversationID,
                senderID: message.senderID,
                recipientID: UserID(first == sender ? second : first),
                message: message,
                originSocket: 0
            )
        }
    }

    func latestMessageID() async throws -> MessageID {
        try await schema.wait()
        let rows = try await pool.fetch("latestMessageID", "SELECT COALESCE(max(id), 0) FROM messages") { row in
            try row.decode(Int64.self)
        }
        return MessageID(rows.first ?? 0)
    }

    func notificationQueueUsage() async throws -> Double {
        let rows = try await pool.fetch("notificationQueueUsage", "SELECT pg_notification_queue_usage()") { row in
            try row.decode(Double.self)
        }
        return rows.first ?? 0
    }
}

extension PostgresClusterBus {
    /// TCP keepalive on the listener's socket, both ways: a listener whose server (or the network to it) died
    /// finds out within about `idle + interval × count` seconds and reconnects, and, through the session
    /// settings in ``serverKeepAlive``, the server drops a listener whose host died, so that a node gone
    /// without a word does not pin the notification queue.
    ///
    /// A process that is merely stopped (SIGSTOP, a debugger) still answers keepalives from its kernel: that
    /// case is bounded by the other side of the rule, the bridge's lag check, once it runs again.
    enum KeepAlive {
        /// Seconds of silence before the first probe.
        static let idle = 10
        /// Seconds between probes.
        static let interval = 5
        /// Unanswered probes before the connection is dead.
        static let count = 3
    }

    /// The server's side of the keepalive (session settings sent at start-up, as `SET` would).
    static let serverKeepAlive = [
        ("tcp_keepalives_idle", "\(KeepAlive.idle)"), ("tcp_keepalives_interval", "\(KeepAlive.interval)"),
        ("tcp_keepalives_count", "\(KeepAlive.count)"),
    ]

    /// Opens the listener's TCP connection with keepalive on. PostgresNIO's configuration has no socket
    /// options, so the channel is made here and handed over (`Configuration(establishedChannel:tls:…)`), which
    /// still runs PostgresNIO's TLS negotiation on it.
    static func openKeepAliveChannel(to location: PostgresLocation) async throws -> any Channel {
        var bootstrap = ClientBootstrap(group: PostgresConnection.defaultEventLoopGroup)
            .connectTimeout(.seconds(10))
            .channelOption(.socketOption(.so_keepalive), value: 1)
        #if os(Linux)
        bootstrap =
            bootstrap
            .channelOption(ChannelOptions.Types.SocketOption(level: .tcp, name: .init(rawValue: TCP_KEEPIDLE)), value: KeepAlive.idle)
            .channelOption(ChannelOptions.Types.SocketOption(level: .tcp, name: .init(rawValue: TCP_KEEPINTVL)), value: KeepAlive.interval)
            .channelOption(ChannelOptions.Types.SocketOption(level: .tcp, name: .init(rawValue: TCP_KEEPCNT)), value: KeepAlive.count)
        #endif
        return try await bootstrap.connect(host: location.host, port: location.port).get()
    }
}

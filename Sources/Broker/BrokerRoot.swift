import Logging
import NIOCore
import NIOPosix
import Store

/// The broker's actor tree and its entry points for the edges.
///
/// Its root supervisor, in start order: the Mailer (permanent: the outbox must keep draining), the
/// conversation supervisor (a dynamic supervisor of ``ConversationActor``s, permanent), and the idle sweeper
/// that stops conversation actors nobody used for `conversationIdleTimeout`. The user directory holds the
/// ``UserActor``s; they do no I/O and cannot fail, so they need no restarts of their own.
///
/// The root `ServiceGroup` owns and stops the root supervisor; an escalation past its intensity ends `run()`
/// with an error, which ends the process non-zero for the operating system's supervisor to restart.
package final class BrokerRoot: Sendable {
    /// Settings of the tree.
    package struct Configuration: Sendable {
        /// The longest the mailer waits without looking at the outbox: it finds mails written by other brokers
        /// on the same database this way (this broker's own registrations ring ``BrokerRoot/mailWritten()``).
        package var mailPollInterval: Duration = .seconds(30)
        /// When the mailer tries a failed mail again, and when it gives up.
        package var mailRetry = MailRetryPolicy()
        /// A conversation actor unused this long is stopped.
        package var conversationIdleTimeout: Duration = .seconds(60)
        /// Queued sends per conversation before new ones get `unavailable`.
        package var conversationMailbox: Int = 4_096
        /// Test hook for injected crashes.
        package var faults: FaultInjection?
        /// Heartbeats and timeouts of the cluster bridge (used when the store has a cluster bus).
        package var cluster = ClusterBridge.Configuration()
        /// The event loops that conversation and user actors run on: the server's, so that a socket reaches
        /// its actors without leaving its loop when they share one.
        package var eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton

        /// The defaults.
        package init() {}
    }

    /// Online users on this node.
    package let users: UserDirectory
    /// Joins of `conversation:<id>` topics on this node.
    package let topics = TopicDirectory()
    private let store: any Store
    private let encoder: any PushEncoder
    /// Active conversations on this node.
    package let conversations: ConversationDirectory
    /// The bridge to the other nodes on the same database; `nil` for a store of one node (SQLite).
    package let cluster: ClusterBridge?
    /// The root supervisor, to run under the process's `ServiceGroup`.
    package let supervisor: Supervisor<String>
    /// Wakes the mailer when a mail was written; outlives its restarts.
    private let mailDoorbell: MailDoorbell

    /// Builds the tree (nothing runs until `supervisor` does).
    package init(
        store: any Store,
        mailAdapter: any MailAdapter,
        encoder: any PushEncoder,
        configuration: Configuration,
        logger: Logger
    ) {
        self.store = store
        self.encoder = encoder
        let mailDoorbell = MailDoorbell()
        self.mailDoorbell = mailDoorbell
        let topics = self.topics
        let loops = LoopRing(configuration.eventLoopGroup)
        let users: UserDirectory
        let cluster: ClusterBridge?
        if let bus = store.clusterBus {
            let presence = LocalPresenceQueue()
            users = UserDirectory(presence: presence, loops: loops)
            cluster = ClusterBridge(
                bus: bus,
                store: store,
                users: users,
                topics: topics,
                encoder: encoder,
                localPresence: presence,
                configuration: configuration.cluster,
                logger: logger
            )
        } else {
            users = UserDirectory(loops: loops)
            cluster = nil
        }
        self.users = users
        self.cluster = cluster
        let conversations = ConversationDirectory { id in
            ConversationActor(
                id: id,
                eventLoop: loops.loop(for: id.rawValue),
                store: store,
                users: users,
                encoder: encoder,
                logger: logger,
                mailboxCapacity: configuration.conversationMailbox,
                faults: configuration.faults,
                cluster: cluster
            )
        }
        self.conversations = conversations
        let idle = configuration.conversationIdleTimeout
        // Started first, stopped last: the bridge keeps delivering while the conversations finish.
        let bridge: [ChildSpec<String>] =
            cluster.map { cluster in
                [
                    ChildSpec(id: "cluster", restart: .permanent, shutdown: .graceful(timeout: .seconds(3))) {
                        ClusterBridgeRunner(bridge: cluster)
                    }
                ]
            } ?? []
        self.supervisor = Supervisor(
            strategy: .oneForOne,
            maxRestarts: 3,
            period: .seconds(5),
            children: bridge + [
                ChildSpec(id: "mailer", restart: .permanent) {
                    Mailer(
                        store: store,
                        adapter: mailAdapter,
                        logger: logger,
                        pollInterval: configuration.mailPollInterval,
                        retry: configuration.mailRetry,
                        doorbell: mailDoorbell
                    )
                },
                ChildSpec(id: "conversations", restart: .permanent, shutdown: .graceful(timeout: .seconds(10))) {
                    // One conversation that keeps crashing is given up on alone (the next send starts it afresh);
                    // many crashing together (the store is broken) still escalate through the global ceiling.
                    let supervisor = DynamicSupervisor<ConversationDirectory.ChildKey>(
                        maxRestartsPerChild: 3,
                        maxRestarts: 1_000,
                        period: .seconds(5),
                        childOverflow: .removeChild,
                        logger: logger
                    ) { event in
                        if case .gaveUp(let key) = event { conversations.supervisorGaveUp(on: key) }
                    }
                    await conversations.adopt(supervisor)
                    return supervisor
                },
                ChildSpec(id: "conversation-sweeper", restart: .permanent, shutdown: .cancelImmediately) {
                    IdleSweeper(interval: idle / 2) { await conversations.sweepIdle(olderThan: .now - idle) }
                },
            ],
            logger: logger
        )
    }

    /// Tells the mailer that a mail was written to the outbox (it committed), so it need not wait for its
    /// next look.
    package func mailWritten() {
        mailDoorbell.ring()
    }

    /// Joins a socket to `room:chat`: attaches it to its user's actor and, if the user just came online, tells
    /// the user's online conversation partners (`presence_diff`).
    /// - Returns: the presence state for the joining socket: the partners online now and since when.
    /// - Throws: ``BrokerError/unavailable`` when this node is in a cluster but cannot hear the other nodes
    ///   (its live deliveries would have gaps); the store's error when it cannot list the user's partners.
    package func joinRoom(_ sink: any SocketSink, for user: UserID) async throws -> [(UserID, Timestamp)] {
        if let cluster { return try await joinClusterRoom(sink, for: user, cluster) }
        let cameOnline = await users.attach(sink, for: user)
        let peers = try await store.conversations(of: user).map { $0.peer(of: user) }
        if cameOnline, let me = await users.presence(of: [user]).first {
            let push = encoder.encodePresenceDiff(joins: [me], leaves: [])
            for actor in await users.actors(for: peers) { actor.deliver([(push, nil)]) }
        }
        return await users.presence(of: peers)
    }

    /// In a cluster the bridge decides who is online service-wide and sends the diffs.
    private func joinClusterRoom(
        _ sink: any SocketSink,
        for user: UserID,
        _ cluster: ClusterBridge
    ) async throws -> [(UserID, Timestamp)] {
        // A node that cannot hear the others would leave gaps in live delivery. Right after start, or while the
        // channel reconnects, give it a moment rather than refusing at once (clients would only retry).
        guard await cluster.waitUntilListening(timeout: .seconds(5)) else { throw BrokerError.unavailable }
        let peers = try await store.conversations(of: user).map { $0.peer(of: user) }
        await users.attach(sink, for: user)  // the directory tells the bridge if the user came online
        var presence: [UserID: Timestamp] = [:]
        for (peer, at) in await users.presence(of: peers) { presence[peer] = at }
        for (peer, at) in await cluster.remotePresence(of: peers) { presence[peer] = min(at, presence[peer] ?? at) }
        return peers.compactMap { peer in presence[peer].map { (peer, $0) } }
    }

    /// Detaches a socket from `room:chat`; if it was the user's last, tells the online partners it left.
    package func leaveRoom(_ socket: SocketID, for user: UserID) async {
        guard await users.detach(socket, for: user) else { return }
        if cluster != nil { return }  // the directory told the bridge, which tells the partners on every node
        guard let peers = try? await store.conversations(of: user).map({ $0.peer(of: user) }) else { return }
        let push = encoder.encodePresenceDiff(joins: [], leaves: [(user, .now())])
        for actor in await users.actors(for: peers) { actor.deliver([(push, nil)]) }
    }

    /// Pushes a topic event (typing, read) to the conversation's joins on this node except `socket`, and to
    /// those on the other nodes.
    package func broadcast(
        _ push: EncodedPush,
        in conversation: ConversationID,
        except socket: SocketID,
        to recipients: Set<UserID>? = nil
    ) async {
        await topics.broadcast(push, in: conversation, except: socket, to: recipients)
        await cluster?.publishTopic(push, in: conversation, to: recipients)
    }

    /// Closes the session's sockets on the other nodes (the caller closes this node's).
    package func revokeSession(_ session: String) async {
        await cluster?.publishLogout(session: session)
    }

    /// Sends a message through its conversation's actor: stored, then delivered, then answered.
    /// - Throws: ``BrokerError``.
    /// - Parameter handles: the sending socket's cache of conversation actors, if it keeps one.
    package func send(
        _ request: SendRequest,
        in conversation: ConversationID,
        handles: ConversationHandles? = nil
    ) async throws -> StoredMessage {
        try await withCheckedThrowingContinuation { continuation in
            submit(request, in: conversation, handles: handles ?? ConversationHandles()) { result in
                continuation.resume(with: result)
            }
        }
    }

    /// Hands a send to its conversation's actor without waiting: the socket's send path. `reply` runs once the
    /// message is stored and pushed (on the actor's loop), or with the ``BrokerError`` that stopped it.
    /// - Parameter handles: the sending socket's cache of conversation actors: a cached, running actor is
    ///   reached with no directory hop (one `execute` on its loop, no thread switch when it is the caller's).
    package func submit(
        _ request: SendRequest,
        in conversation: ConversationID,
        handles: ConversationHandles,
        reply: @escaping @Sendable (Result<StoredMessage, BrokerError>) -> Void
    ) {
        submit(request, in: conversation, handles: handles, attempt: 0, reply: reply)
    }

    private func submit(
        _ request: SendRequest,
        in conversation: ConversationID,
        handles: ConversationHandles,
        attempt: Int,
        reply: @escaping @Sendable (Result<StoredMessage, BrokerError>) -> Void
    ) {
        let answer: ConversationActor.Reply = { [self] result in
            switch result {
            case .success(let stored):
                reply(.success(stored))
            case .failure(is ConversationActorStopped) where attempt < 2:
                // It stopped (idle, crashed) between lookup and send: look up again.
                submit(request, in: conversation, handles: handles, attempt: attempt + 1, reply: reply)
            case .failure(let error as BrokerError):
                reply(.failure(error))
            case .failure:
                reply(.failure(.unavailable))
            }
        }
        switch handles.route(request, to: conversation, reply: answer) {
        case .actor(let actor):
            actor.submit(request, reply: answer)
        case .waiting:
            break
        case .lookUp:
            // The first send of this socket to the conversation (or its actor was replaced): one directory hop;
            // the socket's later sends to it wait in `handles`, in order. Unstructured on purpose, and short-lived:
            // one lookup per socket and conversation, ended by the directory's answer (at most a second's wait);
            // the sends it carries are answered either way.
            Task {
                let actor = try? await conversations.actor(for: conversation)
                var waiting: [ConversationHandles.Waiting] = [(request, answer)]
                while !waiting.isEmpty {
                    for (request, reply) in waiting {
                        if let actor { actor.submit(request, reply: reply) } else { reply(.failure(BrokerError.unavailable)) }
                    }
                    waiting = handles.takeWaiting(conversation, found: actor)
                }
            }
        }
    }
}

/// Runs `work` every `interval` until stopped: one sweep for all actors instead of a timer each.
struct IdleSweeper: SupervisedChild {
    let interval: Duration
    let work: @Sendable () async -> Void

    func run() async throws {
        while true {
            do {
                try await Task.sleep(for: interval)  // the sweep's interval, not a wait for a condition
            } catch {
                return
            }
            await work()
        }
    }

    func stop() async {}
}

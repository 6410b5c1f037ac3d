import DequeModule
import Logging
import NIOCore
import Store
import Synchronization

/// Joins this node to the other brokers on the same PostgreSQL database, through the store's
/// ``ClusterBus`` (`LISTEN`/`NOTIFY`): no cluster protocol of our own.
///
/// **Messages.** In a cluster every node, the storing one included, delivers its sockets' messages from the
/// message feed, which the store notifies inside each message transaction: it arrives in commit order, which
/// is id order service-wide (see ``ClusterBus``). So a socket sees its messages in id order whichever node
/// stored them, and a client's highest seen id is always a safe `last_seen_id`. The sending socket is left
/// out by the id it put in ``NewMessage/origin``. Messages too large for a notification come as ids and are
/// read from the store. While the channel is down nothing is received; when it is back the bridge reads
/// what it missed from the store (``ClusterBus/feed(after:limit:)``), and past ``Configuration/catchUpLimit``
/// it closes the node's sockets with 1012 instead, so that their clients recover by `last_seen_id`.
///
/// **Presence.** The bridge is the node's one judge of who is online service-wide: its own users
/// (from the ``LocalPresenceQueue``, in the user directory's order, announced as `on` / `off`) and every other node's,
/// learnt from their events and whole `state` (sent in answer to a `hello`, which a node sends whenever it
/// starts listening). A user's `presence_diff` goes to its partners on this node when the user's service-wide
/// state changes, and only then. Nodes beat every ``Configuration/heartbeat``; a node silent for
/// ``Configuration/nodeTimeout`` (killed, cut off) is dropped and its users go offline; a node that stops on
/// purpose says `bye`.
///
/// **Logout and topic events** (typing, read) are forwarded to the other nodes' sockets.
///
/// **Parts.** The bridge is the wiring: the actor, its loops and the bus. The decisions live in pure state
/// machines it owns: ``ClusterMembership`` (nodes, heartbeats, service-wide presence, the listener's lag bound),
/// ``FeedCursor`` (how far the feed was delivered, catch-up paging, senders waiting for the feed) and
/// ``ClusterOutbox`` (what is yet to be published, merged and retried).
///
/// The bridge itself is long-lived (the edges hold it); its supervised child is ``ClusterBridgeRunner``, whose
/// every (re)start runs ``run()`` anew: listener, heartbeat, publisher, local-presence and announcer loops, all
/// children of `run()`'s task group, which ends them when it ends.
package actor ClusterBridge {
    /// Timings and limits.
    package struct Configuration: Sendable {
        /// How often this node beats.
        package var heartbeat: Duration = .seconds(1)
        /// A node silent this long is gone; this node also reconnects its listener when its own beats stop
        /// coming back this long.
        package var nodeTimeout: Duration = .seconds(5)
        /// A listener whose own beats are this late lags: it reconnects (and catches up from the store) if
        /// PostgreSQL's notification queue is then fuller than ``maxQueueUsage``, so it never pins the queue.
        package var lagThreshold: Duration = .seconds(3)
        /// The share of PostgreSQL's notification queue (0 to 1) above which a lagging listener lets go.
        package var maxQueueUsage = 0.25
        /// The most missed messages replayed live after the channel was down.
        package var catchUpLimit = 10_000

        /// The defaults.
        package init() {}

        /// The membership's part of the settings.
        var membership: ClusterMembership<ContinuousClock>.Configuration {
            .init(heartbeat: heartbeat, nodeTimeout: nodeTimeout, lagThreshold: lagThreshold, maxQueueUsage: maxQueueUsage)
        }
    }

    /// Ends a listen attempt on purpose (the listener lags).
    private struct ListenerDropped: Error {}

    // MARK: - Properties

    /// This process.
    package nonisolated let node: ClusterNode
    private let bus: any ClusterBus
    private let store: any Store
    private let users: UserDirectory
    private let topics: TopicDirectory
    private let encoder: any PushEncoder
    private let localPresence: LocalPresenceQueue
    private let logger: Logger
    private let configuration: Configuration
    private weak var sockets: (any ClusterSocketControl)?

    /// Nodes, heartbeats and who is online where.
    private var membership: ClusterMembership<ContinuousClock>
    /// How far the feed was delivered, and the senders waiting for it; locked, so that a conversation batch
    /// registers its wait without a hop.
    private nonisolated let cursor = Locked(FeedCursor<ContinuousClock.Instant>())
    /// Events waiting to be published.
    private var outbox = ClusterOutbox()
    /// Presence diffs waiting for the announcer: the user whose state changed and the push for its partners.
    private var announcements = Deque<(UserID, EncodedPush)>()
    /// Wakes the current run's publisher loop.
    private var publisherWakeUp: AsyncStream<Void>.Continuation?
    /// Wakes the current run's announcer loop.
    private var announcerWakeUp: AsyncStream<Void>.Continuation?
    /// Finishing it drops the listener's current attempt, to force a reconnect.
    private var currentListen: AsyncStream<Void>.Continuation?
    /// Whether the channel is listening, readable without a hop and awaitable.
    private nonisolated let listening = ReadinessSignal()

    // MARK: - Initialization

    /// Creates the bridge (nothing runs until ``run()``).
    package init(
        bus: any ClusterBus,
        store: any Store,
        users: UserDirectory,
        topics: TopicDirectory,
        encoder: any PushEncoder,
        localPresence: LocalPresenceQueue,
        configuration: Configuration = Configuration(),
        logger: Logger
    ) {
        self.localPresence = localPresence
        self.node = bus.node
        self.bus = bus
        self.store = store
        self.users = users
        self.topics = topics
        self.encoder = encoder
        self.configuration = configuration
        self.membership = ClusterMembership(node: bus.node, configuration: configuration.membership, now: .now)
        var logger = logger
        logger[metadataKey: "broker.node"] = "\(bus.node)"
        self.logger = logger
    }

    /// Whether the channel is up: without it this node cannot see other nodes' messages, so it is not ready
    /// and takes no `room:chat` joins. Readable without a hop.
    package nonisolated var isListening: Bool { listening.isReady }

    /// Waits until the channel is up, at most `timeout` (right after start, or while the channel reconnects).
    /// - Returns: whether it is up.
    package nonisolated func waitUntilListening(timeout: Duration) async -> Bool {
        await listening.wait(timeout: timeout)
    }

    /// Sets who closes sockets for other nodes (the edge's connection registry).
    package func setSocketControl(_ control: any ClusterSocketControl) {
        sockets = control
    }

    // MARK: - Local events

    /// Applies this node's presence changes in the order the user directory made them.
    private func localPresenceLoop() async {
        while !Task.isCancelled {
            for change in await localPresence.next() {
                switch change {
                case .online(let user, let at): apply(membership.localOnline(user, at: at))
                case .offline(let user): apply(membership.localOffline(user))
                }
            }
        }
    }

    /// Since when each of the users is online on another node (the earliest node), offline ones left out.
    package func remotePresence(of candidates: [UserID]) -> [(UserID, Timestamp)] {
        membership.remotePresence(of: candidates)
    }

    /// Asks the other nodes to close the session's sockets (this node closes its own).
    package func publishLogout(session: String) {
        var event = ClusterEvent(.logout, origin: node.instance)
        event.s = session
        enqueue(event)
    }

    /// Forwards a topic push (typing, read) to the other nodes' joins of the conversation.
    package func publishTopic(_ push: EncodedPush, in conversation: ConversationID, to recipients: Set<UserID>?) {
        var event = ClusterEvent(.topic, origin: node.instance)
        event.c = conversation.rawValue
        event.e = push.event
        event.b = push.payload.getString(at: push.payload.readerIndex, length: push.payload.readableBytes)
        event.r = recipients.map { $0.map(\.rawValue) }
        enqueue(event)  // an event over the size limit is refused by `publish` and dropped, like any lost typing event
    }

    // MARK: - Lifetime

    /// Runs the listener, the heartbeat and the publisher until ``stop()`` (after a `bye`) or cancellation.
    package func run() async {
        outbox.restart()
        let (publisherWakeUps, publisherWakeUp) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let (announcerWakeUps, announcerWakeUp) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.publisherWakeUp = publisherWakeUp
        self.announcerWakeUp = announcerWakeUp
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.listenLoop() }
            group.addTask { await self.heartbeatLoop() }
            group.addTask { await self.publishLoop(wakeUps: publisherWakeUps) }
            group.addTask { await self.localPresenceLoop() }
            group.addTask { await self.announceLoop(wakeUps: announcerWakeUps) }
            await group.next()  // the publisher ends first, on stop; the others run until cancelled
            group.cancelAll()
        }
        publisherWakeUp.finish()
        announcerWakeUp.finish()
        self.publisherWakeUp = nil
        self.announcerWakeUp = nil
        channelDown()
    }

    /// The channel is not (or no longer) listening: not ready, and senders stop waiting for the feed.
    private func channelDown() {
        listening.set(false)
        membership.channelDown()
        for waiter in cursor.withLock({ $0.channelDown() }) { waiter() }
    }

    /// Publishes what is queued and a `bye`, then ends ``run()``.
    package func stop() {
        outbox.stop()
        publisherWakeUp?.yield()
    }

    // MARK: - Listener

    /// Listens, and listens again after a failure (with backoff) until cancelled. Each attempt is a child of a
    /// task group of its own, beside a child that ends it when the heartbeat drops a lagging listener.
    private func listenLoop() async {
        var backoff = Duration.milliseconds(100)
        while !Task.isCancelled {
            let (dropped, drop) = AsyncStream.makeStream(of: Void.self)
            currentListen = drop
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        try await self.bus.listen(ready: { try await self.listened() }, receive: { try await self.receive($0) })
                    }
                    group.addTask {
                        for await _ in dropped {}
                        throw ListenerDropped()  // finished by the heartbeat (or cancelled with the attempt)
                    }
                    defer { group.cancelAll() }
                    _ = try await group.next()
                }
            } catch  where !Task.isCancelled {
                logger.warning("cluster channel lost", metadata: ["error": "\(error)"])
            } catch {}
            let wasUp = membership.isListening
            currentListen = nil
            drop.finish()
            channelDown()
            if wasUp { backoff = .milliseconds(100) }
            do { try await Task.sleep(for: backoff) } catch { return }  // retry backoff
            backoff = min(backoff * 2, .seconds(2))
        }
    }

    /// The subscription is confirmed: catch up on the feed, then say hello with this node's whole state.
    private func listened() async throws {
        if let last = cursor.withLock({ $0.lastDelivered }) {
            var catchUp = FeedCursor<ContinuousClock.Instant>.CatchUp(after: last, limit: configuration.catchUpLimit)
            while case .read(let after) = catchUp.step {
                let page = try await bus.feed(after: after, limit: catchUp.pageSize)
                try await deliver(page, from: nil)
                catchUp.record(page)
            }
            if catchUp.step == .tooFar {
                let latest = try await bus.latestMessageID()
                cursor.withLock { $0.skip(to: latest) }
                logger.warning("missed too much of the message feed; closing sockets so clients recover")
                sockets?.closeSocketsForResync()
            }
            if catchUp.replayed > 0 {
                logger.notice("caught up on the message feed", metadata: ["messages": "\(catchUp.replayed)"])
            }
            try await closeSocketsOfMissedLogouts()
        } else {
            let latest = try await bus.latestMessageID()
            cursor.withLock { $0.skip(to: latest) }
        }
        cursor.withLock { $0.channelUp() }
        listening.set(true)
        let effects = membership.listened(at: .now)
        logger.info("cluster channel listening")
        apply(effects)
    }

    /// A logout published while this node's channel was down never reached it: its open sockets' tokens are
    /// checked against the stored revocations when the channel is back.
    private func closeSocketsOfMissedLogouts() async throws {
        guard let sockets else { return }
        let revoked = try await store.revokedTokenIDs(among: Array(sockets.openSessions))
        for session in revoked { sockets.closeSockets(ofSession: session) }
        if !revoked.isEmpty {
            logger.notice("closed sockets of logouts missed while the channel was down", metadata: ["sessions": "\(revoked.count)"])
        }
    }

    private func receive(_ notification: ClusterNotification) async throws {
        switch notification {
        case .feed(let origin, let messages):
            try await deliver(messages, from: origin)
        case .control(let text):
            guard let event = ClusterEvent.decode(text) else {
                logger.warning("skipped a cluster event this version cannot read")
                return
            }
            await handle(event)
        }
    }

    /// Pushes feed messages not delivered yet, in order, to their participants' sockets on this node.
    /// Advances the cursor only once they are handed over (a failure to read large ones from the store
    /// throws, the listener reconnects and catches up from there).
    private func deliver(_ messages: [FeedMessage], from origin: String?) async throws {
        var fresh = cursor.withLock { $0.fresh(messages) }
        guard let newest = fresh.last?.id else { return }
        let missing = fresh.filter { $0.message == nil }.map(\.id)
        if !missing.isEmpty {
            var loaded: [MessageID: Message] = [:]
            for message in try await store.messages(ids: missing) { loaded[message.id] = message }
            for index in fresh.indices where fresh[index].message == nil { fresh[index].message = loaded[fresh[index].id] }
        }
        let fromHere = origin == node.instance
        let senders = cursor.withLock { cursor in fresh.map { cursor.sendingSocket(of: $0, fromThisNode: fromHere) } }
        var perUser: [UserID: [(push: EncodedPush, except: SocketID?)]] = [:]
        for (entry, except) in zip(fresh, senders) {
            guard let message = entry.message else { continue }
            let push = encoder.encodeReceive(message)
            perUser[entry.senderID, default: []].append((push, except))
            if entry.recipientID != entry.senderID { perUser[entry.recipientID, default: []].append((push, except)) }
        }
        cursor.withLock { $0.advance(to: newest) }
        for actor in await users.actors(for: Array(perUser.keys)) {
            if let items = perUser[actor.userID] { actor.deliver(items) }
        }
        for waiter in cursor.withLock({ $0.releaseDelivered() }) { waiter() }
    }

    // MARK: - Events from other nodes

    private func handle(_ event: ClusterEvent) async {
        guard event.o != node.instance else {
            apply(membership.handle(event, at: .now))  // this node's own beat: the listener's lag
            return
        }
        switch event.k {
        case .hello, .beat, .state, .online, .offline, .bye:
            apply(membership.handle(event, at: .now))
        case .logout:
            if let session = event.s { sockets?.closeSockets(ofSession: session) }
        case .topic:
            guard let conversation = event.c, let name = event.e, let body = event.b else { return }
            let push = EncodedPush(event: name, payload: ByteBuffer(string: body))
            await topics.broadcast(
                push,
                in: ConversationID(conversation),
                except: SocketID(rawValue: 0),
                to: event.r.map { Set($0.map(UserID.init)) }
            )
        }
    }

    /// Carries out what the membership decided: logs, events to publish, presence diffs to announce.
    private func apply(_ effects: ClusterMembership<ContinuousClock>.Effects) {
        for notice in effects.notices {
            switch notice {
            case .joined(let name): logger.info("node joined the service", metadata: ["broker.peer": "\(name)"])
            case .left(let name): logger.info("node left the service", metadata: ["broker.peer": "\(name)"])
            case .silent(let name):
                logger.warning("node stopped beating; its users are offline", metadata: ["broker.peer": "\(name)"])
            }
        }
        for event in effects.publish { enqueue(event) }
        if effects.sendState { enqueueState() }
        announce(effects.presence)
    }

    /// Queues `presence_diff`s for users whose service-wide state changed, for their partners on this node.
    /// The changes are decided by the membership, in order; the partner look-ups (a store query each) run in
    /// the announcer loop, one change at a time, so neither the listener nor the heartbeat ever waits on them
    /// and partners see a user's diffs in the order they happened.
    private func announce(_ changes: [ClusterMembership<ContinuousClock>.PresenceChange]) {
        guard !changes.isEmpty else { return }
        for change in changes {
            switch change {
            case .joined(let user, let at):
                announcements.append((user, encoder.encodePresenceDiff(joins: [(user, at)], leaves: [])))
            case .left(let user):
                announcements.append((user, encoder.encodePresenceDiff(joins: [], leaves: [(user, .now())])))
            }
        }
        announcerWakeUp?.yield()
    }

    /// Delivers queued presence diffs to the partners on this node, in order.
    private func announceLoop(wakeUps: AsyncStream<Void>) async {
        var wakeUps = wakeUps.makeAsyncIterator()
        while !Task.isCancelled {
            guard let (user, push) = announcements.popFirst() else {
                guard await wakeUps.next(isolation: #isolation) != nil else { return }  // nil: cancelled
                continue
            }
            guard let conversations = try? await store.conversations(of: user) else { continue }
            let peers = conversations.map { $0.peer(of: user) }
            for actor in await users.actors(for: peers) { actor.deliver([(push, nil)]) }
        }
    }

    // MARK: - Heartbeat

    private func heartbeatLoop() async {
        while true {
            do { try await Task.sleep(for: configuration.heartbeat) } catch { return }  // the interval
            apply(membership.expireSilentNodes(at: .now))
            await beat()
        }
    }

    /// Publishes this node's beat directly, ahead of the outbox (a backlog there must not make this node look
    /// dead), and drops the listener when it lags past the bound (its own beats stop coming back, or they are
    /// late while PostgreSQL's notification queue fills): it reconnects and catches up from the store.
    private func beat() async {
        var queueUsage: Double?
        if membership.isLagging(at: .now) { queueUsage = try? await bus.notificationQueueUsage() }
        let now = ContinuousClock.now
        switch membership.checkListener(at: now, queueUsage: queueUsage) {
        case .idle:
            return
        case .reconnect(.ownBeatsLost):
            logger.warning("own heartbeats stopped coming back; reconnecting the cluster channel")
            currentListen?.finish()
        case .reconnect(.queueFilling):
            logger.warning(
                "cluster listener lags while the notification queue fills; reconnecting and catching up from the store",
                metadata: ["queue_usage": "\(queueUsage ?? 0)"]
            )
            currentListen?.finish()
        case .beat(let sendState):
            if sendState { enqueueState() }
            let cutoff = now - configuration.nodeTimeout
            for waiter in cursor.withLock({ $0.expireWaiters(olderThan: cutoff) }) { waiter() }
            try? await bus.publish(membership.beat.encoded())
        }
    }

    // MARK: - Publisher

    private func enqueueState() {
        for event in membership.stateEvents(maxBytes: bus.maxControlBytes) { enqueue(event) }
    }

    private func enqueue(_ event: ClusterEvent) {
        switch outbox.enqueue(event) {
        case .queued: break
        case .overflowed: membership.presenceLost()  // the database is gone for long: the state goes again once it is back
        case .refused: return
        }
        publisherWakeUp?.yield()
    }

    /// Publishes queued events one at a time (so each node's events arrive in the order it made them); on stop,
    /// a last `bye`.
    private func publishLoop(wakeUps: AsyncStream<Void>) async {
        var wakeUps = wakeUps.makeAsyncIterator()
        while !Task.isCancelled {
            switch outbox.next() {
            case .wait:
                guard await wakeUps.next(isolation: #isolation) != nil else { return }  // nil: cancelled
            case .finished:
                if membership.isListening { try? await bus.publish(membership.bye.encoded()) }
                return
            case .publish(let event, let attempts):
                do {
                    try await bus.publish(event.encoded())
                } catch {
                    if Task.isCancelled { return }
                    switch outbox.failed(event, attempts: attempts) {
                    case .retry: try? await Task.sleep(for: outbox.retryDelay)  // retry backoff
                    case .presenceLost: membership.presenceLost()
                    case .dropped: break
                    }
                }
            }
        }
    }

    // MARK: - Senders waiting for the feed

    /// Waits until this node has pushed message `id` (and so every smaller id) from the feed, so that a
    /// sender's reply never gets ahead of the pushes of messages stored before it on other nodes: a client may
    /// then take the reply's id as seen. Returns at once when the channel is down (the reply must not wait for
    /// an outage), and after ``Configuration/nodeTimeout`` at the latest.
    package nonisolated func waitUntilDelivered(_ id: MessageID, from socket: SocketID?) async {
        await withCheckedContinuation { continuation in
            afterDelivery(of: [(id, socket)]) { continuation.resume() }
        }
    }

    /// A conversation batch's version of ``waitUntilDelivered(_:from:)``, without suspending the caller and
    /// without a hop: remembers each message's sending socket, then runs `then` once this node has pushed the
    /// batch's highest id from the feed (or the wait ends as that method's does); at once, on the caller's
    /// thread, when there is nothing to wait for.
    package nonisolated func afterDelivery(
        of messages: [(id: MessageID, socket: SocketID?)],
        then: @escaping @Sendable () -> Void
    ) {
        let waiting = cursor.withLock { $0.wait(for: messages, since: .now, then: then) }
        if !waiting { then() }
    }
}

/// The supervised child of the ``ClusterBridge``: every start runs the bridge's loops anew.
struct ClusterBridgeRunner: SupervisedChild {
    let bridge: ClusterBridge

    func run() async throws { await bridge.run() }
    func stop() async { await bridge.stop() }
}
